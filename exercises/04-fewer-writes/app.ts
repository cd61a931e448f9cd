import MongoStore from "connect-mongo";
import express from "express";
import type { MongoClient } from "mongodb";
import { inspectMongo } from "../../steps/shared/inspectors.ts";
import { storeErrorHandler } from "../../steps/shared/store-errors.ts";
import { visitsPage } from "../../steps/shared/visits.ts";
import { SESSION_MAX_AGE, workshopSession } from "../../steps/shared/workshop-session.ts";

export function createApp(mongo: MongoClient) {
  const store = MongoStore.create({
    client: mongo,
    // TODO 1: keep the workshop's sessions in the collection `workshop_sessions`, apart from
    // anything else the database holds (and say it once: the inspector below reads it too).
    collectionName: "sessions",
    ttl: SESSION_MAX_AGE / 1000,
    autoRemove: "native",
    // TODO 2: every request with a session cookie ends with a write to MongoDB, even when
    // nothing in the session changed: express-session "touches" it to push back `expires`.
    // Images, CSS, the favicon... each one writes. Let the store touch an unchanged session
    // at most once a minute (a session that changed must still be written at once).
  });

  const app = express();
  app.use(workshopSession(store));

  app.get("/", visitsPage("mongo", inspectMongo(mongo.db().collection("sessions"))));
  app.use(storeErrorHandler);
  return app;
}
