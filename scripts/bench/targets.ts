import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PrivateMongo } from "../../lib/services/mongo.ts";
import type { PrivatePostgres } from "../../lib/services/postgres.ts";
import type { PrivateRedis } from "../../lib/services/redis.ts";
import { steps } from "../../workshop.ts";

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
 * Express without sessions, then every store of the workshop (workshop.ts), each by the server.ts
 * of the first step that uses it (the same code a learner runs), pointed at the bench's private
 * servers.
 */
export function benchTargets(services: {
  redis: PrivateRedis;
  mongo: PrivateMongo;
  postgres: PrivatePostgres;
}): Target[] {
  const targets: Target[] = [{ store: "none", entry: "scripts/bench/baseline-server.ts", env: {} }];
  for (const step of steps) {
    if (targets.some((target) => target.store === step.store)) continue;
    const target: Target = { store: step.store, entry: `steps/${step.slug}/server.ts`, env: {} };
    const needs = step.services as readonly string[];
    if (needs.includes("redis")) target.env.REDIS_URL = services.redis.url;
    if (needs.includes("mongo")) target.env.MONGO_URL = services.mongo.url;
    if (needs.includes("postgres")) target.env.DATABASE_URL = services.postgres.url;
    if (step.store === "file") {
      const sessionsDir = mkdtempSync(join(tmpdir(), "workshop-bench-sessions-"));
      target.env.SESSIONS_DIR = sessionsDir;
      target.cleanUp = () => rmSync(sessionsDir, { recursive: true, force: true });
    }
    targets.push(target);
  }
  return targets;
}
