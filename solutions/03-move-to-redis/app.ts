import { RedisStore } from "connect-redis";
import express from "express";
import { inspectRedis } from "../../steps/shared/inspectors.ts";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { storeErrorHandler } from "../../steps/shared/store-errors.ts";
import { visitsPage } from "../../steps/shared/visits.ts";
import { SESSION_MAX_AGE, workshopSession } from "../../steps/shared/workshop-session.ts";

/** Every session key starts with it: easy to find, and apart from other data in this Redis. */
const PREFIX = "workshop:sess:";

export function createApp(redis: RedisClient) {
  const store = new RedisStore({
    client: redis,
    prefix: PREFIX,
    // The key's TTL: for a cookie with maxAge, connect-redis uses the time left until
    // cookie.expires; `ttl` is for a cookie without one. The same 30 minutes both ways.
    ttl: SESSION_MAX_AGE / 1000,
  });

  const app = express();
  app.use(workshopSession(store));

  // The inspector reads the keys the store writes: one PREFIX for both.
  app.get("/", visitsPage("redis", inspectRedis(redis, PREFIX)));
  app.use(storeErrorHandler);
  return app;
}
