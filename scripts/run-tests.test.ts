import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { boundForLoad } from "../lib/services/net.ts";
import { runScript } from "../test/harness/index.ts";

test("npm test says at once that it needs redis-server when there is none", async () => {
  const onlyNode = mkdtempSync(join(tmpdir(), "workshop-path-"));
  symlinkSync(process.execPath, join(onlyNode, "node"));
  after(() => rmSync(onlyNode, { recursive: true, force: true }));
  const started = Date.now();
  const { code, output } = await runScript("scripts/run-tests.ts", [], { PATH: onlyNode });
  assert.equal(code, 1, output);
  assert.match(output, /npm test needs redis-server/);
  assert.match(output, /npm run doctor/);
  const bound = boundForLoad(30_000);
  assert.ok(
    Date.now() - started < bound.ms,
    `it took ${Date.now() - started} ms to say so (${bound.said})`,
  );
});

test("the run ends with a summary per area and the total", async () => {
  const { code, output } = await runScript("scripts/run-tests.ts", ["test/imports.test.ts"]);
  assert.equal(code, 0, output);
  const summary = output.slice(output.lastIndexOf("── summary by area ──"));
  assert.match(summary, /✓ structure\s+\d+ passed/);
  assert.match(summary, /✓ total\s+\d+ passed, 0 failed/);
});

test("a file that dies before its tests report still fails the summary, with its reason", () => {
  const dir = mkdtempSync(join(tmpdir(), "workshop-crash-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const crashing = join(dir, "crash.test.mjs");
  // As the conformance file did once when a server it needed never came up: a top-level await
  // throws before any test is declared.
  writeFileSync(crashing, 'await Promise.reject(new Error("the database never answered"));\n');
  const hook = join(dir, "hook.test.mjs");
  writeFileSync(
    hook,
    'import { before, describe, it } from "node:test";\n' +
      'describe("needs a server", () => { before(() => { throw new Error("no server"); }); it("uses it", () => {}); });\n',
  );
  const reporter = join(import.meta.dirname, "run-tests", "summary-reporter.mjs");
  const { status, stdout } = spawnSync(
    process.execPath,
    ["--test", `--test-reporter=${reporter}`, crashing, hook],
    { encoding: "utf8", env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
  );
  assert.equal(status, 1, stdout);
  assert.match(stdout, /crash\.test\.mjs: the file itself failed/, stdout);
  assert.match(
    stdout,
    /hook\.test\.mjs: "needs a server" failed \(hookFailed: no server\)/,
    stdout,
  );
  assert.match(stdout, /✗ total\s+0 passed, [2-9]\d* failed/, stdout);
});
