import express from "express";
import session from "express-session";
import { inspectMemory } from "../../../steps/shared/inspectors.ts";
import { COOKIE_NAME } from "../../../steps/shared/session-secret.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { visitsPage } from "../../../steps/shared/visits.ts";
import { workshopSession } from "../../../steps/shared/workshop-session.ts";

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

  // TODO 1: GET /hello greets a first visit differently from a returning one (README).
  // Whether the visitor is back is in their session, not in whether a cookie came with the
  // request. /hello only reads: with saveUninitialized: false, a session nobody writes to is
  // never stored and sets no cookie.
  app.get("/hello", (_req, res) => {
    const greeting: Greeting = { firstVisit: true, message: "Welcome!" };
    res.json(greeting);
  });

  // TODO 2: POST /reset forgets the visitor, in the store (a kept copy of the cookie must be
  // worth nothing) and in the browser (the cookie it holds is dropped), then answers 204.
  app.post("/reset", (_req, res) => {
    res.clearCookie(COOKIE_NAME);
    res.status(204).end();
  });

  app.use(storeErrorHandler);
  return app;
}
