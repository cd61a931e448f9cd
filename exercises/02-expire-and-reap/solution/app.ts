import express from "express";
import session from "express-session";
import createFileStore from "session-file-store";
import { inspectFile } from "../../../steps/shared/inspectors.ts";
import { COOKIE_NAME, sessionSecrets } from "../../../steps/shared/session-secret.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { visitsPage } from "../../../steps/shared/visits.ts";

const FileStore = createFileStore(session);

// The policy this app must follow (README):
// - a session ends 20 minutes after the visitor's last request: the cookie and the file agree;
// - the file of an ended session stays on disk at most 5 minutes longer;
// - reaping reads every file of the folder: no more often than once a minute.

export function createApp(sessionsDir: string) {
  const store = new FileStore({
    path: sessionsDir,
    // TODO 1: how long a session file stays valid, in seconds (for a cookie without maxAge).
    ttl: 20 * 60,
    // TODO 2: expired files are never served again, but only the reaper deletes them.
    reapInterval: 5 * 60,
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
      rolling: true,
      cookie: {
        httpOnly: true,
        sameSite: "lax",
        secure: "auto",
        // TODO 1: without an expiry, this cookie lives until the browser closes, whatever the
        // file does.
        maxAge: 20 * 60 * 1000,
      },
    }),
  );

  app.get("/", visitsPage("file", inspectFile(sessionsDir)));
  app.use(storeErrorHandler);
  return app;
}
