/**
 * The servers of the step the page runs: each one the page's own (lib/services' private
 * servers: a free port of 127.0.0.1, a temporary folder), started with the step and stopped
 * with it, never the learner's Redis on 6379 or the workshop's background ones. So the page
 * may freeze them, kill a primary, or switch on expiry events without touching anything else.
 * The step finds them through the variables it reads anyway (REDIS_URL, MONGO_URL,
 * DATABASE_URL, REDIS_SENTINELS). PostgreSQL is reached through a tap (sql-tap.ts) that tells
 * the events pane each statement.
 */
import { type PrivateMongo, startPrivateMongo } from "../../lib/services/mongo.ts";
import { type PrivatePostgres, startPrivatePostgres } from "../../lib/services/postgres.ts";
import { type PrivateRedis, startPrivateRedis } from "../../lib/services/redis.ts";
import { type PrivateSentinels, startPrivateSentinels } from "../../lib/services/redis-sentinel.ts";
import type { Step } from "../../workshop.ts";
import { type SqlTap, startSqlTap } from "./sql-tap.ts";

export interface StepServices {
  redis?: PrivateRedis;
  mongo?: PrivateMongo;
  postgres?: PrivatePostgres;
  /** Where the step talks to PostgreSQL: the tap in front of it. */
  sqlTap?: SqlTap;
  sentinels?: PrivateSentinels;
  /** What the step's environment gets: where each server is. */
  env: Record<string, string>;
  /** Each server in a line, with how to look at it from a terminal: for the page. */
  lines: string[];
  /** Stops every one of them and removes their folders. */
  stop(): Promise<void>;
}

/**
 * Starts what STEP's manifest entry names in `services`, one after the other (each holds its
 * free port before the next looks for one). SAY tells the page what is happening.
 */
export async function startServices(
  step: Step,
  say: (line: string) => void,
  onSql: (statement: string) => void,
): Promise<StepServices> {
  const started: StepServices = { env: {}, lines: [], stop: async () => {} };
  const stoppers: (() => Promise<void>)[] = [];
  started.stop = async () => {
    await Promise.all(stoppers.splice(0).map((stop) => stop().catch(() => {})));
  };
  try {
    for (const service of step.services) {
      const begun = Date.now();
      if (service === "redis") {
        const redis = await startPrivateRedis();
        stoppers.push(() => redis.stop());
        started.redis = redis;
        started.env.REDIS_URL = redis.url;
      } else if (service === "mongo") {
        const mongo = await startPrivateMongo();
        stoppers.push(() => mongo.stop());
        started.mongo = mongo;
        started.env.MONGO_URL = mongo.url;
      } else if (service === "postgres") {
        const postgres = await startPrivatePostgres();
        stoppers.push(() => postgres.stop());
        const tap = await startSqlTap(postgres.port, onSql);
        stoppers.push(() => tap.close());
        started.postgres = postgres;
        started.sqlTap = tap;
        // The same URL, but for the port: the step talks to the tap, the tap to PostgreSQL.
        const url = new URL(postgres.url);
        url.port = String(tap.port);
        started.env.DATABASE_URL = url.toString();
      } else if (service === "redis-sentinel") {
        const sentinels = await startPrivateSentinels();
        stoppers.push(() => sentinels.stop());
        started.sentinels = sentinels;
        started.env.REDIS_SENTINELS = sentinels.sentinels
          .map(({ host, port }) => `${host}:${port}`)
          .join(",");
        started.env.REDIS_SENTINEL_MASTER = sentinels.masterName;
      }
      say(`The page started ${describe(started, service)} (${Date.now() - begun} ms).`);
      started.lines.push(lookAt(started, service));
    }
  } catch (error) {
    await started.stop();
    throw error;
  }
  return started;
}

/** Where a server is, as a command that looks at it. */
function lookAt(services: StepServices, service: Step["services"][number]): string {
  switch (service) {
    case "redis":
      return `Redis: redis-cli -p ${services.redis?.port}`;
    case "mongo":
      return `MongoDB: mongosh ${services.mongo?.url}`;
    case "postgres":
      return `PostgreSQL: psql ${services.postgres?.url}`;
    case "redis-sentinel":
      return (
        `Sentinel: redis-cli -p ${services.sentinels?.sentinels[0]?.port} ` +
        `SENTINEL GET-MASTER-ADDR-BY-NAME ${services.sentinels?.masterName}`
      );
  }
}

function describe(services: StepServices, service: Step["services"][number]): string {
  switch (service) {
    case "redis":
      return `a redis-server of its own on port ${services.redis?.port}`;
    case "mongo":
      return `a MongoDB (${services.mongo?.kind}) of its own on port ${services.mongo?.port}`;
    case "postgres":
      return (
        `a PostgreSQL (${services.postgres?.engine}) of its own on port ` +
        `${services.postgres?.port}, which the step reaches through the page's tap on port ` +
        `${services.sqlTap?.port}`
      );
    case "redis-sentinel":
      return (
        `a primary and a replica (ports ${services.sentinels?.dataPorts.join(", ")}) and three ` +
        `sentinels (${services.sentinels?.sentinels.map((s) => s.port).join(", ")}) of its own`
      );
  }
}
