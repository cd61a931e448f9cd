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

/** `reapEverySeconds`: how often to delete the files of expired sessions. */
export function createApp(sessionsDir: string, reapEverySeconds = 10 * 60) {
  const store = new FileStore({
    path: sessionsDir,
    // A file stays valid for cookie.originalMaxAge after its last write; `ttl` counts only
    // for a cookie without maxAge. Same value, so both ways a session lives 30 minutes.
    ttl: SESSION_MINUTES * 60,
    // Nobody ever asks again for most expired sessions: without reaping, their files stay
    // on disk for ever. The reaper deletes the expired ones (and only those).
    reapInterval: reapEverySeconds,
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
        // The cookie expires SESSION_MINUTES after the last visit; the file with it.
        maxAge: SESSION_MINUTES * 60 * 1000,
      },
    }),
  );

  app.get("/", visitsPage("file", inspectFile(sessionsDir)));
  app.use(storeErrorHandler);
  return app;
}
