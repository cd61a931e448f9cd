import { redisUrlForStep } from "../../lib/services/redis.ts";
import { createRedisClient } from "../shared/redis-client.ts";
import { startServer } from "../shared/start-server.ts";
import { createApp } from "./app.ts";

await startServer(async () => {
  // REDIS_URL, or the Redis on localhost:6379, or one the workshop starts for you.
  const redis = createRedisClient(await redisUrlForStep());
  await redis.connect();
  return { app: createApp(redis), close: () => redis.close() };
});
