/**
 * `npm run check` type-checks the learner's files beside the checks (scripts/check/typecheck.ts):
 * an error in them is reported as file:line, and a folder is remembered as clean only while its
 * files stay as they were.
 */
import assert from "node:assert/strict";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { findExercise } from "../../lib/exercises.ts";
import { repoRoot } from "../../lib/services/workshop-dir.ts";
import { scratchDir } from "../../scripts/answers.ts";
import { typecheck } from "../../scripts/check/typecheck.ts";

const exercise = findExercise("1");
const dir = scratchDir(`${exercise.name}--typecheck-test`);
const app = join(repoRoot, dir, "app.ts");

test("a clean folder is remembered until a file changes; then a type error is found, with its line", async (t) => {
  t.after(() => rmSync(join(repoRoot, dir), { recursive: true, force: true }));
  cpSync(join(repoRoot, exercise.solutionDir), join(repoRoot, dir), { recursive: true });
  const remembered = () =>
    Object.hasOwn(
      JSON.parse(readFileSync(join(repoRoot, ".workshop", "typecheck.json"), "utf8")) as object,
      dir,
    );
  assert.deepEqual((await typecheck([dir])).get(dir), [], "the solution's copy has no error");
  assert.ok(remembered(), "a clean folder is remembered (by the hash of its files)");

  // Changed: checked again, not taken from what was remembered.
  const clean = readFileSync(app, "utf8");
  writeFileSync(app, `${clean}\nexport const visits: number = "three";\n`);
  const line = clean.split("\n").length + 1;
  const found = (await typecheck([dir])).get(dir) ?? [];
  assert.equal(found.length, 1, `one error, not:\n${found.join("\n")}`);
  assert.match(
    found[0] ?? "",
    new RegExp(`^${dir}/app\\.ts:${line}: Type 'string' is not assignable to type 'number'`),
  );
  assert.ok(!remembered(), "a folder with an error is not remembered as clean");
});
