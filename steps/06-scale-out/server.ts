import cluster from "node:cluster";
import { redisUrlForStep } from "../../lib/services/redis.ts";
import { createRedisClient } from "../shared/redis-client.ts";
import { createApp } from "./app.ts";
import { startPrimary } from "./primary.ts";
import { startWorker } from "./worker.ts";

// This file runs several times: once as the primary, then once in every worker it forks
// (cluster.fork() starts this same file again, with cluster.isPrimary false).
const store = process.env.STORE ?? "redis"; // STORE=memory: the same cluster with MemoryStore

if (cluster.isPrimary) {
  await startPrimary({
    workers: Number(process.env.WORKERS ?? 2),
    prepare: async (): Promise<Record<string, string>> => {
      if (store === "memory") return {};
      if (store !== "redis") throw new Error(`STORE must be redis or memory, not "${store}".`);
      // Once, here: find or start the Redis that every worker will share.
      return { REDIS_URL: await redisUrlForStep() };
    },
  });
} else {
  await startWorker(async () => {
    if (store === "memory") return { app: createApp(), close: async () => {} };
    // Each worker is its own process, so it has its own connection to the shared Redis.
    const redis = createRedisClient(process.env.REDIS_URL ?? "");
    await redis.connect();
    return { app: createApp(redis), close: () => redis.close() };
  });
}
