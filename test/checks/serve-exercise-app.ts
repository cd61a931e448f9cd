/**
 * Serves an exercise's app in a process of its own, as its server would, for the checks that
 * are about several processes: APP_FILE exports createApp(redis); REDIS_URL and PORT as for a
 * step. Prints `listening on http://localhost:PORT` when ready (what startStep waits for).
 */
import { pathToFileURL } from "node:url";
import type { Express } from "express";
import { createRedisClient, type RedisClient } from "../../steps/shared/redis-client.ts";

const appFile = process.env.APP_FILE ?? "";
const { createApp } = (await import(pathToFileURL(appFile).href)) as {
  createApp(redis: RedisClient): Express;
};
const redis = createRedisClient(process.env.REDIS_URL ?? "");
await redis.connect();
const port = Number(process.env.PORT);
createApp(redis).listen(port, "127.0.0.1", () =>
  console.log(`listening on http://localhost:${port}`),
);
