import MongoStore from "connect-mongo";
import express from "express";
import session from "express-session";
import type { MongoClient } from "mongodb";
import { inspectMongo } from "../../../steps/shared/inspectors.ts";
import { COOKIE_NAME, sessionSecrets } from "../../../steps/shared/session-secret.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { visitsPage } from "../../../steps/shared/visits.ts";

// The policy (README): a session ends 2 hours after the last request, and may end up to 10
// minutes early; requests that change nothing in the session write as rarely as that allows.
// The sessions live in the collection "workshop_sessions", apart from the rest of the data.

const COLLECTION = "workshop_sessions";

export function createApp(mongo: MongoClient) {
  const store = MongoStore.create({
    client: mongo,
    // TODO 1: the collection of the policy (the inspector below reads it too).
    collectionName: COLLECTION,
    autoRemove: "native", // a TTL index: MongoDB deletes a document once its `expires` passed
    // TODO 2: every request with a session cookie ends with a write to MongoDB, even when
    // nothing in the session changed: express-session "touches" it to push back `expires`.
    // Images, scripts, the favicon... each one writes. Write no more often than the policy needs.
    touchAfter: 10 * 60,
  });
  // connect-mongo's set() deletes its touchAfter bookkeeping (`lastModified`) from the session it
  // is handed; express-session would take that for a change and write the session again.
  const write = store.set.bind(store);
  store.set = (id, data, done) => write(id, { ...data }, done);

  const app = express();
  app.use(
    session({
      store,
      name: COOKIE_NAME,
      secret: sessionSecrets(),
      resave: false,
      saveUninitialized: false,
      // TODO 3: the cookie ends with the session, as the policy says.
      cookie: { httpOnly: true, sameSite: "lax", secure: "auto", maxAge: 2 * 60 * 60 * 1000 },
    }),
  );

  app.get("/", visitsPage("mongo", inspectMongo(mongo.db().collection(COLLECTION))));
  app.use(storeErrorHandler);
  return app;
}
