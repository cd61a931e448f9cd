import { after } from "node:test";
import { startPrivateMongo } from "../../lib/services/mongo.ts";
import {
  type PostgresEngine,
  privateEngine,
  startPrivatePostgres,
} from "../../lib/services/postgres.ts";
import { startPrivateRedis } from "../../lib/services/redis.ts";
import { startPrivateSentinels } from "../../lib/services/redis-sentinel.ts";

/**
 * A server of this test file's own (lib/services/service.ts: a free port on 127.0.0.1, its own
 * temporary folder), stopped when the file's tests are over.
 */
async function stoppedAtTheEnd<T extends { stop(): Promise<void> }>(starting: Promise<T>) {
  const server = await starting;
  after(() => server.stop());
  return server;
}

/** A redis-server of this test file's own. */
export const usePrivateRedis = () => stoppedAtTheEnd(startPrivateRedis());

/** A MongoDB(-compatible) server of this test file's own. */
export const usePrivateMongo = () => stoppedAtTheEnd(startPrivateMongo());

/** A PostgreSQL of this test file's own (real binaries when installed, else PGlite). */
export const usePrivatePostgres = (engine?: PostgresEngine) =>
  stoppedAtTheEnd(startPrivatePostgres(engine));

/**
 * For a test's `skip`: why it cannot run here, or false. It shows what PostgreSQL does with
 * several sessions at once (locks, timeouts, a race); the tests run on the embedded PGlite
 * here, which runs one transaction at a time. CI and any machine with PostgreSQL run it.
 */
export async function needsPostgresql(): Promise<string | false> {
  return (await privateEngine()) === "pglite"
    ? "needs PostgreSQL itself (initdb, postgres): the embedded PGlite runs one transaction at a time"
    : false;
}

/** A primary, a replica and three sentinels of this test file's own. */
export const usePrivateSentinels = () => stoppedAtTheEnd(startPrivateSentinels());
