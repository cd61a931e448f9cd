import assert from "node:assert/strict";
import { test } from "node:test";
import {
  assertHungStoreAnswers503,
  assertPageVisitsSlideExpiry,
  Browser,
  redisClientFor,
  startStep,
  usePrivateRedis,
} from "../../test/harness/index.ts";

// Hardening: what attacking and faulting this step once broke, kept fixed.
const STEP = "03-redis-store";
const redis = await usePrivateRedis();
const env = { REDIS_URL: redis.url };

test("a hung Redis (frozen): 503 within 3 s, the process lives on, the session goes on", async (t) => {
  await assertHungStoreAnswers503(t, STEP, redis, { env });
});

test("on the page, the stored expiry slides with every visit", async (t) => {
  const client = await redisClientFor(t, redis.url);
  // cookie.expires in the stored value: what the next write computes the key's TTL from.
  await assertPageVisitsSlideExpiry(t, STEP, { env }, async (id) => {
    return Date.parse(JSON.parse((await client.get(`sess:${id}`)) ?? "{}").cookie.expires);
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
