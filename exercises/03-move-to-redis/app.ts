import { tmpdir } from "node:os";
import { join } from "node:path";
import express from "express";
import session from "express-session";
import createFileStore from "session-file-store";
import { inspectFile } from "../../steps/shared/inspectors.ts";
import { storeErrorHandler } from "../../steps/shared/store-errors.ts";
import { visitsPage } from "../../steps/shared/visits.ts";
import { SESSION_MAX_AGE, workshopSession } from "../../steps/shared/workshop-session.ts";

const FileStore = createFileStore(session);
const SESSIONS_DIR = join(tmpdir(), "workshop-exercise-03");

// TODO 1: take a connected node-redis client as a parameter: `redis: RedisClient` (the type
// is in ../../steps/shared/redis-client.ts). The check, like step 03's server.ts, passes one.
export function createApp() {
  // TODO 2: sessions still go to files, which only this machine can read. Replace this
  // FileStore with a RedisStore from connect-redis, over `redis`, whose keys start with
  // `workshop:sess:` (option prefix) and whose TTL is the cookie's maxAge, SESSION_MAX_AGE
  // (option ttl, in seconds). Then delete the FileStore, SESSIONS_DIR and the imports only
  // they use.
  const store = new FileStore({ path: SESSIONS_DIR, ttl: SESSION_MAX_AGE / 1000, retries: 0 });

  const app = express();
  app.use(workshopSession(store));

  // TODO 3: the page names its store ("redis" now) and its session inspector must read the
  // keys the store writes: inspectRedis(redis, prefix), with the same prefix as the store.
  app.get("/", visitsPage("file", inspectFile(SESSIONS_DIR)));
  app.use(storeErrorHandler);
  return app;
}
