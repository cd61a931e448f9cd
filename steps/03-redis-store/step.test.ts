import assert from "node:assert/strict";
import { test } from "node:test";
import { boundForLoad, waitUntil } from "../../lib/services/net.ts";
import {
  assertExitsWithMessage,
  assertForeignCookiesStartFresh,
  assertSessionKeyFollowsCookie,
  assertSessionsSurviveRestart,
  assertShutdownClosesRedis,
  Browser,
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

  const bound = boundForLoad(5000);
  const started = Date.now();
  const json = await browser.request("/", { json: true });
  assert.equal(json.status, 503);
  const ms = Date.now() - started;
  assert.ok(ms < bound.ms, `the 503 took ${ms} ms (${bound.said})`);
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
