import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import { reportPid } from "../../../steps/06-scale-out/app.ts";
import { inspectRedis } from "../../../steps/shared/inspectors.ts";
import type { RedisClient } from "../../../steps/shared/redis-client.ts";
import { COOKIE_NAME, sessionSecrets } from "../../../steps/shared/session-secret.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { visitsPage } from "../../../steps/shared/visits.ts";

/**
 * The app every worker of the cluster runs. In production, a visitor reaches it through a CDN
 * (edge servers in 192.0.2.0/24), then our load balancer (on this machine), which speaks plain
 * HTTP to the workers. Each proxy appends the address it received the request from to
 * X-Forwarded-For, and the CDN says how the visitor came in: X-Forwarded-Proto: https.
 */
export function createApp(redis: RedisClient) {
  // TODO 1: a session must be known to every worker, whichever one the next request lands
  // on: keep the sessions in the Redis they share, as keys "sess:<id>".
  const store = new RedisStore({ client: redis, prefix: "sess:" });

  const app = express();
  // TODO 2: to Express, every request comes from the load balancer, over plain HTTP, so it
  // never sends this Secure cookie and req.ip is the balancer's. Make it see the visitor's own
  // address and protocol, believing exactly the proxies of the topology above and no header
  // the visitor could write.
  app.set("trust proxy", 2);
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

  // Who the app thinks it is talking to (logs, rate limits and audits use the same).
  app.get("/whoami", (req, res) => {
    res.json({ ip: req.ip, protocol: req.protocol });
  });

  // TODO 3: the page names its store and its inspector shows the record the store wrote.
  app.get("/", visitsPage("redis", inspectRedis(redis, "sess:")));
  app.use(storeErrorHandler);
  return app;
}
