import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import { inspectRedis } from "../../../steps/shared/inspectors.ts";
import type { RedisClient } from "../../../steps/shared/redis-client.ts";
import { COOKIE_NAME, sessionSecrets } from "../../../steps/shared/session-secret.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { visitsPage } from "../../../steps/shared/visits.ts";

const PREFIX = "workshop:sess:";
const IDLE_MINUTES = 45;

// The policy (README): a session ends 45 minutes after the last request, in the browser and in
// the store alike; this app shares its Redis with others, so its keys are "workshop:sess:<id>".

/** REDIS is connected by the caller (server.ts, or the check). */
export function createApp(redis: RedisClient) {
  // TODO 1: these sessions are files only this machine can read. Keep them in `redis`
  // instead, under the keys of the policy, each one living as long as its session.
  const store = new RedisStore({ client: redis, prefix: PREFIX, ttl: IDLE_MINUTES * 60 });

  const app = express();
  app.use(
    session({
      store,
      name: COOKIE_NAME,
      secret: sessionSecrets(),
      resave: false,
      saveUninitialized: false,
      rolling: true,
      // TODO 2: the cookie follows the policy too.
      cookie: { httpOnly: true, sameSite: "lax", secure: "auto", maxAge: IDLE_MINUTES * 60_000 },
    }),
  );

  // TODO 3: the page names its store, and its inspector reads the record the store wrote.
  app.get("/", visitsPage("redis", inspectRedis(redis, PREFIX)));
  app.use(storeErrorHandler);
  return app;
}
