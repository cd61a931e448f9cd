import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PrivateMongo } from "../services/mongo.ts";
import type { PrivateRedis } from "../services/redis.ts";

/** One thing to measure: a server the bench starts as a child process, as `npm run step:N` would. */
export interface Target {
  /** The name in the results: "none" for the baseline, else the store. */
  store: string;
  /** The server to run, relative to the repository. */
  entry: string;
  env: Record<string, string>;
  /** Removes what the target left behind (the FileStore's folder). */
  cleanUp?: () => void;
}

/**
 * Express without sessions, then every store of the workshop, each by its step's own
 * server.ts (the same code a learner runs), pointed at the bench's private servers.
 */
export function benchTargets(services: { redis: PrivateRedis; mongo: PrivateMongo }): Target[] {
  const sessionsDir = mkdtempSync(join(tmpdir(), "workshop-bench-sessions-"));
  return [
    { store: "none", entry: "scripts/bench/baseline-server.ts", env: {} },
    { store: "memory", entry: "steps/01-memory-store/server.ts", env: {} },
    {
      store: "file",
      entry: "steps/02-file-store/server.ts",
      env: { SESSIONS_DIR: sessionsDir },
      cleanUp: () => rmSync(sessionsDir, { recursive: true, force: true }),
    },
    {
      store: "redis",
      entry: "steps/03-redis-store/server.ts",
      env: { REDIS_URL: services.redis.url },
    },
    {
      store: "mongo",
      entry: "steps/04-mongo-store/server.ts",
      env: { MONGO_URL: services.mongo.url },
    },
    {
      store: "own",
      entry: "steps/07-own-store/server.ts",
      env: { REDIS_URL: services.redis.url },
    },
  ];
}
