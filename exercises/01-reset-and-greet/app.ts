import express from "express";
import session from "express-session";
import { inspectMemory } from "../../steps/shared/inspectors.ts";
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

  // TODO 1: add GET /hello, which greets a first visit differently. A session that holds no
  // visits yet (req.session.visits is undefined) is a first visit: answer with JSON
  //   { firstVisit: true, message: "Welcome! This is your first visit." }
  // and otherwise { firstVisit: false, message: "Welcome back! ..." } with the count in it.
  // Only read the session here: writing to it would store it and set a cookie.

  // TODO 2: add POST /reset, which forgets the visitor:
  // - remove the session from the store with req.session.destroy(callback): after that the
  //   old cookie must be worth nothing, even to someone who kept a copy of it;
  // - in the callback, clear the cookie (res.clearCookie with its name, COOKIE_NAME from
  //   ../../steps/shared/session-secret.ts) and answer 204 No Content; hand an error from
  //   destroy to next(error).

  app.use(storeErrorHandler);
  return app;
}
