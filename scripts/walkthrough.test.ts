import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { test } from "node:test";
import type { PrivateSentinels } from "../lib/services/redis-sentinel.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import {
  runScript,
  type StepProcess,
  startStep,
  usePrivatePostgres,
  usePrivateRedis,
  usePrivateSentinels,
} from "../test/harness/index.ts";
import { stepNumbered, steps } from "../workshop.ts";
import { checkOutput } from "./walkthrough/expect.ts";
import { runWalkthrough } from "./walkthrough/run.ts";
import { findWalkthroughs, loadWalkthrough } from "./walkthrough.ts";

const [redis, postgres] = await Promise.all([usePrivateRedis(), usePrivatePostgres()]);
/** Step 09's primary, replica and sentinels, started only when a walkthrough needs them. */
let sentinelSet: Promise<PrivateSentinels> | undefined;
const sentinels = () => {
  sentinelSet ??= usePrivateSentinels();
  return sentinelSet;
};
/** What step 09 needs to find the sentinels. */
async function sentinelEnv(): Promise<Record<string, string>> {
  const set = await sentinels();
  return {
    REDIS_SENTINELS: set.sentinels.map(({ host, port }) => `${host}:${port}`).join(","),
    REDIS_SENTINEL_MASTER: set.masterName,
  };
}

test("every walkthrough replays against a Redis filled by its step", async (t) => {
  const files = findWalkthroughs([]);
  assert.ok(
    files.length === steps.flatMap((s) => s.walkthroughs).length,
    `expected one file per walkthrough of workshop.ts, found ${files.length}`,
  );
  // One process per step, shared by the walkthroughs that need it, stopped at the end.
  const running = new Map<string, Promise<StepProcess>>();

  for (const file of files) {
    await t.test(basename(file), async () => {
      const walkthrough = loadWalkthrough(file);
      for (const action of walkthrough.actions) {
        if (action.kind !== "say" && action.kind !== "port") {
          assert.ok(action.expected.length > 0, `line ${action.line}: a command without "# =>"`);
        }
      }
      let stepUrl = "http://127.0.0.1:1"; // nothing: a walkthrough without @step sends no request
      if (walkthrough.step) {
        const server = join("steps", walkthrough.step, "server.ts");
        assert.ok(
          existsSync(join(repoRoot, server)),
          `${basename(file)} replays against step ${walkthrough.step}, but ${server} does not ` +
            "exist (yet). The walkthrough cannot be checked until that step is written.",
        );
        let step = running.get(walkthrough.step);
        if (!step) {
          step = startStep(t, walkthrough.step, {
            env: {
              REDIS_URL: redis.url,
              DATABASE_URL: postgres.url,
              ...(walkthrough.redis === "sentinel" ? await sentinelEnv() : {}),
            },
          });
          running.set(walkthrough.step, step);
        }
        stepUrl = (await step).url;
      }
      const redisUrl =
        walkthrough.redis === "sentinel"
          ? `redis://127.0.0.1:${(await sentinels()).sentinels[0]?.port}`
          : redis.url;

      const transcript: string[] = [];
      const result = await runWalkthrough(walkthrough, {
        redisUrl,
        stepUrl,
        postgresUrl: postgres.url,
        print: (line) => transcript.push(line),
      });
      assert.ok(result.commands > 0);
      assert.deepEqual(
        result.failures,
        [],
        `${basename(file)} did not replay as written. Its transcript:\n${transcript.join("\n")}`,
      );
    });
  }
});

/** Runs `npm run walkthrough -- ARGS` (without npm) against the private Redis, piped. */
function walkthroughCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  return runScript("scripts/walkthrough.ts", args, {
    REDIS_URL: redis.url,
    DATABASE_URL: postgres.url,
    ...env,
  });
}

test("with step 3 running, all walkthroughs: those of step 3 replay, the others are skipped and say why", async (t) => {
  const step3 = await startStep(t, "03-redis-store", { env: { REDIS_URL: redis.url } });
  const { code, output } = await walkthroughCli([], { STEP_URL: step3.url });
  assert.equal(code, 0, output);
  const ofStep3 = stepNumbered(3)?.walkthroughs ?? [];
  assert.ok(ofStep3.length > 0, "workshop.ts lists no walkthrough of step 3");
  for (const name of ofStep3) {
    assert.match(output, new RegExp(`== ${name}: \\d+ commands, all as expected`));
  }
  assert.match(
    output,
    /05-login-logout: needs step 05-login-logout, but step 03-redis-store runs on .*npm run step:5/,
  );
  assert.doesNotMatch(output, /never captured/);

  // Asked for by name, a walkthrough of another step fails with one message.
  const named = await walkthroughCli(["05"], { STEP_URL: step3.url });
  assert.equal(named.code, 1, named.output);
  assert.match(named.output, /needs step 05-login-logout, but step 03-redis-store runs/);
});

