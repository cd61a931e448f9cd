import assert from "node:assert/strict";
import { test } from "node:test";
import { Cookie, type SessionData } from "express-session";
import {
  assertForeignCookiesStartFresh,
  Browser,
  startStep,
  usePrivateRedis,
  visitRestartVisit,
} from "../../test/harness/index.ts";
import {
  assertSessionKeyFollowsCookie,
  assertShutdownClosesRedis,
  redisClientFor,
} from "../../test/harness/redis-step-checks.ts";
import { createRedisClient } from "../shared/redis-client.ts";
import { RedisSessionStore } from "./redis-session-store.ts";

// The store's contract (get, set, destroy, touch, expiry, all/length/clear, corrupt values)
// is tested with the other four stores in test/conformance/. Here: the step, and what only
// a Redis store has (prefix, default TTL, SCAN).

const STEP = "07-own-store";
const redis = await usePrivateRedis();
const env = { REDIS_URL: redis.url };

test("sessions in our own Redis store survive a restart of the server", async (t) => {
  const { before, after, shutdown } = await visitRestartVisit(t, STEP, { env });
  assert.equal(shutdown.code, 0, "SIGTERM should end the server with code 0");
  assert.equal(after.visits, 3, "the count goes on after a restart");
  assert.equal(after.sessionId, before[0]?.sessionId, "same session, same id");
  assert.equal(after.store, "own");
});

test("the session is the key sess:<id>, its TTL follows cookie.maxAge", async (t) => {
  await assertSessionKeyFollowsCookie(t, STEP, redis.url);
});

test("a tampered or unknown cookie starts a fresh session", async (t) => {
  const server = await startStep(t, STEP, { env });
  await assertForeignCookiesStartFresh(server.url);
});

test("an unreadable value in Redis starts a fresh session, and the key is deleted", async (t) => {
  const server = await startStep(t, STEP, { env });
  const browser = new Browser(server.url);
  const { sessionId } = await browser.visit();
  const client = await redisClientFor(t, redis.url);
  await client.set(`sess:${sessionId}`, "not JSON at all");

  const next = await browser.visit();
  assert.equal(next.visits, 1, "the visitor gets a fresh session, not an error page");
  assert.equal(await client.exists(`sess:${sessionId}`), 0, "the unreadable key is gone");
});

test("SIGTERM closes the Redis connection before the process exits", async (t) => {
  await assertShutdownClosesRedis(t, STEP, redis.url);
});

/** A connected client for the store, closed when the test ends. */
async function storeClient(t: test.TestContext) {
  const client = createRedisClient(redis.url);
  await client.connect();
  t.after(() => (client.isOpen ? client.close() : undefined));
  return client;
}

const call = (start: (done: (error: unknown, result?: unknown) => void) => void) =>
  new Promise<{ error: unknown; result: unknown }>((resolve) =>
    start((error, result) => resolve({ error, result })),
  );

test("prefix and ttl: a cookie without expiry lives `ttl` seconds under PREFIX<id>", async (t) => {
  const client = await storeClient(t);
  const store = new RedisSessionStore({ client, prefix: "step07:ttl:", ttl: 120 });
  const browserSession = { cookie: new Cookie(), visits: 1 } as SessionData; // no maxAge

  assert.equal((await call((done) => store.set("abc", browserSession, done))).error, null);
  const ttl = await client.ttl("step07:ttl:abc");
  assert.ok(ttl > 110 && ttl <= 120, `TTL of a session cookie without maxAge: ${ttl} s, not ~120`);
});

test("clear() deletes only the keys with its prefix", async (t) => {
  const client = await storeClient(t);
  const store = new RedisSessionStore({ client, prefix: "step07:clear:" });
  await client.set("step07:clear:one", JSON.stringify({ cookie: {}, visits: 1 }));
  await client.set("step07:other-data", "keep me");

  assert.equal((await call((done) => store.clear(done))).error, null);
  assert.equal(await client.exists("step07:clear:one"), 0, "the session is gone");
  assert.equal(await client.get("step07:other-data"), "keep me", "other data stays");
});

test("a Redis error reaches the callback; nothing is thrown", async (t) => {
  const client = await storeClient(t);
  const store = new RedisSessionStore({ client });
  await client.close(); // every command now fails: the client is closed

  for (const [name, start] of [
    ["get", (done) => store.get("x", done)],
    ["set", (done) => store.set("x", { cookie: new Cookie() } as SessionData, done)],
    ["destroy", (done) => store.destroy("x", done)],
    ["touch", (done) => store.touch("x", { cookie: new Cookie() } as SessionData, done)],
    ["length", (done) => store.length(done)],
    ["clear", (done) => store.clear(done)],
  ] as const satisfies [string, Parameters<typeof call>[0]][]) {
    const { error } = await call(start);
    assert.ok(error instanceof Error, `${name}() should call back with the client's error`);
  }
});
