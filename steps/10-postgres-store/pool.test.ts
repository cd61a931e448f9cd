/**
 * The pool's own lesson, on the workshop's pool (steps/shared/postgres-pool.ts: at most 10
 * connections, 2 s to get one) against a real PostgreSQL (PGlite where there is none): a
 * connection checked out with pool.connect() must be given back with client.release(). Forget
 * it, and ten requests take the ten connections for good; every later request waits its 2 s
 * and fails. Give them back, and the pool serves again at once, without a restart.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type pg from "pg";
import { boundForLoad } from "../../lib/services/net.ts";
import { needsPostgresql, usePrivatePostgres } from "../../test/harness/index.ts";
import { createPool } from "../shared/postgres-pool.ts";

// Awaited before the first test(): an await between two test() calls lets node:test run the
// first and, finding nothing after it, the file's after() hooks, before the second exists.
const withoutPostgresql = await needsPostgresql();
const pools: pg.Pool[] = [];
after(() => Promise.all(pools.map((pool) => pool.end()))); // first: before PostgreSQL stops
const postgres = await usePrivatePostgres();
const pool = createPool(postgres.url);
pools.push(pool);

/** A request handler done right: the connection goes back in `finally`, error or not. */
async function handle(sql: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query(sql);
  } finally {
    client.release();
  }
}

/** The same handler, with the release() forgotten: the connection stays checked out. */
async function handleAndForget(sql: string, leaked: pg.PoolClient[]): Promise<void> {
  const client = await pool.connect();
  leaked.push(client); // kept only so that the test can give them back at the end
  await client.query(sql);
}

/** How long PROMISE takes to settle, and whether it failed. */
async function timed(promise: Promise<unknown>): Promise<{ ms: number; error?: Error }> {
  const started = performance.now();
  try {
    await promise;
    return { ms: performance.now() - started };
  } catch (error) {
    return { ms: performance.now() - started, error: error as Error };
  }
}

/** The connections PostgreSQL itself sees from the workshop's pool. */
async function backends(): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'session-workshop'",
  );
  return rows[0]?.n ?? -1;
}

test("connect, query, release: 50 requests at once share at most 10 connections", async () => {
  const requests = Array.from({ length: 50 }, () => handle("SELECT pg_sleep(0.01)"));
  await Promise.all(requests);
  assert.ok(pool.totalCount <= 10, `the pool opened ${pool.totalCount} connections`);
  assert.equal(pool.idleCount, pool.totalCount, "every connection is back in the pool");
  // An error in the query is no excuse: `finally` gives the connection back all the same.
  await assert.rejects(handle("SELEKT 1"), /syntax error/);
  assert.equal(pool.idleCount, pool.totalCount, "the failed request gave its connection back");
});

test("a forgotten release(): ten requests empty the pool, every later one waits 2 s and fails; releasing recovers", {
  skip: withoutPostgresql,
}, async () => {
  const leaked: pg.PoolClient[] = [];
  for (let request = 1; request <= 10; request++) {
    await handleAndForget("SELECT 1", leaked);
  }
  assert.equal(pool.totalCount, 10, "ten requests, ten connections checked out");
  assert.equal(pool.idleCount, 0, "none came back");

  // The 11th, 12th and 13th requests: each waits in the pool's queue for a connection that
  // never comes, and fails when connectionTimeoutMillis (2 s) runs out.
  const later = [1, 2, 3].map(() => timed(handle("SELECT 1")));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(pool.waitingCount, 3, "the later requests wait in the pool's queue");
  for (const { ms, error } of await Promise.all(later)) {
    assert.match(error?.message ?? "answered", /timeout exceeded when trying to connect/);
    const bound = boundForLoad(4000);
    assert.ok(
      ms >= 1900 && ms < bound.ms,
      `failed after ${Math.round(ms)} ms, not after about 2 s (${bound.said})`,
    );
  }
  assert.equal(pool.totalCount, 10, "the pool never opens an 11th connection");

  // The fix is release() (in `finally`): the same ten connections serve again at once.
  for (const client of leaked) client.release();
  const { ms, error } = await timed(handle("SELECT 1"));
  assert.equal(error, undefined, "a request after the release answers");
  const quick = boundForLoad(500);
  assert.ok(ms < quick.ms, `it answered in ${Math.round(ms)} ms (${quick.said})`);
  assert.equal(await backends(), 10, "PostgreSQL still sees the same ten connections");
});
