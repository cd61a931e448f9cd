import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { freePort } from "../lib/services/net.ts";
import { runScript, usePrivateMongo, usePrivateRedis } from "../test/harness/index.ts";

const redis = await usePrivateRedis();
const mongo = await usePrivateMongo();

// A PATH with node on it and nothing else: no redis-server, no redis-cli, no mongod.
const onlyNode = mkdtempSync(join(tmpdir(), "workshop-path-"));
symlinkSync(process.execPath, join(onlyNode, "node"));
after(() => rmSync(onlyNode, { recursive: true, force: true }));

function doctor(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return runScript("scripts/doctor.ts", [], env);
}

test("doctor: all ✓ and exit 0 when Redis, MongoDB and the port are fine", async () => {
  const { code, output } = await doctor({
    REDIS_URL: redis.url,
    MONGO_URL: mongo.url,
    PORT: String(await freePort()),
  });
  assert.equal(code, 0, output);
  assert.match(output, new RegExp(`✓ Redis answers on ${redis.url}`));
  assert.match(output, /✓ MongoDB answers on/);
  assert.match(output, /Ready for the workshop/);
  assert.match(output, /✓ Every step works on this machine: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10/);
  assert.doesNotMatch(output, /✗/);
});

test("doctor: ✗ with the fix when Redis is unreachable and cannot be started", async () => {
  const { code, output } = await doctor({
    REDIS_URL: "redis://127.0.0.1:1",
    MONGO_URL: mongo.url,
    PORT: String(redis.port), // taken: the private Redis listens there
    PATH: onlyNode,
    REDIS_SENTINELS: "127.0.0.1:1", // no sentinel answers there
  });
  assert.equal(code, 1, output);
  assert.match(output, /✗ Redis does not answer on redis:\/\/127\.0\.0\.1:1/);
  assert.match(output, /fix: Get Redis: Debian\/Ubuntu: `sudo apt install redis-server/);
  assert.match(output, /brew install redis/);
  assert.match(output, /docker run -d --name workshop-redis/);
  assert.match(output, /inside WSL/);
  // Exactly the steps whose services are all there: step 9's sentinels are redis-servers too.
  assert.match(output, /! These steps and their exercises work now: 1, 2, 4, 10 \(npm run step:1/);
  assert.match(
    output,
    /not yet: 3 \(needs Redis\), 5 \(needs Redis\), .*9 \(needs Redis Sentinel\)/m,
  );
  assert.match(output, /✗ redis-cli is missing/);
  assert.match(output, new RegExp(`✗ port ${redis.port} is in use`));
});
