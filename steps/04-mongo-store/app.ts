import MongoStore from "connect-mongo";
import express from "express";
import session from "express-session";
import type { MongoClient } from "mongodb";
import { inspectMongo } from "../shared/inspectors.ts";
import { COOKIE_NAME, sessionSecrets } from "../shared/session-secret.ts";
import { storeErrorHandler } from "../shared/store-errors.ts";
import { visitsPage } from "../shared/visits.ts";

export function createApp(mongo: MongoClient) {
  const store = MongoStore.create({
    client: mongo, // a connected MongoClient (see server.ts); its URL names the database
    collectionName: "sessions", // one document per session: {_id: <id>, session, expires}
    // Seconds to live, used only for a session whose cookie has no expiry; a cookie with
    // maxAge wins: the document's `expires` is cookie.expires.
    ttl: 30 * 60,
    // A TTL index on `expires`: MongoDB itself deletes expired documents (its monitor runs
    // about once a minute, so connect-mongo also ignores expired documents when reading).
    autoRemove: "native",
    // An unchanged session is re-written (to push back `expires`) at most once every 60 s
    // instead of on every request: fewer writes for sessions that are only read.
    touchAfter: 60,
  });
  // connect-mongo's set() deletes `lastModified` (its touchAfter bookkeeping) from the very
  // session it is given: express-session would see a change it did not make, and write the
  // session a second time as the response ends. It gets a copy.
  const set = store.set.bind(store);
  store.set = (id, session, callback) => set(id, { ...session }, callback);

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
        maxAge: 30 * 60 * 1000, // 30 minutes, in milliseconds: also the document's `expires`
      },
    }),
  );

  app.get("/", visitsPage("mongo", inspectMongo(mongo.db().collection("sessions"))));
  app.use(storeErrorHandler);
  return app;
}
