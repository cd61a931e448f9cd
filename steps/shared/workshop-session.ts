import session, { type Store } from "express-session";
import { COOKIE_NAME, sessionSecrets } from "./session-secret.ts";

/** How long a session cookie lives in the workshop: 30 minutes, in milliseconds. */
export const SESSION_MAX_AGE = 30 * 60 * 1000;

/**
 * express-session with the options every step writes out in full (steps/01-memory-store/app.ts
 * explains each one), over `store`. For code whose lesson is somewhere else, such as the
 * exercises, so that what they show is only what changes.
 */
export function workshopSession(store: Store) {
  return session({
    store,
    name: COOKIE_NAME,
    secret: sessionSecrets(),
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: "lax", secure: "auto", maxAge: SESSION_MAX_AGE },
  });
}
