/**
 * A service (Redis, MongoDB) that could not be found or started.
 * Its message is a paragraph for a person: what was tried, where, and how to fix it.
 * Step servers print it without a stack trace and exit 1.
 */
export class ServiceError extends Error {
  constructor(
    readonly service: "Redis" | "MongoDB" | "PostgreSQL",
    message: string,
  ) {
    super(message);
    this.name = "ServiceError";
  }
}
