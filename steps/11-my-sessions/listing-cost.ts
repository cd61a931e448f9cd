/**
 * What it costs to list one user's sessions among 10,000, on each store:
 *
 *   npx tsx steps/11-my-sessions/listing-cost.ts
 *
 * Starts a private redis-server and PostgreSQL (never yours), fills each with 10,000 sessions
 * of 1,000 users (10 each), and times the listing of one user:
 * - Redis: the index (ZRANGE, then MGET of the user's 10 keys) against what a store without
 *   one can do: SCAN every sess:* key, read them all, keep the user's;
 * - PostgreSQL: EXPLAIN ANALYZE of the listing query without, then with, the expression index.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { startPrivatePostgres } from "../../lib/services/postgres.ts";
import { startPrivateRedis } from "../../lib/services/redis.ts";
import { createRedisClient } from "../shared/redis-client.ts";
import { indexSessionsByUser, SESSIONS_OF_USER } from "./postgres-listing.ts";
import { SessionIndex } from "./session-index.ts";

const SESSIONS = 10_000;
const USERS = 1_000;
const ROUNDS = 50;
const MAX_AGE = 30 * 60 * 1000;
const userOf = (n: number) => `user-${n % USERS}`;

/** The median time of FN over ROUNDS runs, in ms. */
async function median(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

async function redisCost(): Promise<void> {
  const server = await startPrivateRedis();
  const redis = createRedisClient(server.url);
  await redis.connect();
  try {
    const index = new SessionIndex(redis, { prefix: "sess:", absoluteTimeoutMs: MAX_AGE });
    const expires = Date.now() + MAX_AGE;
    const fill = redis.multi();
    for (let n = 0; n < SESSIONS; n++) {
      const session = {
        cookie: { originalMaxAge: MAX_AGE, expires: new Date(expires) },
        userId: userOf(n),
        loggedInAt: Date.now(),
        handle: `handle-${n}`,
        device: "Firefox on Linux",
      };
      fill.set(`sess:${n}`, JSON.stringify(session), {
        expiration: { type: "PX", value: MAX_AGE },
      });
      fill.zAdd(SessionIndex.key(userOf(n)), { score: expires, value: String(n) });
    }
    await fill.exec();

    const scanAll = async () => {
      const found: string[] = [];
      for await (const keys of redis.scanIterator({ MATCH: "sess:*", COUNT: 1000 })) {
        if (keys.length === 0) continue;
        for (const raw of await redis.mGet(keys)) {
          if (raw && JSON.parse(raw).userId === "user-7") found.push(raw);
        }
      }
      return found;
    };
    const listed = (await index.list("user-7")).length;
    const scanned = (await scanAll()).length;
    const viaIndex = await median(() => index.list("user-7"));
    const viaScan = await median(scanAll);
    console.log(`Redis, ${SESSIONS} sessions, listing one user's ${listed} (median of ${ROUNDS}):`);
    console.log(`  index (MULTI ZREMRANGEBYSCORE+ZRANGE+GET, MGET): ${viaIndex.toFixed(2)} ms`);
    console.log(
      `  SCAN sess:* + MGET of all, filtered in Node (${scanned} found): ${viaScan.toFixed(2)} ms`,
    );
  } finally {
    await redis.close();
    await server.stop();
  }
}

async function postgresCost(): Promise<void> {
  const server = await startPrivatePostgres();
  const pool = new pg.Pool({ connectionString: server.url, max: 2 });
  try {
    // The table as connect-pg-simple makes it (its createTableIfMissing runs this very file).
    const tableSql = createRequire(import.meta.url).resolve("connect-pg-simple/table.sql");
    await pool.query(readFileSync(tableSql, "utf8"));
    await pool.query(
      `INSERT INTO session (sid, sess, expire)
       SELECT 'sid-' || n,
              json_build_object('cookie', json_build_object('originalMaxAge', ${MAX_AGE}),
                'userId', 'user-' || (n % ${USERS}), 'loggedInAt', n, 'handle', 'h' || n,
                'device', 'Firefox on Linux'),
              now() + interval '30 minutes'
       FROM generate_series(0, ${SESSIONS - 1}) AS n`,
    );
    const explain = async () => {
      await pool.query("ANALYZE session");
      const { rows } = await pool.query<{ "QUERY PLAN": string }>(
        `EXPLAIN (ANALYZE) ${SESSIONS_OF_USER}`,
        ["user-7"],
      );
      const lines = rows.map((row) => row["QUERY PLAN"]);
      const scan = lines
        .find((line) => /Index Scan|Seq Scan/.test(line))
        ?.trim()
        .replace(/\s+\(cost.*$/, "");
      const time = lines.find((line) => line.startsWith("Execution Time"));
      return `${scan}; ${time}`;
    };
    const query = () => pool.query(SESSIONS_OF_USER, ["user-7"]);
    console.log(`PostgreSQL (${server.engine}), ${SESSIONS} rows, one user's listing:`);
    console.log(`  without the index: ${await explain()}`);
    console.log(`    round trip, median of ${ROUNDS}: ${(await median(query)).toFixed(2)} ms`);
    await indexSessionsByUser(pool);
    console.log(`  with session_by_user: ${await explain()}`);
    console.log(`    round trip, median of ${ROUNDS}: ${(await median(query)).toFixed(2)} ms`);
  } finally {
    await pool.end();
    await server.stop();
  }
}

await redisCost();
await postgresCost();
