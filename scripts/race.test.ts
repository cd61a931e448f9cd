import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript, startStep, usePrivateRedis } from "../test/harness/index.ts";

const redis = await usePrivateRedis();

test("npm run race against step 08: the exact counter counts every request, the naive one loses", async (t) => {
  const step = await startStep(t, "08-concurrent-requests", { env: { REDIS_URL: redis.url } });
  const { code, output } = await runScript("scripts/race.ts", [
    "--url",
    step.url,
    "--step",
    "8",
    "--requests",
    "20",
    "--think",
    "300",
  ]);
  assert.equal(code, 0, output);
  assert.match(output, /08-concurrent-requests: 20 requests at once with one cookie/);
  assert.match(output, /exact counter\s+20 of 20\n/);
  assert.match(output, /naive counter\s+\d+ of 20 {2}\(\d+ lost\)/);
});

test("npm run race against step 01: the session counter, and a wrong --step is refused", async (t) => {
  const step = await startStep(t, "01-memory-store");
  const { code, output } = await runScript("scripts/race.ts", ["--url", step.url]);
  assert.equal(code, 0, output);
  assert.match(output, /session counter\s+\d+ of 20/);
  assert.match(output, /step 08 adds an exact counter/);

  const wrong = await runScript("scripts/race.ts", ["--url", step.url, "--step", "3"]);
  assert.equal(wrong.code, 1, wrong.output);
  assert.match(wrong.output, /Step 03-redis-store was asked for, but step 01-memory-store answers/);
});
