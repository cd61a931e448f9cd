import { tmpdir } from "node:os";
import { join } from "node:path";
import express from "express";
import session from "express-session";
import createFileStore from "session-file-store";
import { inspectFile } from "../../../steps/shared/inspectors.ts";
import type { RedisClient } from "../../../steps/shared/redis-client.ts";
import { COOKIE_NAME, sessionSecrets } from "../../../steps/shared/session-secret.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { visitsPage } from "../../../steps/shared/visits.ts";

const FileStore = createFileStore(session);
const SESSIONS_DIR = join(tmpdir(), "workshop-exercise-03");

// The policy (README): a session ends 45 minutes after the last request, in the browser and in
// the store alike; this app shares its Redis with others, so its keys are "workshop:sess:<id>".

/** REDIS is connected by the caller (server.ts, or the check). */
export function createApp(redis: RedisClient) {
  // TODO 1: these sessions are files only this machine can read. Keep them in `redis`
  // instead, under the keys of the policy, each one living as long as its session.
  const store = new FileStore({ path: SESSIONS_DIR, retries: 0 });
  void redis;

  const app = express();
  app.use(
    session({
      store,
      name: COOKIE_NAME,
      secret: sessionSecrets(),
      resave: false,
      saveUninitialized: false,
      // TODO 2: the cookie follows the policy too.
      cookie: { httpOnly: true, sameSite: "lax", secure: "auto" },
    }),
  );

  // TODO 3: the page names its store, and its inspector reads the record the store wrote.
  app.get("/", visitsPage("file", inspectFile(SESSIONS_DIR)));
  app.use(storeErrorHandler);
  return app;
}
