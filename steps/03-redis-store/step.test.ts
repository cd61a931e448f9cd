import assert from "node:assert/strict";
import { test } from "node:test";
import { waitUntil } from "../../lib/services/net.ts";
import {
  assertExitsWithMessage,
  assertForeignCookiesStartFresh,
  assertHungStoreAnswers503,
  assertPageVisitsSlideExpiry,
  assertSessionKeyFollowsCookie,
  assertSessionsSurviveRestart,
  assertShutdownClosesRedis,
  Browser,
  COOKIE_NAME,
  redisClientFor,
  signedCookie,
  startStep,
  usePrivateRedis,
} from "../../test/harness/index.ts";

const STEP = "03-redis-store";
const redis = await usePrivateRedis();
const env = { REDIS_URL: redis.url };

test("sessions in Redis survive a restart of the server", async (t) => {
  await assertSessionsSurviveRestart(t, STEP, "redis", { env });
});

test("the session is the key sess:<id>, its TTL follows cookie.maxAge", async (t) => {
  await assertSessionKeyFollowsCookie(t, STEP, redis.url);
});

test("a tampered or unknown cookie starts a fresh session", async (t) => {
  const server = await startStep(t, STEP, { env });
  await assertForeignCookiesStartFresh(server.url);
});

test("a Redis crash loses no session (AOF on)", async (t) => {
  const server = await startStep(t, STEP, { env });
  const browser = new Browser(server.url);
  await browser.visit();
  await browser.visit();

  await redis.crash(); // SIGKILL: Redis cannot save anything on the way down
  await redis.start(); // reloads the append-only file
  await waitUntil("the app to reconnect", async () => {
    const response = await browser.request("/", { json: true });
    if (response.status === 503) return false;
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { visits: number }).visits, 3);
    return true;
  });
});

test("while Redis is down: a quick 503, the process stays up, then it recovers", async (t) => {
  const server = await startStep(t, STEP, { env });
  const browser = new Browser(server.url);
  await browser.visit();

  await redis.crash();
  t.after(() => redis.start().catch(() => {})); // leave Redis running for the other tests

  const started = Date.now();
  const json = await browser.request("/", { json: true });
  assert.equal(json.status, 503);
  assert.ok(Date.now() - started < 5000, `the 503 took ${Date.now() - started} ms`);
  assert.match(((await json.json()) as { error: string }).error, /session store/);

  const page = await browser.request("/", { json: false });
  assert.equal(page.status, 503);
  assert.match(await page.text(), /Session store unavailable/);
  assert.equal(server.output().includes("TypeError"), false, "no crash in the log");

  await redis.start();
  await waitUntil("the app to recover", async () => {
    const response = await browser.request("/", { json: true });
    return response.status === 200;
  });
  assert.equal((await browser.visit()).visits >= 2, true, "the session survived the outage");
});

test("SIGTERM closes the Redis connection before the process exits", async (t) => {
  await assertShutdownClosesRedis(t, STEP, redis.url);
});

test("a wrong REDIS_URL ends with a clear message and exit code 1, quickly", async (t) => {
  await assertExitsWithMessage(
    t,
    STEP,
    { REDIS_URL: "redis://127.0.0.1:1" },
    /REDIS_URL is set to redis:\/\/127\.0\.0\.1:1.*no Redis answered/s,
  );
});

test("a hung Redis (frozen): 503 within 3 s, the process lives on, the session goes on", async (t) => {
  await assertHungStoreAnswers503(t, STEP, redis, { env });
});

test("on the page, the key's expiry slides with every visit", async (t) => {
  const client = await redisClientFor(t, redis.url);
  await assertPageVisitsSlideExpiry(t, STEP, { env }, async (id) => {
    return Date.now() + (await client.pTTL(`sess:${id}`));
  });
});

test("Redis refusing writes (maxmemory, noeviction): 503 as JSON or page, nothing lost", async (t) => {
  const server = await startStep(t, STEP, { env });
  const browser = new Browser(server.url);
  await browser.visit();
  const client = await redisClientFor(t, redis.url);
  await client.configSet({ maxmemory: "1", "maxmemory-policy": "noeviction" });
  try {
    for (const json of [true, false]) {
      const response = await browser.request("/", { json });
      assert.equal(response.status, 503, `a refused write must not answer ${response.status}`);
      assert.match(response.headers.get("content-type") ?? "", json ? /json/ : /html/);
      await response.arrayBuffer();
    }
  } finally {
    await client.configSet("maxmemory", "0"); // the other tests share this Redis
  }
  assert.equal((await browser.visit()).visits, 2, "the stored session is intact");
});

test("a signed cookie with an id we never issue never reaches Redis as a key", async (t) => {
  const secret = "a-secret-the-attacker-has-learnt-0123456789";
  const server = await startStep(t, STEP, { env: { ...env, SESSION_SECRET: secret } });
  const client = await redisClientFor(t, redis.url);
  await client.set(
    "sess:planted",
    JSON.stringify({ cookie: { originalMaxAge: 1800000 }, visits: 41 }),
  );
  const browser = new Browser(server.url);
  browser.cookies.set(COOKIE_NAME, signedCookie("planted", secret));
  const visit = await browser.visit();
  assert.equal(visit.visits, 1, "not the planted record: a fresh session");
  assert.notEqual(visit.sessionId, "planted");
});
