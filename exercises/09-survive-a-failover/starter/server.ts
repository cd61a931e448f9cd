// Nothing to change here: runs your app.ts on http://localhost:3000 (`npm run exercise -- 9`),
// with the Redis of the steps (REDIS_URL, localhost:6379, or one the workshop starts), through
// a client that waits, as the sentinel client does during a failover. To play a failover:
// `redis-cli CLIENT PAUSE 5000 ALL` (Redis answers nobody for 5 s), then reload the page.
import { createClient } from "redis";
import { redisUrlForStep } from "../../../lib/services/redis.ts";
import type { RedisClient } from "../../../steps/shared/redis-client.ts";
import { startServer } from "../../../steps/shared/start-server.ts";
import { createApp } from "./app.ts";

await startServer(async () => {
  const redis: RedisClient = createClient({ url: await redisUrlForStep() });
  redis.on("error", (error: Error) => console.error(`Redis: ${error.message}`));
  await redis.connect();
  return { app: createApp(redis), close: () => redis.close() };
});
