import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import type { Pool } from "pg";
import { absoluteTimeout } from "../05-login-logout/absolute-timeout.ts";
import { authRoutes, badRequestBody, redisLoginLimits } from "../05-login-logout/auth-routes.ts";
import { FinalLogoutStore, redisTombstones } from "../05-login-logout/final-logout.ts";
import { logIn } from "../05-login-logout/login-session.ts";
import { Statuses } from "../05-login-logout/statuses.ts";
import { currentUser, Users } from "../05-login-logout/users.ts";
import { inspectRedis } from "../shared/inspectors.ts";
import type { RedisClient } from "../shared/redis-client.ts";
import { sessionSecrets } from "../shared/session-secret.ts";
import { storeErrorHandler } from "../shared/store-errors.ts";
import { visitsPage } from "../shared/visits.ts";
import { frontendsOnly } from "./cross-site.ts";
import { HOST_COOKIE_NAME, logOut } from "./host-cookie.ts";

export interface AppOptions {
  /** However active the user, a login ends this long after it began. Default: 8 hours. */
  absoluteTimeoutMs?: number;
  /**
   * Express's "trust proxy": the address of the proxy that ends HTTPS in front of the app
   * (server.ts runs one), and no other. false: no proxy is trusted.
   */
  trustProxy: boolean | number | string;
  /** The origins of the frontends on other sites that may call this API with the cookie. */
  frontends: readonly string[];
}

/** Sessions in Redis (REDIS), users and their statuses in PostgreSQL (through POOL). */
export function createApp(redis: RedisClient, pool: Pool, options: AppOptions) {
  const { absoluteTimeoutMs = 8 * 60 * 60 * 1000, trustProxy, frontends } = options;
  const store = new RedisStore({
    client: redis, // a connected node-redis client (see server.ts)
    prefix: "sess:", // each session is the key sess:<id>; `redis-cli --scan --pattern 'sess:*'`
    // Seconds to live, used only for a session whose cookie has no expiry. A cookie with
    // maxAge wins: connect-redis sets the key's TTL to the time left until cookie.expires.
    ttl: 30 * 60,
  });

  const app = express();
  // Behind the proxy that ends HTTPS, the app itself sees plain HTTP. Without this line
  // req.secure is false, and express-session silently sends no Secure cookie at all: every
  // login "works", and the next request is anonymous. Trust exactly the proxy's address: a
  // client that reaches the app's port some other way can write X-Forwarded-Proto too.
  app.set("trust proxy", trustProxy);
  // The frontends may call the API with the cookie (CORS); another site's POST is a 403.
  app.use(frontendsOnly(frontends));

  app.use(
    session({
      store: new FinalLogoutStore(store, redisTombstones(redis)), // a logout is final (final-logout.ts)
      name: HOST_COOKIE_NAME, // __Host-workshop.sid: HTTPS only, Path=/, no Domain (host-cookie.ts)
      secret: sessionSecrets(), // signs the cookie; several (comma-separated) rotate a secret
      resave: false, // don't write a session back to the store when nothing in it changed
      saveUninitialized: false, // don't store (or set a cookie for) sessions nobody wrote to
      // The idle timeout: every answer sends the cookie again with a fresh maxAge, and the
      // store's TTL follows. 30 minutes without a request and the session is gone.
      rolling: true,
      cookie: {
        httpOnly: true, // page scripts cannot read the cookie: an XSS cannot steal the session
        // Sent on requests from other sites too: the frontend's. Lax would keep it off their
        // fetch calls, and the frontend would get a new, empty session on every request.
        // Another site's form gets it too: frontendsOnly refuses those.
        sameSite: "none",
        // Partitioned (CHIPS): kept apart for each top-level site it is set under. A browser
        // that blocks third-party cookies (as Safari does, and Chromium 156 here, fresh
        // profile) keeps this one for the frontend's pages: without it, no cookie there at all.
        partitioned: true,
        secure: true, // never over plain HTTP; SameSite=None and __Host- both require it
        maxAge: 30 * 60 * 1000, // 30 minutes, in milliseconds: also the Redis key's TTL
      },
    }),
  );
  // express-session has no absolute timeout: this checks every request for one.
  app.use(absoluteTimeout(absoluteTimeoutMs, logOut));

  const inspect = inspectRedis(redis, "sess:");
  app.get("/", visitsPage("redis", inspect));
  app.use(
    authRoutes({
      users: new Users(pool),
      currentUser,
      statuses: new Statuses(pool),
      loginSession: { logIn, logOut }, // login-session.ts
      absoluteTimeoutMs,
      inspect,
      loginLimits: redisLoginLimits(redis), // wrong passwords counted in Redis (login-limits.ts)
    }),
  );
  app.use(badRequestBody); // a malformed body is a 400, not a 500 from the handler below
  app.use(storeErrorHandler);
  return app;
}
