import { after } from "node:test";
import { type PrivateMongo, startPrivateMongo } from "../../lib/services/mongo.ts";
import {
  type PostgresEngine,
  type PrivatePostgres,
  startPrivatePostgres,
} from "../../lib/services/postgres.ts";
import { type PrivateRedis, startPrivateRedis } from "../../lib/services/redis.ts";
import { type PrivateSentinels, startPrivateSentinels } from "../../lib/services/redis-sentinel.ts";

/** A redis-server of this test file's own (free port, temporary folder), stopped at the end. */
export async function usePrivateRedis(): Promise<PrivateRedis> {
  const redis = await startPrivateRedis();
  after(() => redis.stop());
  return redis;
}

/** A MongoDB(-compatible) server of this test file's own, stopped at the end. */
export async function usePrivateMongo(): Promise<PrivateMongo> {
  const mongo = await startPrivateMongo();
  after(() => mongo.stop());
  return mongo;
}

/** A PostgreSQL of this test file's own (real binaries when installed, else PGlite), stopped at the end. */
export async function usePrivatePostgres(engine?: PostgresEngine): Promise<PrivatePostgres> {
  const postgres = await startPrivatePostgres(engine);
  after(() => postgres.stop());
  return postgres;
}

/** A primary, a replica and three sentinels of this test file's own, stopped at the end. */
export async function usePrivateSentinels(): Promise<PrivateSentinels> {
  const sentinels = await startPrivateSentinels();
  after(() => sentinels.stop());
  return sentinels;
}
