import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import { reportPid } from "../../steps/06-scale-out/app.ts";
import { inspectRedis } from "../../steps/shared/inspectors.ts";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { COOKIE_NAME, sessionSecrets } from "../../steps/shared/session-secret.ts";
import { storeErrorHandler } from "../../steps/shared/store-errors.ts";
import { visitsPage } from "../../steps/shared/visits.ts";

/** The app every worker of the cluster runs, behind a load balancer that terminates HTTPS. */
export function createApp(redis: RedisClient) {
  // Every worker writes to and reads from the one Redis they share.
  const store = new RedisStore({ client: redis, prefix: "sess:" });

  const app = express();
  // Exactly one proxy (the load balancer) stands between the visitor and this app: believe
  // its X-Forwarded-Proto (and X-Forwarded-For), but only from that one hop.
  app.set("trust proxy", 1);
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

  app.get("/", visitsPage("redis", inspectRedis(redis, "sess:")));
  app.use(storeErrorHandler);
  return app;
}
