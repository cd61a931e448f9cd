import MongoStore from "connect-mongo";
import express from "express";
import type { MongoClient } from "mongodb";
import { inspectMongo } from "../../steps/shared/inspectors.ts";
import { storeErrorHandler } from "../../steps/shared/store-errors.ts";
import { visitsPage } from "../../steps/shared/visits.ts";
import { SESSION_MAX_AGE, workshopSession } from "../../steps/shared/workshop-session.ts";

/** The workshop's sessions, apart from anything else the database holds. */
const COLLECTION = "workshop_sessions";

export function createApp(mongo: MongoClient) {
  const store = MongoStore.create({
    client: mongo,
    collectionName: COLLECTION,
    ttl: SESSION_MAX_AGE / 1000,
    autoRemove: "native",
    // Every request with a session cookie ends with a write, even when nothing in the
    // session changed (a "touch" that pushes back `expires`): images, CSS, a favicon...
    // With touchAfter the store touches an unchanged session at most once every 60 s.
    // A session that changed is still written at once.
    touchAfter: 60,
  });

  const app = express();
  app.use(workshopSession(store));

  app.get("/", visitsPage("mongo", inspectMongo(mongo.db().collection(COLLECTION))));
  app.use(storeErrorHandler);
  return app;
}
