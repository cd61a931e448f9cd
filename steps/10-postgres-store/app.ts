import connectPgSimple from "connect-pg-simple";
import express from "express";
import session from "express-session";
import type { Pool } from "pg";
import { absoluteTimeout } from "../05-login-logout/absolute-timeout.ts";
import { authRoutes, badRequestBody, memoryLoginLimits } from "../05-login-logout/auth-routes.ts";
import { FinalLogoutStore } from "../05-login-logout/final-logout.ts";
import { logIn, logOut } from "../05-login-logout/login-session.ts";
import { sameOriginPosts } from "../05-login-logout/same-origin.ts";
import { Statuses } from "../05-login-logout/statuses.ts";
import { currentUser, Users } from "../05-login-logout/users.ts";
import { inspectPostgres } from "../shared/inspectors.ts";
import { COOKIE_NAME, sessionSecrets } from "../shared/session-secret.ts";
import { storeErrorHandler } from "../shared/store-errors.ts";
import { visitsPage } from "../shared/visits.ts";
import { postgresTombstones, SESSION_TABLE } from "./session-table.ts";

// connect-pg-simple is made from express-session's Store, as connect-redis and connect-mongo are.
const PgStore = connectPgSimple(session);

export interface AppOptions {
  /** However active the user, a login ends this long after it began. Default: 8 hours. */
  absoluteTimeoutMs?: number;
  /** How often expired sessions are deleted, in seconds (about: ±50%). Default: 60. */
  pruneSeconds?: number;
  /** Express's "trust proxy" setting, from TRUST_PROXY. Unset: no proxy is trusted. */
  trustProxy?: boolean | number | string;
}

/** Step 05's app with everything in one PostgreSQL: users, statuses and now the sessions. */
export function createApp(pool: Pool, options: AppOptions = {}) {
  const { absoluteTimeoutMs = 8 * 60 * 60 * 1000, pruneSeconds = 60, trustProxy } = options;
  const store = new PgStore({
    pool, // the process's one pool (server.ts): the sessions share it with users and statuses
    tableName: SESSION_TABLE, // one row per session: sid, sess (json), expire
    createTableIfMissing: false, // made by session-table.ts at start: see there why
    // PostgreSQL has no TTL. get() skips expired rows, and every pruneSessionInterval seconds
    // (randomized between 50% and 150%) the store deletes them: DELETE … WHERE expire < now.
    pruneSessionInterval: pruneSeconds,
  });

  const app = express();
  // Behind a proxy that ends HTTPS, as in step 05: without it, the cookie is never Secure and
  // the Origin check sees http:// where the browser says https:// (every login a 403).
  if (trustProxy !== undefined) app.set("trust proxy", trustProxy);
  app.use(sameOriginPosts); // a form on another site cannot log you in (or out)
  app.use(
    session({
      // A logout is final: ended ids are kept in a table too (session-table.ts).
      store: new FinalLogoutStore(store, postgresTombstones(pool)),
      name: COOKIE_NAME, // the cookie's name; the default, connect.sid, tells the world what runs here
      secret: sessionSecrets(), // signs the cookie; several (comma-separated) rotate a secret
      resave: false, // don't write a session back to the store when nothing in it changed
      saveUninitialized: false, // don't store (or set a cookie for) sessions nobody wrote to
      rolling: true, // the idle timeout: each answer pushes back the cookie and the row's expire
      cookie: {
        httpOnly: true, // page scripts cannot read the cookie: an XSS cannot steal the session
        sameSite: "lax", // not sent on cross-site POSTs: a first line of defence against CSRF
        secure: "auto", // Secure when the request came over HTTPS (see trust proxy above)
        maxAge: 30 * 60 * 1000, // 30 minutes, in milliseconds: also the row's expire
      },
    }),
  );
  app.use(absoluteTimeout(absoluteTimeoutMs, logOut));

  const inspect = inspectPostgres(pool, SESSION_TABLE);
  app.get("/", visitsPage("postgres", inspect));
  app.use(
    authRoutes({
      users: new Users(pool),
      currentUser,
      statuses: new Statuses(pool),
      loginSession: { logIn, logOut },
      absoluteTimeoutMs,
      inspect,
      // Wrong passwords counted in this process (login-limits.ts says why not in PostgreSQL).
      loginLimits: memoryLoginLimits(),
    }),
  );
  app.use(badRequestBody); // a malformed body is a 400, not a 500 from the handler below
  app.use(storeErrorHandler);
  return app;
}
