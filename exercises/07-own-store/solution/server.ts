// Nothing to change here: an app over your store on http://localhost:3000
// (`npm run exercise -- 7`), with the Redis of the steps, and two routes for an admin:
//   curl localhost:3000/admin                 how many sessions, and each one (length, all)
//   curl -X POST localhost:3000/admin/clear   everybody logged out (clear)
// `redis-cli MONITOR` in another terminal shows the commands your store sends.
import express from "express";
import { redisUrlForStep } from "../../../lib/services/redis.ts";
import { inspectRedis } from "../../../steps/shared/inspectors.ts";
import { createRedisClient } from "../../../steps/shared/redis-client.ts";
import { startServer } from "../../../steps/shared/start-server.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { visitsPage } from "../../../steps/shared/visits.ts";
import { workshopSession } from "../../../steps/shared/workshop-session.ts";
import { PagedSessionStore } from "./paged-session-store.ts";

await startServer(async () => {
  const redis = createRedisClient(await redisUrlForStep());
  await redis.connect();
  const store = new PagedSessionStore({ client: redis, prefix: "sess:" });
  const app = express();
  app.use(workshopSession(store));
  app.get("/", visitsPage("own", inspectRedis(redis, "sess:")));
  // No login in front of these: a local exercise. Express 5 passes a rejection to the error handler.
  app.get("/admin", async (_req, res) => {
    res.json({ length: await store.length(), sessions: await store.all() });
  });
  app.post("/admin/clear", async (_req, res) => {
    await store.clear();
    res.status(204).end();
  });
  app.use(storeErrorHandler);
  return { app, close: () => redis.close() };
});
