import express from "express";
import session from "express-session";
import { reportPid } from "../../steps/06-scale-out/app.ts";
import { inspectMemory } from "../../steps/shared/inspectors.ts";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { COOKIE_NAME, sessionSecrets } from "../../steps/shared/session-secret.ts";
import { storeErrorHandler } from "../../steps/shared/store-errors.ts";
import { visitsPage } from "../../steps/shared/visits.ts";

/** The app every worker of the cluster runs, behind a load balancer that terminates HTTPS. */
// biome-ignore lint/correctness/noUnusedFunctionParameters: TODO 1 puts `redis` to work
export function createApp(redis: RedisClient) {
  // TODO 1: every worker process builds its own MemoryStore here, so a visitor's session is
  // known only to the worker that created it. Store the sessions in the Redis all workers
  // share instead: a RedisStore from connect-redis over `redis`, with the prefix "sess:".
  const store = new session.MemoryStore();

  const app = express();
  // TODO 2: the load balancer talks HTTPS to the visitor and plain HTTP to this app, and says
  // so in the header X-Forwarded-Proto: https. Express ignores that header until you tell it
  // a proxy stands in front (the setting "trust proxy": trust exactly one hop), and without
  // it express-session never sends a `secure: true` cookie, because it thinks the request
  // came over HTTP.
  app.use(reportPid);
  app.use(
    session({
      store,
      name: COOKIE_NAME,
      secret: sessionSecrets(),
      resave: false,
      saveUninitialized: false,
      cookie: {
        httpOnly: true,
        sameSite: "lax",
        secure: true, // visitors only ever reach us over HTTPS: never send the cookie in clear
        maxAge: 30 * 60 * 1000,
      },
    }),
  );

  // TODO 3: the page names its store ("redis" now) and its session inspector reads the keys
  // the store writes: inspectRedis(redis, "sess:").
  app.get("/", visitsPage("memory", inspectMemory(store)));
  app.use(storeErrorHandler);
  return app;
}
