import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import { inspectRedis } from "../shared/inspectors.ts";
import type { RedisClient } from "../shared/redis-client.ts";
import { COOKIE_NAME, sessionSecrets } from "../shared/session-secret.ts";
import { storeErrorHandler } from "../shared/store-errors.ts";
import { visitsPage } from "../shared/visits.ts";
import { DeadlineStore, failoverErrorHandler } from "./failover-deadline.ts";
import type { SentinelClient } from "./sentinel-client.ts";

/** How long a request waits for the store: a failover takes longer, and gets a 503. */
const STORE_DEADLINE_MS = 2000;

export function createApp(redis: SentinelClient) {
  const store = new RedisStore({
    // The sentinel client, not one Redis: connect-redis calls get/set/expire/del on it, and
    // it sends them to whichever node is primary now. (Typed for a plain client: it answers
    // the same commands.)
    client: redis as unknown as RedisClient,
    prefix: "sess:", // each session is the key sess:<id>; `redis-cli --scan --pattern 'sess:*'`
    // Seconds to live, used only for a session whose cookie has no expiry. A cookie with
    // maxAge wins: connect-redis sets the key's TTL to the time left until cookie.expires.
    ttl: 30 * 60,
  });

  const app = express();
  app.use(
    session({
      // No call to the store waits more than 2 s (failover-deadline.ts).
      store: new DeadlineStore(store, STORE_DEADLINE_MS),
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

  app.get(
    "/",
    visitsPage("redis", inspectRedis(redis as unknown as RedisClient, "sess:"), () => ({
      primary: primaryNow(redis),
    })),
  );
  app.use(failoverErrorHandler); // no answer within 2 s: 503 "failing over"
  app.use(storeErrorHandler);
  return app;
}

/** "127.0.0.1:6380": the node the sentinel client sends to now; "none" during a failover. */
function primaryNow(redis: SentinelClient): string {
  const node = redis.getMasterNode();
  return node ? `${node.host}:${node.port}` : "none";
}
