import express from "express";
import session from "express-session";
import createFileStore from "session-file-store";
import { inspectFile } from "../shared/inspectors.ts";
import { COOKIE_NAME, sessionSecrets } from "../shared/session-secret.ts";
import { storeErrorHandler } from "../shared/store-errors.ts";
import { visitsPage } from "../shared/visits.ts";

// session-file-store plugs into express-session: hand it `session`, get a Store class back.
const FileStore = createFileStore(session);

export function fileStore(sessionsDir: string) {
  const store = new FileStore({
    path: sessionsDir, // one file per session: <id>.json
    // Seconds to live, used only for a session whose cookie has no maxAge. With a maxAge the
    // file expires at its last write (__lastAccess) + cookie.originalMaxAge.
    ttl: 30 * 60,
    // How often to re-read a file that is missing. The default (5 retries, 50 ms apart: about
    // 250 ms) makes every unknown cookie slow. Writes are atomic (temp file + rename), so a
    // reader never sees half a file.
    retries: 0,
    // Every 10 minutes delete the files of expired sessions; without reaping, the folder only
    // grows (an expired file is never served, but it stays on disk).
    reapInterval: 10 * 60,
    // A damaged file must start a fresh session, not fail the request. The store deletes a
    // file it cannot parse and passes the parse error on; marked ENOENT, it means "no such
    // session" (see get below), and the visitor starts a new one.
    decoder: (text: string): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        throw Object.assign(new Error("unreadable session file"), { code: "ENOENT" });
      }
    },
  });
  // Three answers of session-file-store, put right to the Store contract express-session expects
  // (found by running express-session's own tests against this store):
  // - get() of a missing file answers ENOENT, with the file's path in its message: express-
  //   session's middleware reads that code as "no session", req.session.reload() does not.
  //   A Store answers "no such session" with no error and no session.
  // - touch() of a session whose file is gone (logged out in another tab, reaped) answers the
  //   same ENOENT, after the page was sent: a touch of nothing is nothing.
  // - set() writes `__lastAccess` into the very session it is given, so express-session sees a
  //   change it did not make and writes the session a second time: it gets a copy.
  const isMissing = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code === "ENOENT";
  const get = store.get.bind(store);
  const set = store.set.bind(store);
  const touch = store.touch?.bind(store);
  store.get = (id, callback) =>
    get(id, (error, stored) => (isMissing(error) ? callback(null, null) : callback(error, stored)));
  // (@types/express-session types touch's callback without its error; express-session passes one.)
  type Done = (error?: unknown) => void;
  store.touch = (id, session, callback) => {
    const done = callback as Done | undefined;
    const answer: Done = (error) => done?.(isMissing(error) ? null : error);
    touch?.(id, session, answer as () => void);
  };
  store.set = (id, session, callback) => set(id, { ...session }, callback);
  return store;
}

export function createApp(sessionsDir: string) {
  const app = express();
  app.use(
    session({
      store: fileStore(sessionsDir),
      name: COOKIE_NAME, // the cookie's name; the default, connect.sid, tells the world what runs here
      secret: sessionSecrets(), // signs the cookie so a forged id is rejected
      resave: false, // don't write a session back to the store when nothing in it changed
      saveUninitialized: false, // don't store (or set a cookie for) sessions nobody wrote to
      cookie: {
        httpOnly: true, // page scripts cannot read the cookie: an XSS cannot steal the session
        sameSite: "lax", // not sent on cross-site POSTs: a first line of defence against CSRF
        secure: "auto", // Secure when the request came over HTTPS
        maxAge: 30 * 60 * 1000, // 30 minutes, in milliseconds: also how long the file is valid
      },
    }),
  );

  app.get("/", visitsPage("file", inspectFile(sessionsDir)));
  app.use(storeErrorHandler);
  return app;
}
