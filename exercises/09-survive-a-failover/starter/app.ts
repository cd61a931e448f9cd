import { RedisStore } from "connect-redis";
import express from "express";
import type { Store } from "express-session";
import { inspectRedis } from "../../../steps/shared/inspectors.ts";
import type { RedisClient } from "../../../steps/shared/redis-client.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { visitsPage } from "../../../steps/shared/visits.ts";
import { workshopSession } from "../../../steps/shared/workshop-session.ts";

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

/**
 * The store, as express-session will call it (get, set, touch, destroy, with callbacks).
 * TODO 1: every call answers within STORE_DEADLINE_MS, whether the store has answered or not.
 * TODO 2: a call that missed the deadline is an outage: the visitor gets a 503 with a
 * Retry-After header (never a 500, never a fresh session), and keeps the session.
 * TODO 3: when the store answers after all, nothing breaks: each callback is called once.
 */
function withDeadline(store: Store): Store {
  return store;
}
