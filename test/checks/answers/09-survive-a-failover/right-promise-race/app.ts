import { callbackify } from "node:util";
import { RedisStore } from "connect-redis";
import express from "express";
import type { SessionData, Store } from "express-session";
import { TimeoutError } from "redis";
import { inspectRedis } from "../../steps/shared/inspectors.ts";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { storeErrorHandler } from "../../steps/shared/store-errors.ts";
import { visitsPage } from "../../steps/shared/visits.ts";
import { workshopSession } from "../../steps/shared/workshop-session.ts";

/** The policy: no visitor waits more than 2 seconds for the session store. */
export const STORE_DEADLINE_MS = 2000;

/**
 * REDIS is a client that waits for as long as Redis does not answer, as the sentinel client
 * does while a replica is promoted: it never fails a command, it holds it.
 */
export function createApp(redis: RedisClient) {
  const app = express();
  app.use(workshopSession(withDeadline(new RedisStore({ client: redis, prefix: "sess:" }))));
  app.get("/", visitsPage("redis", inspectRedis(redis, "sess:")));
  app.use(storeErrorHandler);
  return app;
}

type Callback = (error?: unknown, result?: SessionData | null) => void;

/**
 * The store, as express-session will call it (get, set, touch, destroy, with callbacks).
 * TODO 1: every call answers within STORE_DEADLINE_MS, whether the store has answered or not.
 * TODO 2: a call that missed the deadline is an outage: the visitor gets a 503 with a
 * Retry-After header (never a 500, never a fresh session), and keeps the session.
 * TODO 3: when the store answers after all, nothing breaks: each callback is called once.
 */
function withDeadline(store: Store): Store {
  const raced = <T>(start: (done: (error?: unknown, result?: T) => void) => void) => {
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<T | undefined>((resolve, reject) =>
      start((error, result) => (error ? reject(error) : resolve(result))),
    );
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError()), STORE_DEADLINE_MS);
    });
    return Promise.race([answer, deadline]).finally(() => clearTimeout(timer));
  };
  const wrapped = Object.create(store) as Store;
  wrapped.get = callbackify((id: string) =>
    raced<SessionData | null>((done) => store.get(id, done)),
  ) as Store["get"];
  wrapped.set = callbackify((id: string, session: SessionData) =>
    raced<void>((done) => store.set(id, session, done)),
  ) as Store["set"];
  wrapped.touch = callbackify((id: string, session: SessionData) =>
    raced<void>((done) => (store.touch ? store.touch(id, session, done) : done())),
  ) as Store["touch"];
  wrapped.destroy = callbackify((id: string) =>
    raced<void>((done) => store.destroy(id, done)),
  ) as Store["destroy"];
  return wrapped;
}
