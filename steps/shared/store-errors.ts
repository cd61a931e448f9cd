import type { NextFunction, Request, Response } from "express";
import { render } from "./render.ts";

/** Errors that mean "the session store is not answering", as the drivers name them. */
const OUTAGE = /Redis|Client(Closed|Offline)|Socket|Timeout|Mongo|ECONNREFUSED|ECONNRESET|EPIPE/i;

function isStoreOutage(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  return OUTAGE.test(`${error.name} ${error.constructor.name} ${code} ${error.message}`);
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
    ? "The session store is not answering right now. Your session is safe; try again in a moment."
    : "Something went wrong on the server.";
  console.error(`${req.method} ${req.originalUrl} → ${status}: ${error.name}: ${error.message}`);
  res.status(status);
  if (outage) res.set("Retry-After", "5");
  if (req.accepts(["html", "json"]) === "json") {
    res.json({ error: message });
    return;
  }
  render(res, "error", { status, message });
}
