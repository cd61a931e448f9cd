// Nothing to change here: your API on PORT (default 3000), its sessions in Redis, its
// frontends' origins from FRONTEND_ORIGINS (comma-separated).
import { RedisStore } from "connect-redis";
import { redisUrlForStep } from "../../../lib/services/redis.ts";
import { createRedisClient } from "../../../steps/shared/redis-client.ts";
import { startServer } from "../../../steps/shared/start-server.ts";
import { createApp } from "./app.ts";

const listed = process.env.FRONTEND_ORIGINS ?? "https://front.example,https://*.partners.example";
const frontends = listed
  .split(",")
  .map((origin) => origin.trim())
  .filter(Boolean);

await startServer(async () => {
  const redis = createRedisClient(await redisUrlForStep());
  await redis.connect();
  const store = new RedisStore({ client: redis, prefix: "shop:" });
  return { app: createApp(store, frontends), close: () => redis.close() };
});
