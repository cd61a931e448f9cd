/**
 * `npm run check` type-checks the learner's files beside the checks (scripts/check/typecheck.ts):
 * an error in them is reported as file:line, an error elsewhere is not theirs, and a folder is
 * remembered as clean only while its files stay as they were.
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

test("a type error in the learner's file is found, with its line; fixed, the folder is clean", async (t) => {
  t.after(() => rmSync(join(repoRoot, dir), { recursive: true, force: true }));
  cpSync(join(repoRoot, exercise.solutionDir), join(repoRoot, dir), { recursive: true });
  const clean = readFileSync(app, "utf8");
  writeFileSync(app, `${clean}\nexport const visits: number = "three";\n`);
  const line = clean.split("\n").length + 1;

  const found = (await typecheck([dir])).get(dir) ?? [];
  assert.equal(found.length, 1, `one error, not:\n${found.join("\n")}`);
  assert.match(
    found[0] ?? "",
    new RegExp(`^${dir}/app\\.ts:${line}: Type 'string' is not assignable to type 'number'`),
  );

  writeFileSync(app, clean);
  assert.deepEqual((await typecheck([dir])).get(dir), [], "the fixed copy has no error");
  // Remembered as clean (by the hash of its files), until a file changes.
  const remembered = () =>
    Object.hasOwn(
      JSON.parse(readFileSync(join(repoRoot, ".workshop", "typecheck.json"), "utf8")) as object,
      dir,
    );
  assert.ok(remembered(), "a clean folder is remembered");
  // Changed again, it is checked again, not taken from what was remembered.
  writeFileSync(app, `${clean}\nexport const visits: number = "four";\n`);
  assert.equal((await typecheck([dir])).get(dir)?.length, 1, "a changed file is checked again");
  assert.ok(!remembered(), "a folder with an error is not remembered as clean");
});
