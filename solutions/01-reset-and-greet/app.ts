import express from "express";
import session from "express-session";
import { inspectMemory } from "../../steps/shared/inspectors.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import { storeErrorHandler } from "../../steps/shared/store-errors.ts";
import { visitsPage } from "../../steps/shared/visits.ts";
import { workshopSession } from "../../steps/shared/workshop-session.ts";

/** What GET /hello answers. */
export interface Greeting {
  firstVisit: boolean;
  message: string;
}

export function createApp() {
  const store = new session.MemoryStore();

  const app = express();
  app.use(workshopSession(store));

  app.get("/", visitsPage("memory", inspectMemory(store)));

  // A session that holds no visits yet is a new one: nothing was ever written to it.
  // Reading req.session does not store it (saveUninitialized: false), so /hello alone
  // never sets a cookie.
  app.get("/hello", (req, res) => {
    const visits = req.session.visits;
    const greeting: Greeting =
      visits === undefined
        ? { firstVisit: true, message: "Welcome! This is your first visit." }
        : { firstVisit: false, message: `Welcome back! You have been here ${visits} times.` };
    res.json(greeting);
  });

  // Forget the visitor: remove the session from the store (so the old cookie is worth
  // nothing, even if someone kept a copy), then tell the browser to drop the cookie.
  app.post("/reset", (req, res, next) => {
    req.session.destroy((error) => {
      if (error) return next(error);
      // The same name and path as the session cookie, or the browser keeps it.
      res.clearCookie(COOKIE_NAME, { path: "/" });
      res.status(204).end();
    });
  });

  app.use(storeErrorHandler);
  return app;
}
