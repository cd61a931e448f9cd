import express from "express";
import session from "express-session";
import { inspectRedis } from "../shared/inspectors.ts";
import type { RedisClient } from "../shared/redis-client.ts";
import { COOKIE_NAME, sessionSecrets } from "../shared/session-secret.ts";
import { storeErrorHandler } from "../shared/store-errors.ts";
import { visitsPage } from "../shared/visits.ts";
import { RedisSessionStore } from "./redis-session-store.ts";

export function createApp(redis: RedisClient) {
  // The store of this step is ours: ./redis-session-store.ts, written by hand over node-redis.
  const store = new RedisSessionStore({
    client: redis, // a connected node-redis client (see server.ts)
    prefix: "sess:", // each session is the key sess:<id>; `redis-cli --scan --pattern 'sess:*'`
    // Seconds to live, used only for a session whose cookie has no expiry. A cookie with
    // maxAge wins: the store sets the key's TTL to the time left until cookie.expires.
    ttl: 30 * 60,
  });

  const app = express();
  app.use(
    session({
      store,
      name: COOKIE_NAME, // the cookie's name; the default, connect.sid, tells the world what runs here
      secret: sessionSecrets(), // signs the cookie so a forged id is rejected
      resave: false, // don't write a session back to the store when nothing in it changed
      saveUninitialized: false, // don't store (or set a cookie for) sessions nobody wrote to
      cookie: {
        httpOnly: true, // page scripts cannot read the cookie: an XSS cannot steal the session
        sameSite: "lax", // not sent on cross-site POSTs: a first line of defence against CSRF
        secure: "auto", // Secure when the request came over HTTPS
        maxAge: 30 * 60 * 1000, // 30 minutes, in milliseconds: also the Redis key's TTL
      },
    }),
  );

  app.get("/", visitsPage("own", inspectRedis(redis, "sess:")));
  app.use(storeErrorHandler);
  return app;
}
