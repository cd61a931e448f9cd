/**
 * The check runner (test/checks/run.ts) keeps one failure one failure: a case that never
 * finishes fails once, and the cases after it are not run in its shadow (they would fail with
 * its leftovers: closed clients, a Redis it still holds).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { LINE_PREFIX, type ReportLine } from "../../scripts/check/protocol.ts";
import { runScript } from "../harness/index.ts";

const EXERCISE = "01-reset-and-greet";

test("a case that never finishes is one failure, and the cases after it do not run", async () => {
  // The solution itself, with every case's time limit cut to almost nothing: the first case
  // cannot finish in time, whatever it does.
  const dir = join("exercises", EXERCISE, "solution");
  const run = await runScript("test/checks/run.ts", ["--target", `${EXERCISE}=${dir}`], {
    CHECK_TIMEOUT_SCALE: "0.0001",
  });
  const lines = run.output
    .split("\n")
    .filter((line) => line.startsWith(LINE_PREFIX))
    .map((line) => JSON.parse(line.slice(LINE_PREFIX.length)) as ReportLine);
  const cases = lines.filter((line) => line.kind === "case");
  assert.equal(cases.length, 1, `one case ran, not ${cases.length}:\n${run.output}`);
  assert.equal(cases[0]?.passed, false);
  assert.match(cases[0]?.message ?? "", /did not finish within .* s: .*\[load /);
  assert.ok(
    lines.some((line) => line.kind === "output" && /more checks not run/.test(line.text)),
    "it says the others were not run",
  );
  assert.ok(
    lines.some((line) => line.kind === "done"),
    "the runner finished the folder",
  );
});
