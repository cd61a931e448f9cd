/** Which service a message is about; it starts the message ("Redis: …"). */
export type ServiceName = "Redis" | "Redis Sentinel" | "Redis Cluster" | "MongoDB" | "PostgreSQL";

/**
 * A service that could not be found or started.
 * Its message is a paragraph for a person: what was tried, where, and how to fix it.
 * Step servers print it without a stack trace and exit 1.
 */
export class ServiceError extends Error {
  // A plain field, not a parameter property: Node's type stripping runs only erasable syntax.
  readonly service: ServiceName;

  constructor(service: ServiceName, message: string) {
    super(message);
    this.name = "ServiceError";
    this.service = service;
  }
}
