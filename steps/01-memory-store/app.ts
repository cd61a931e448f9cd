import express from "express";
import session from "express-session";
import { inspectMemory } from "../shared/inspectors.ts";
import { COOKIE_NAME, sessionSecrets } from "../shared/session-secret.ts";
import { storeErrorHandler } from "../shared/store-errors.ts";
import { visitsPage } from "../shared/visits.ts";

export function createApp() {
  // The default store, made explicit: a plain object inside this process. It is gone when
  // the process stops, is not shared with other processes, and frees an expired session only
  // when it is read again or all()/length() walk the store (that is the "leak").
  const store = new session.MemoryStore();

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
        maxAge: 30 * 60 * 1000, // 30 minutes, in milliseconds; every stored session follows it
      },
    }),
  );

  app.get("/", visitsPage("memory", inspectMemory(store)));
  app.use(storeErrorHandler);
  return app;
}
