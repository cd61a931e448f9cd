import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { createClient } from "redis";
import { createRedisClient } from "../../steps/shared/redis-client.ts";
import { Browser, usePrivateRedis } from "../harness/index.ts";
import { listen } from "./listen.ts";
import { importTarget } from "./target.ts";

const { createApp } =
  await importTarget<typeof import("../../solutions/03-move-to-redis/app.ts")>("app.ts");

const PREFIX = "workshop:sess:";
const redis = await usePrivateRedis();

/** The exercise's app over a client of its own, as a step's server.ts would build it. */
async function startApp(t: TestContext): Promise<string> {
  const client = createRedisClient(redis.url);
  await client.connect();
  t.after(() => client.close());
  return listen(t, createApp(client));
}

/** A redis-cli of the check's own, to look at what the app stored. */
async function redisCli(t: TestContext) {
  const client = createClient({ url: redis.url });
  await client.connect();
  t.after(() => client.close());
  return client;
}

type RedisCli = Awaited<ReturnType<typeof redisCli>>;

/** The key that holds the session, which must be PREFIX + id; fails with what was found. */
async function sessionKey(cli: RedisCli, sessionId: string): Promise<string> {
  const found: string[] = [];
  for await (const keys of cli.scanIterator({ MATCH: `*${sessionId}*` })) found.push(...keys);
  const expected = PREFIX + sessionId;
  if (found.includes(expected)) return expected;
  assert.fail(
    found.length > 0
      ? `expected the Redis key to start with ${PREFIX}, found ${found.join(", ")}: set the ` +
          `store's prefix to "${PREFIX}"`
      : `after a visit, Redis holds no key for the session ${sessionId}: the sessions still go ` +
          "somewhere else (files?). Use a RedisStore over the client passed to createApp",
  );
}

test(`each session is the Redis key ${PREFIX}<id>`, async (t) => {
  const browser = new Browser(await startApp(t));
  await browser.visit();
  const { sessionId } = await browser.visit();

  const cli = await redisCli(t);
  const stored = JSON.parse((await cli.get(await sessionKey(cli, sessionId))) ?? "{}");
  assert.equal(stored.visits, 2, `the key should hold the session's visits (2): ${stored}`);
});

test("the key's TTL is the cookie's maxAge, 30 minutes", async (t) => {
  const { sessionId } = await new Browser(await startApp(t)).visit();
  const cli = await redisCli(t);
  const key = await sessionKey(cli, sessionId);

  const ttl = await cli.ttl(key);
  assert.notEqual(ttl, -1, `the key ${key} never expires (TTL -1): Redis would keep it for ever`);
  assert.ok(
    ttl > 30 * 60 - 10 && ttl <= 30 * 60,
    `expected the key's TTL to be about 1800 s (the cookie's 30 minutes), found ${ttl} s`,
  );
});

test("the count goes on in a second app over the same Redis (a restart, another process)", async (t) => {
  const browser = new Browser(await startApp(t));
  await browser.visit();
  await browser.visit();

  browser.baseUrl = await startApp(t);
  assert.equal((await browser.visit()).visits, 3, "the second app should find the session");
});

test(`the page says store "redis" and its inspector reads ${PREFIX}<id>`, async (t) => {
  const browser = new Browser(await startApp(t));
  const { sessionId, store } = await browser.visit();
  assert.equal(store, "redis", `GET / says store "${store}", expected "redis" (visitsPage)`);

  const page = await (await browser.request("/", { json: false })).text();
  assert.ok(
    page.includes(`the Redis key ${PREFIX}${sessionId}`),
    `the page's session inspector does not show the key ${PREFIX}${sessionId}: give ` +
      "inspectRedis the same prefix as the store",
  );
});
