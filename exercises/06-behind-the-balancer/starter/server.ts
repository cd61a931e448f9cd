// Nothing to change here: step 06's cluster, running your app.ts in every worker.
import cluster from "node:cluster";
import { redisUrlForStep } from "../../../lib/services/redis.ts";
import { startPrimary } from "../../../steps/06-scale-out/primary.ts";
import { startWorker } from "../../../steps/06-scale-out/worker.ts";
import { createRedisClient } from "../../../steps/shared/redis-client.ts";
import { createApp } from "./app.ts";

if (cluster.isPrimary) {
  await startPrimary({
    workers: Number(process.env.WORKERS ?? 2),
    prepare: async () => ({ REDIS_URL: await redisUrlForStep() }),
  });
} else {
  await startWorker(async () => {
    const redis = createRedisClient(process.env.REDIS_URL ?? "");
    await redis.connect();
    return { app: createApp(redis), close: () => redis.close() };
  });
}
