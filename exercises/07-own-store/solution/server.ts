// Nothing to change here: an app over your store on http://localhost:3000
// (`npm run exercise -- 7`), with the Redis of the steps.
import express from "express";
import { redisUrlForStep } from "../../../lib/services/redis.ts";
import { inspectRedis } from "../../../steps/shared/inspectors.ts";
import { createRedisClient } from "../../../steps/shared/redis-client.ts";
import { startServer } from "../../../steps/shared/start-server.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { visitsPage } from "../../../steps/shared/visits.ts";
import { workshopSession } from "../../../steps/shared/workshop-session.ts";
import { RedisSessionStore } from "./redis-session-store.ts";

await startServer(async () => {
  const redis = createRedisClient(await redisUrlForStep());
  await redis.connect();
  const app = express();
  app.use(workshopSession(new RedisSessionStore(redis, "sess:")));
  app.get("/", visitsPage("own", inspectRedis(redis, "sess:")));
  app.use(storeErrorHandler);
  return { app, close: () => redis.close() };
});
