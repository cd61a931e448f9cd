// Nothing to change here: runs your app.ts on http://localhost:3000 (`npm run exercise -- 11`),
// with the Redis of the steps (REDIS_URL, localhost:6379, or one the workshop starts).
import { redisUrlForStep } from "../../../lib/services/redis.ts";
import { createRedisClient } from "../../../steps/shared/redis-client.ts";
import { startServer } from "../../../steps/shared/start-server.ts";
import { createApp } from "./app.ts";

await startServer(async () => {
  const redis = createRedisClient(await redisUrlForStep());
  await redis.connect();
  return { app: createApp(redis), close: () => redis.close() };
});
