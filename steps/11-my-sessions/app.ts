import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import type { Pool } from "pg";
import { absoluteTimeout } from "../05-login-logout/absolute-timeout.ts";
import { authRoutes, badRequestBody, redisLoginLimits } from "../05-login-logout/auth-routes.ts";
import { FinalLogoutStore, redisTombstones } from "../05-login-logout/final-logout.ts";
import { sameOriginPosts } from "../05-login-logout/same-origin.ts";
import { Statuses } from "../05-login-logout/statuses.ts";
import { currentUser, Users } from "../05-login-logout/users.ts";
import { inspectRedis } from "../shared/inspectors.ts";
import type { RedisClient } from "../shared/redis-client.ts";
import { COOKIE_NAME, sessionSecrets } from "../shared/session-secret.ts";
import { storeErrorHandler } from "../shared/store-errors.ts";
import { visitsPage } from "../shared/visits.ts";
import { indexedLoginSession } from "./indexed-login.ts";
import { mySessionsRoutes } from "./my-sessions.ts";
import { passwordRoutes } from "./password.ts";
import { SessionIndex } from "./session-index.ts";
import { sessionsValidAfterMark } from "./valid-after.ts";

export interface AppOptions {
  /** However active the user, a login ends this long after it began. Default: 8 hours. */
  absoluteTimeoutMs?: number;
  /** Express's "trust proxy" setting, from TRUST_PROXY. Unset: no proxy is trusted. */
  trustProxy?: boolean | number | string;
}

/** Sessions in Redis (REDIS), users and their statuses in PostgreSQL (through POOL). */
export function createApp(redis: RedisClient, pool: Pool, options: AppOptions = {}) {
  const { absoluteTimeoutMs = 8 * 60 * 60 * 1000, trustProxy } = options;
  const store = new RedisStore({
    client: redis, // a connected node-redis client (see server.ts)
    prefix: "sess:", // each session is the key sess:<id>; `redis-cli --scan --pattern 'sess:*'`
    // Seconds to live, used only for a session whose cookie has no expiry. A cookie with
    // maxAge wins: connect-redis sets the key's TTL to the time left until cookie.expires.
    ttl: 30 * 60,
  });

  // Each user's sessions, which connect-redis does not keep: a sorted set per user, and a
  // mark that ends every session logged in before it (session-index.ts).
  const index = new SessionIndex(redis, { prefix: "sess:", absoluteTimeoutMs });
  const { logIn, logOut } = indexedLoginSession(index); // step 05's, keeping the index

  const app = express();
  // Behind a reverse proxy that ends HTTPS, the app itself sees plain HTTP. Trusting the
  // proxy's X-Forwarded-Proto lets secure: "auto" see the HTTPS and mark the cookie Secure.
  // Only trust a proxy you run: anyone can send that header.
  if (trustProxy !== undefined) app.set("trust proxy", trustProxy);
  app.use(sameOriginPosts); // a form on another site cannot log you in (or out)

  app.use(
    session({
      store: new FinalLogoutStore(store, redisTombstones(redis)), // a logout is final (final-logout.ts)
      name: COOKIE_NAME, // the cookie's name; the default, connect.sid, tells the world what runs here
      secret: sessionSecrets(), // signs the cookie; several (comma-separated) rotate a secret
      resave: false, // don't write a session back to the store when nothing in it changed
      saveUninitialized: false, // don't store (or set a cookie for) sessions nobody wrote to
      // The idle timeout: every answer sends the cookie again with a fresh maxAge, and the
      // store's TTL follows. 30 minutes without a request and the session is gone.
      rolling: true,
      cookie: {
        httpOnly: true, // page scripts cannot read the cookie: an XSS cannot steal the session
        sameSite: "lax", // not sent on cross-site POSTs: a first line of defence against CSRF
        secure: "auto", // Secure when the request came over HTTPS (see trust proxy above)
        maxAge: 30 * 60 * 1000, // 30 minutes, in milliseconds: also the Redis key's TTL
      },
    }),
  );
  // express-session has no absolute timeout: this checks every request for one.
  app.use(absoluteTimeout(absoluteTimeoutMs, logOut));
  // A session from before its user's mark ends here, however it came back (valid-after.ts).
  app.use(sessionsValidAfterMark(index, logOut));

  const inspect = inspectRedis(redis, "sess:");
  const users = new Users(pool);
  const loginLimits = redisLoginLimits(redis); // wrong passwords counted in Redis (step 05)
  app.get("/", visitsPage("redis", inspect));
  app.use(
    authRoutes({
      users,
      currentUser,
      statuses: new Statuses(pool),
      loginSession: { logIn, logOut }, // indexed-login.ts
      absoluteTimeoutMs,
      inspect,
      loginLimits,
    }),
  );
  // The user's sessions, listed and ended (my-sessions.ts); a new password ends them all.
  app.use(mySessionsRoutes({ users, currentUser, index, loginSession: { logIn, logOut } }));
  app.use(passwordRoutes({ pool, index, loginSession: { logIn, logOut }, loginLimits }));
  app.use(badRequestBody); // a malformed body is a 400, not a 500 from the handler below
  app.use(storeErrorHandler);
  return app;
}
