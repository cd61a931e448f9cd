import assert from "node:assert/strict";
import { test } from "node:test";
import { Cookie, type SessionData } from "express-session";
import {
  assertForeignCookiesStartFresh,
  assertHungStoreAnswers503,
  assertPageVisitsSlideExpiry,
  assertSessionKeyFollowsCookie,
  assertSessionsSurviveRestart,
  assertShutdownClosesRedis,
  Browser,
  redisClientFor,
  startStep,
  usePrivateRedis,
} from "../../test/harness/index.ts";
import type { RedisClient } from "../shared/redis-client.ts";
import { RedisSessionStore } from "./redis-session-store.ts";

// The store's contract (get, set, destroy, touch, expiry, all/length/clear, corrupt values)
// is tested with the other four stores in test/conformance/. Here: the step, and what only
// a Redis store has (prefix, default TTL, SCAN).

const STEP = "07-own-store";
const redis = await usePrivateRedis();
const env = { REDIS_URL: redis.url };

test("sessions in our own Redis store survive a restart of the server", async (t) => {
  await assertSessionsSurviveRestart(t, STEP, "own", { env });
});

test("on the page, the stored expiry slides with every visit", async (t) => {
  const client = await redisClientFor(t, redis.url);
  // cookie.expires in the stored value: what the next write computes the key's TTL from.
  await assertPageVisitsSlideExpiry(t, STEP, { env }, async (id) => {
    return Date.parse(JSON.parse((await client.get(`sess:${id}`)) ?? "{}").cookie.expires);
  });
});

test("a hung Redis (frozen): 503 within 3 s, the process lives on, the session goes on", async (t) => {
  await assertHungStoreAnswers503(t, STEP, redis, { env });
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
const storeClient = (t: test.TestContext): Promise<RedisClient> => redisClientFor(t, redis.url);

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

test("an expiry that is not a date deletes the key, as connect-redis does (never EX NaN)", async (t) => {
  const client = await storeClient(t);
  const store = new RedisSessionStore({ client, prefix: "step07:nan:" });
  const broken = () => {
    const cookie = new Cookie();
    cookie.expires = new Date(Number.NaN);
    return { cookie, visits: 1 } as SessionData;
  };
  for (const method of ["set", "touch"] as const) {
    await client.set("step07:nan:abc", JSON.stringify({ cookie: {}, visits: 1 }));
    const { error } = await call((done) => store[method]("abc", broken(), done));
    assert.equal(error, null, `${method}() with an invalid expiry: ${String(error)}`);
    assert.equal(await client.exists("step07:nan:abc"), 0, `${method}() deleted the key`);
  }
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

test("SCAN may return a key twice; all() and length() count each session once", async (t) => {
  const client = await storeClient(t);
  // Redis documents that SCAN can return an element more than once (while its table is
  // resized). That is rare on purpose; here a client whose SCAN repeats each batch shows it.
  const repeating = Object.create(client) as RedisClient;
  repeating.scanIterator = async function* (options) {
    for await (const batch of client.scanIterator(options)) {
      yield batch;
      yield batch;
    }
  } as RedisClient["scanIterator"];
  const store = new RedisSessionStore({ client: repeating, prefix: "step07:scan:" });
  const session = { cookie: new Cookie(), visits: 1 } as SessionData;
  for (const id of ["a", "b", "c"]) await call((done) => store.set(id, session, done));

  assert.equal((await call((done) => store.length(done))).result, 3, "three sessions");
  const all = (await call((done) => store.all(done))).result as Record<string, SessionData>;
  assert.deepEqual(Object.keys(all).sort(), ["a", "b", "c"]);
});
