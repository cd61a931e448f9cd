import { RedisStore } from "connect-redis";
import express from "express";
import {
  DeadlineStore,
  failoverErrorHandler,
} from "../../../steps/09-failover/failover-deadline.ts";
import { inspectRedis } from "../../../steps/shared/inspectors.ts";
import type { RedisClient } from "../../../steps/shared/redis-client.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { visitsPage } from "../../../steps/shared/visits.ts";
import { workshopSession } from "../../../steps/shared/workshop-session.ts";

/** The policy: no visitor waits more than 2 seconds for the session store. */
export const STORE_DEADLINE_MS = 2000;

const LOGO =
  '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><circle cx="16" cy="16" r="14"/></svg>';

/**
 * REDIS is a client that waits for as long as Redis does not answer, as the sentinel client
 * does while a replica is promoted. DEADLINE_MS is how long a request waits for the store
 * before its 503 (the check makes it shorter, to play many failovers quickly).
 */
export function createApp(redis: RedisClient, deadlineMs = STORE_DEADLINE_MS) {
  const store = new RedisStore({ client: redis, prefix: "sess:" });
  const sessions = workshopSession(new DeadlineStore(store, deadlineMs));
  const app = express();

  // TODO 1: while the store fails over, only what shows the session waits for it (and gets its
  // 503 with Retry-After); every other page and image answers as usual, for every visitor.
  app.get("/", sessions, visitsPage("redis", inspectRedis(redis, "sess:")));

  // The about page and the logo show nothing of the session.
  app.get("/about", (_req, res) => {
    res.send("<h1>About</h1><p>A visits counter whose sessions live in Redis.</p>");
  });
  app.get("/logo.svg", (_req, res) => {
    res.type("svg").send(LOGO);
  });

  // The load balancer asks every second: a 200 keeps this process in rotation, anything
  // else takes it out until it answers 200 again for a while.
  // TODO 2: every process shares the session store, so its failover is no reason to take
  // this one out of rotation.
  app.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });

  app.use(failoverErrorHandler);
  app.use(storeErrorHandler);
  return app;
}
