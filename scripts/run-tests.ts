/**
 * Runs every *.test.ts of the workshop with Node's own test runner (Node 24 runs the TypeScript
 * itself; Node 20 through lib/node20-typescript.mjs).
 * `npm run test:only -- steps/03` runs only the files whose path contains "steps/03".
 * It says at once when redis-server is missing (most tests start private ones), and ends with
 * a summary per area (steps, exercises, slides, walkthroughs, conformance, structure).
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { typeScript } from "../lib/run-script.ts";
import { machineLoad, which } from "../lib/services/net.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";

const SEARCHED = ["steps", "test", "scripts"];
const filters = process.argv.slice(2);

/**
 * The files that take longest start first: started last, one of them would run alone at the
 * end while a core waits (measured: the exercises' test takes about two minutes, the failover
 * step one, every other file less).
 */
const LONGEST = ["test/exercises.test.ts", "steps/09-failover/step.test.ts"];
const startsFirst = (file: string) => Number(LONGEST.includes(file));

const files = SEARCHED.flatMap((folder) =>
  readdirSync(join(repoRoot, folder), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".test.ts") && !file.includes("node_modules"))
    .map((file) => join(folder, file)),
)
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort((a, b) => startsFirst(b) - startsFirst(a) || a.localeCompare(b));

if (files.length === 0) {
  console.error(`No test file matches ${filters.join(", ")}`);
  process.exit(1);
}

// Preflight: the tests start redis-server on free ports of their own (never your Redis), so
// without it most of them cannot run. Say so now, not after minutes of failures.
if (!(await which("redis-server"))) {
  console.error(
    "npm test needs redis-server: the tests start private ones on free ports, with their own " +
      "folders, and never touch another Redis. Install it (Debian/Ubuntu: `sudo apt install " +
      "redis-server redis-tools`, macOS: `brew install redis`, Windows: inside WSL). Without " +
      "it, `npm run doctor` says which steps work now, and `npm run check -- 1` (2, 4) checks " +
      "the exercises that need no Redis.",
  );
  process.exit(1);
}

// Files at once: one per core, and one more: most tests wait on servers and timers, and with
// one file per core a quiet 2-core machine stayed 29% idle (measured: 311 s with two files at
// once, 273 s with three, the same CPU). The load at the start and the end says whether a slow
// run was a busy machine.
const concurrency = availableParallelism() + 1;
console.log(`npm test: ${files.length} files, ${concurrency} at a time; ${machineLoad()}`);
const result = spawnSync(
  process.execPath,
  [
    ...typeScript,
    "--test",
    `--test-concurrency=${concurrency}`,
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=./scripts/run-tests/summary-reporter.mjs",
    "--test-reporter-destination=stdout",
    ...files,
  ],
  // NODE_TEST_CONTEXT left out: when a test runs this script, it is a run of its own.
  { cwd: repoRoot, stdio: "inherit", env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
);
console.log(`npm test ended; ${machineLoad()}`);
process.exit(result.status ?? 1);
