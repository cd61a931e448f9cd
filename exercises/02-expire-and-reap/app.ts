import express from "express";
import session from "express-session";
import createFileStore from "session-file-store";
import { inspectFile } from "../../steps/shared/inspectors.ts";
import { COOKIE_NAME, sessionSecrets } from "../../steps/shared/session-secret.ts";
import { storeErrorHandler } from "../../steps/shared/store-errors.ts";
import { visitsPage } from "../../steps/shared/visits.ts";

const FileStore = createFileStore(session);

/** How long a session lives after the visitor's last request. */
const SESSION_MINUTES = 30;

// TODO 2 (first part): take a second parameter, `reapEverySeconds = 10 * 60`: how often to
// delete the files of expired sessions (the check passes 1, to see it happen).
export function createApp(sessionsDir: string) {
  const store = new FileStore({
    path: sessionsDir,
    // A file is valid for `ttl` seconds after its last write, or for cookie.originalMaxAge
    // when the cookie has a maxAge.
    ttl: SESSION_MINUTES * 60,
    // TODO 2: expired files are never served, but nobody deletes them: the folder only grows.
    // Let the store's reaper delete them every `reapEverySeconds` (option reapInterval).
    retries: 0, // a missing file is a new session, not a reason to wait and read again
  });

  const app = express();
  app.use(
    session({
      store,
      name: COOKIE_NAME,
      secret: sessionSecrets(),
      resave: false,
      saveUninitialized: false,
      cookie: {
        httpOnly: true,
        sameSite: "lax",
        secure: "auto",
        // TODO 1: without maxAge this cookie lives until the browser closes: a visitor who
        // keeps the browser open for days keeps a cookie whose file has long expired, and one
        // who closes it leaves a file behind. Make the cookie expire with the session, after
        // SESSION_MINUTES (maxAge is in milliseconds).
      },
    }),
  );

  app.get("/", visitsPage("file", inspectFile(sessionsDir)));
  app.use(storeErrorHandler);
  return app;
}
