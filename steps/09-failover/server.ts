import { sentinelsForStep } from "../../lib/services/redis-sentinel.ts";
import { startServer } from "../shared/start-server.ts";
import { createApp } from "./app.ts";
import { createSentinelClient } from "./sentinel-client.ts";

await startServer(async () => {
  // REDIS_SENTINELS, or a primary, a replica and three sentinels the workshop starts for you.
  const { masterName, sentinels } = await sentinelsForStep();
  const redis = createSentinelClient(masterName, sentinels);
  await redis.connect();
  return { app: createApp(redis), close: () => redis.close() };
});
