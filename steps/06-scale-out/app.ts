import express, { type NextFunction, type Request, type Response } from "express";
import { createApp as createMemoryStoreApp } from "../01-memory-store/app.ts";
import { createApp as createRedisStoreApp } from "../03-redis-store/app.ts";
import type { RedisClient } from "../shared/redis-client.ts";

/**
 * The app one worker process runs. Nothing about sessions changes in this step: with a Redis
 * client it is step 03's app (every worker reads and writes the same Redis); without one
 * (STORE=memory) it is step 01's app, and every worker keeps a MemoryStore of its own.
 */
export function createApp(redis?: RedisClient) {
  const app = express();
  app.use(reportPid);
  app.use(redis ? createRedisStoreApp(redis) : createMemoryStoreApp());
  return app;
}

/** Adds `"pid"` to every JSON answer: which process answered this request. */
export function reportPid(_req: Request, res: Response, next: NextFunction): void {
  const sendJson = res.json.bind(res);
  res.json = (body: object) => sendJson({ ...body, pid: process.pid });
  next();
}
