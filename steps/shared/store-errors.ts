import type { NextFunction, Request, Response } from "express";
import { answerError } from "./answer.ts";

/**
 * The drivers' error classes are told by name, not imported: importing node-redis and the
 * MongoDB driver here would load both into every step (0.7 s of CPU at each start), where
 * each step uses one store at most. An error's classes: its own and those it extends, so that
 * "MongoNetworkError" also matches a MongoNetworkTimeoutError.
 */
function classNames(error: unknown): string[] {
  const names: string[] = [];
  let prototype = error instanceof Error ? Object.getPrototypeOf(error) : null;
  for (; prototype && prototype !== Error.prototype; prototype = Object.getPrototypeOf(prototype)) {
    names.push(prototype.constructor.name);
  }
  return names;
}

/** node-redis's own errors for "no answer from Redis": closed, offline, timed out, cut off. */
const REDIS_OUTAGES = [
  "ClientClosedError",
  "ClientOfflineError",
  "ConnectionTimeoutError",
  "ReconnectStrategyError",
  "SocketClosedUnexpectedlyError",
  "SocketTimeoutError",
  "TimeoutError",
];
/**
 * Error replies with which a running Redis refuses a command for now: out of memory under
 * `maxmemory` with noeviction (OOM), a replica (READONLY), a failed snapshot (MISCONF), still
 * loading its data (LOADING), busy with a script (BUSY). Redis names each by its first word.
 */
const REDIS_REFUSALS = new Set(["OOM", "READONLY", "MISCONF", "LOADING", "BUSY", "MASTERDOWN"]);

/** The MongoDB driver's errors for "no server answered in time". */
const MONGO_OUTAGES = [
  "MongoNetworkError", // includes MongoNetworkTimeoutError (socketTimeoutMS)
  "MongoServerSelectionError", // serverSelectionTimeoutMS: no server to send to
  "MongoOperationTimeoutError", // timeoutMS: the operation as a whole took too long
  "MongoTopologyClosedError",
  "MongoNotConnectedError",
];
/** MongoDB server error codes that mean "not now": not primary, shutting down, interrupted. */
const MONGO_NOT_NOW = new Set([91, 189, 10107, 11600, 11602, 13435, 13436]);

/**
 * node-postgres (pg) has no error classes of its own for "PostgreSQL did not answer": a socket
 * error keeps Node's code (ECONNREFUSED...), and the pool's and client's own timeouts and
 * cut connections are plain Errors told apart by their message (pg-pool/index.js,
 * pg/lib/client.js).
 */
const PG_NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
]);
const PG_OUTAGE_MESSAGES = [
  "timeout exceeded when trying to connect", // the pool's connectionTimeoutMillis
  "Connection terminated", // "...unexpectedly", "...due to connection timeout"
  "Query read timeout", // the client's query_timeout
  "Client has encountered a connection error and is not queryable",
];
/**
 * SQLSTATEs with which a running PostgreSQL refuses for now: class 08 (connection exceptions),
 * shutting down or starting up (57P01-57P03), too many connections (53300), and a query it
 * cancelled itself after statement_timeout (57014) or lock_timeout (55P03): the pool sets both
 * (steps/shared/postgres-pool.ts), so that what the app gave up on stops in PostgreSQL too.
 */
const PG_NOT_NOW = /^(08...|57P0[123]|53300|57014|55P03)$/;

/** File system codes with which a disk refuses a write: permissions, read-only, full. */
const DISK_REFUSALS = new Set(["EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT", "EIO", "EMFILE"]);

/**
 * Whether ERROR means "the session store cannot serve this now" (try again later: 503), told by
 * the drivers' own error classes and codes. Anything else (a bug, a MongoDB duplicate key) is
 * not an outage, and stays a 500.
 */
export function isStoreOutage(error: unknown): boolean {
  const classes = classNames(error);
  const is = (names: string[]) => names.some((name) => classes.includes(name));
  if (is(REDIS_OUTAGES) || is(MONGO_OUTAGES)) return true;
  if (is(["ErrorReply"])) return REDIS_REFUSALS.has((error as Error).message.split(" ")[0] ?? "");
  if (is(["MongoServerError"]))
    return MONGO_NOT_NOW.has(Number((error as { code?: unknown }).code));
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code === "string" && (DISK_REFUSALS.has(code) || PG_NETWORK_CODES.has(code))) {
    return true;
  }
  if (typeof code === "string" && PG_NOT_NOW.test(code)) return true;
  const message = error instanceof Error ? error.message : "";
  return PG_OUTAGE_MESSAGES.some((start) => message.startsWith(start));
}

/**
 * The last middleware of every step. express-session hands store errors to `next(error)`:
 * an outage of the store becomes a 503 with a page (or JSON) that says so, anything else a
 * plain 500; the process stays up either way and recovers when the store is back.
 */
export function storeErrorHandler(
  error: Error,
  req: Request,
  res: Response,
  next: NextFunction,
): void {
  if (res.headersSent) {
    next(error); // too late for a page: let Express close the connection
    return;
  }
  const outage = isStoreOutage(error);
  const status = outage ? 503 : 500;
  const message = outage
    ? "The session store or the database is not answering right now. Your session is safe; try again in a moment."
    : "Something went wrong on the server.";
  console.error(`${req.method} ${req.originalUrl} → ${status}: ${error.name}: ${error.message}`);
  if (outage) res.set("Retry-After", "5");
  answerError(req, res, status, message);
}