test("with step 10 running, only PostgreSQL is asked for: no Redis is found or started", async (t) => {
  const step10 = await startStep(t, "10-postgres-store", { env: { DATABASE_URL: postgres.url } });
  // Nothing answers at REDIS_URL: looking for Redis at all would end the run with its error.
  const { code, output } = await walkthroughCli([], {
    STEP_URL: step10.url,
    REDIS_URL: "redis://127.0.0.1:1",
  });
  assert.equal(code, 0, output);
  assert.match(output, /== 10-postgres-store \(no Redis, with step 10-postgres-store at /);
  assert.match(output, /== 10-postgres-store: \d+ commands, all as expected/);
  assert.match(output, /^1 walkthrough replayed\.$/m);
  assert.match(output, /02-expiry: belongs to step 3, not to step 10-postgres-store/);
  assert.doesNotMatch(output, /REDIS_URL/);
});

test("nothing running: walkthroughs that need a step say how to start it", async () => {
  const { code, output } = await walkthroughCli([], { STEP_URL: "http://127.0.0.1:1" });
  assert.equal(code, 0, output);
  assert.match(output, /== 02-expiry: \d+ commands, all as expected/);
  assert.match(
    output,
    /01-first-look: needs step 03-redis-store; nothing answers on .*npm run step:3/,
  );
});

test("a command that should capture a value and does not stops the walkthrough at once", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "walkthrough-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "cascade.redis");
  writeFileSync(
    file,
    'ECHO "abc"\n# => "id-<int as $ID>"\nGET sess:$ID\n# => (nil)\nTTL sess:$ID\n# => (integer) -2\n',
  );
  const { code, output } = await walkthroughCli([file]);
  assert.equal(code, 1, output);
  assert.match(output, /stopping here/);
  assert.doesNotMatch(output, /never captured/);
  assert.doesNotMatch(output, /redis> GET/);
});

test("without a terminal the CLI runs straight through, printing the real output", async () => {
  const { code, output } = await walkthroughCli(["02"]);
  assert.equal(code, 0, output);
  assert.match(output, /redis> SET demo:greeting "hello" EX 60\nOK\n/);
  assert.match(output, /redis> TTL demo:nothing-here\n\(integer\) -2\n/);
  assert.match(output, /02-expiry: \d+ commands, all as expected/);
});

test("an output that differs from the walkthrough fails, and says where", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "walkthrough-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "wrong.redis");
  writeFileSync(
    file,
    "# Redis answers PONG, not PANG\nPING\n# => PANG\nDBSIZE\n# => (integer) <int>\n",
  );

  const { code, output } = await walkthroughCli([file]);
  assert.equal(code, 1, output);
  assert.match(output, /redis> PING\nPONG\n✗ expected a line like: PANG\n\s+got:\s+PONG/);
  assert.match(output, /wrong: 1 of 2 commands did not answer as expected/);
});

test("an unknown walkthrough name lists the ones there are", () => {
  assert.throws(() => findWalkthroughs(["no-such-thing"]), /There are: 01-first-look, 02-expiry/);
});

test("expected lines: placeholders, ranges, captures, regexes and ...", () => {
  const none = new Map<string, string>();
  const ok = (expected: string[], actual: string[], variables = none) =>
    checkOutput(expected, actual, variables).ok;

  assert.ok(ok(["(integer) <int>"], ["(integer) -2"]));
  assert.ok(ok(["(integer) <int 1700..1800>"], ["(integer) 1799"]));
  assert.ok(!ok(["(integer) <int 1700..1800>"], ["(integer) 120"]), "out of range");
  assert.ok(!ok(["OK"], ["OK", "more"]), "an extra line fails");
  assert.ok(!ok(["OK", "more"], ["OK"]), "a missing line fails");
  assert.ok(ok(["# Memory", "...", "maxmemory:<int>", "..."], ["# Memory", "a:1", "maxmemory:0"]));
  assert.ok(ok(['/2\\) "(yes|no)"/'], ['2) "no"']));
  assert.ok(ok(['"sess:$ID"'], ['"sess:abc"'], new Map([["ID", "abc"]])));
  assert.ok(!ok(['"sess:$ID"'], ['"sess:abd"'], new Map([["ID", "abc"]])));
  assert.ok(ok(["anything"], ["something else"]) === false);
  assert.ok(ok([], ["whatever", "it prints"]), "no expectation accepts any output");

  // redis-cli pads list indexes once a list has 10 items or more.
  assert.ok(ok(['2) 1) "sess:<id>"'], ['2)  1) "sess:Ab"']), "padded index");
  assert.ok(ok(['1) "a"', "..."], [' 1) "a"', '10) "b"']), "padded index");

  const verdict = checkOutput(['2) 1) "sess:<id as $ID>"'], ['   2) 1) "sess:Ab-9_x"'], none);
  assert.deepEqual(verdict, { ok: true, captured: new Map([["ID", "Ab-9_x"]]) });
});

test("npm run sql prints a query's answer as psql does, and an error with exit code 1", async () => {
  const env = { DATABASE_URL: postgres.url };
  const answer = await runScript("scripts/sql.ts", ["SELECT 42 AS answer, 'ada' AS name"], env);
  assert.equal(answer.code, 0, answer.output);
  assert.match(
    answer.output,
    / answer \| name\n-{8}\+-{6}\n {5}42 \| ada\n\(1 row\)\n/,
    "numbers right-aligned, text left, a row count",
  );
  const wrong = await runScript("scripts/sql.ts", ["SELECT nope"], env);
  assert.equal(wrong.code, 1);
  assert.match(wrong.output, /ERROR: {2}column "nope" does not exist/);
});
