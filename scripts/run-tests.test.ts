import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
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
  assert.ok(Date.now() - started < 30_000, `it took ${Date.now() - started} ms to say so`);
});

test("the run ends with a summary per area and the total", async () => {
  const { code, output } = await runScript("scripts/run-tests.ts", ["test/imports.test.ts"]);
  assert.equal(code, 0, output);
  const summary = output.slice(output.lastIndexOf("── summary by area ──"));
  assert.match(summary, /✓ structure\s+\d+ passed/);
  assert.match(summary, /✓ total\s+\d+ passed, 0 failed/);
});
