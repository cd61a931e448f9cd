import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { Browser } from "../../lib/browser.ts";
import { boundForLoad } from "../../lib/services/net.ts";
import { redisClient } from "../../lib/services/redis.ts";
import { startStep } from "../../lib/step-process.ts";

/**
 * A node-redis client for a test to look inside Redis (GET, TTL, CLIENT LIST, CONFIG SET…),
 * closed when the test (or, given node:test's `after`, the file) ends. The one way tests and
 * the harness open a connection of their own to Redis.
 */
export async function redisClientFor(t: { after(cleanup: () => unknown): void }, url: string) {
  const client = redisClient({ url });
  client.on("error", () => {}); // a test that stops Redis reports that itself
  await client.connect();
  t.after(() => (client.isOpen ? client.close() : undefined));
  return client;
}

/**
 * For a step that keeps sessions in Redis: one visit makes the key PREFIX<id>, holding the
 * session as JSON, with a TTL of about cookie.maxAge.
 */
export async function assertSessionKeyFollowsCookie(
  t: TestContext,
  step: string,
  redisUrl: string,
  prefix = "sess:",
): Promise<void> {
  const server = await startStep(t, step, { env: { REDIS_URL: redisUrl } });
  const { sessionId } = await new Browser(server.url).visit();
  const client = await redisClientFor(t, redisUrl);

  const key = prefix + sessionId;
  const stored = JSON.parse((await client.get(key)) ?? "null");
  assert.ok(stored, `the key ${key} should exist`);
  assert.equal(stored.visits, 1);
  const maxAgeSeconds = stored.cookie.originalMaxAge / 1000;
  const ttl = await client.ttl(key);
  assert.ok(
    // connect-redis rounds up the seconds left until cookie.expires
    ttl > maxAgeSeconds - 10 && ttl <= Math.ceil(maxAgeSeconds),
    `TTL ${ttl} s should be about cookie.maxAge (${maxAgeSeconds} s)`,
  );
}

/**
 * SIGTERM: the step closes its Redis connection, then exits 0, quickly. Connections are told
 * apart by their id: a process killed by an earlier test may still hold one for a moment.
 */
export async function assertShutdownClosesRedis(
  t: TestContext,
  step: string,
  redisUrl: string,
): Promise<void> {
  const client = await redisClientFor(t, redisUrl);
  const connectionIds = async () => new Set((await client.clientList()).map(({ id }) => id));
  const before = await connectionIds();

  const server = await startStep(t, step, { env: { REDIS_URL: redisUrl } });
  await new Browser(server.url).visit();
  const opened = [...(await connectionIds())].filter((id) => !before.has(id));
  assert.equal(opened.length, 1, "the step holds one connection");

  const { code, ms } = await server.stop("SIGTERM");
  assert.equal(code, 0);
  const bound = boundForLoad(3000);
  assert.ok(ms < bound.ms, `shutdown took ${ms} ms (${bound.said})`);
  assert.equal((await connectionIds()).has(opened[0] ?? -1), false, "its connection is closed");
}
