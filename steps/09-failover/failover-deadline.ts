import type { NextFunction, Request, Response } from "express";
import { type SessionData, Store } from "express-session";
import { answerError } from "../shared/answer.ts";

type Callback<Result = void> = (error?: unknown, result?: Result) => void;

/** A store call that got no answer in time: Redis is (most likely) failing over. */
export class StoreFailingOverError extends Error {
  constructor(method: string, ms: number) {
    super(`the session store gave no answer to ${method}() within ${ms} ms`);
    this.name = "StoreFailingOverError";
  }
}

/**
 * A store whose every call answers within MS. While the sentinels promote a replica, the
 * sentinel client holds each command and retries it on the new primary: it never fails, it
 * waits (seconds: until the sentinels agree the primary is down, and elect and promote).
 * A visitor should not wait that long. After MS, the request gets a StoreFailingOverError
 * (a 503, below). The command itself may still run later, on the new primary.
 */
export class DeadlineStore extends Store {
  private readonly inner: Store;
  private readonly ms: number;

  constructor(inner: Store, ms: number) {
    super();
    this.inner = inner;
    this.ms = ms;
  }

  override get(id: string, callback: Callback<SessionData | null>): void {
    this.inner.get(id, this.within("get", callback));
  }

  override set(id: string, session: SessionData, callback?: Callback): void {
    this.inner.set(id, session, this.within("set", callback));
  }

  override touch(id: string, session: SessionData, callback?: Callback): void {
    if (this.inner.touch) this.inner.touch(id, session, this.within("touch", callback));
    else callback?.();
  }

  override destroy(id: string, callback?: Callback): void {
    this.inner.destroy(id, this.within("destroy", callback));
  }

  /** CALLBACK, called once: with the store's answer, or with an error after `ms`. */
  private within<Result>(method: string, callback: Callback<Result> = () => {}): Callback<Result> {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      callback(new StoreFailingOverError(method, this.ms));
    }, this.ms);
    return (error, result) => {
      if (done) return; // too late: the request already had its 503
      done = true;
      clearTimeout(timer);
      callback(error, result);
    };
  }
}

/** Answers a StoreFailingOverError with a 503 that says so; passes anything else on. */
export function failoverErrorHandler(
  error: Error,
  req: Request,
  res: Response,
  next: NextFunction,
): void {
  if (!(error instanceof StoreFailingOverError) || res.headersSent) {
    next(error);
    return;
  }
  console.error(`${req.method} ${req.originalUrl} → 503: ${error.message}`);
  res.set("Retry-After", "2");
  answerError(
    req,
    res,
    503,
    "The session store is failing over to its replica. Your session is safe; try again in a moment.",
  );
}
