/**
 * The exercises keep their promise: for every folder exercises/NN-name (found by folder, so
 * a new exercise is tested without a line added here), the solution passes its check, the
 * untouched starter fails it, and the pieces a learner relies on are there.
 * The checks run exactly as `npm run check` runs them (scripts/check/run-check.ts).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { codeFiles, findExercises } from "../lib/exercises.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { type CheckResult, runCheck } from "../scripts/check/run-check.ts";
import { steps } from "../workshop.ts";

const exercises = findExercises();
const read = (path: string) => readFileSync(join(repoRoot, path), "utf8");

/** Why a check run went the way it did, for an assertion message. */
function explain(result: CheckResult): string {
  const failed = result.cases
    .filter((check) => !check.passed)
    .map((check) => `  ✗ ${check.name}: ${check.message ?? ""}`);
  const problem = result.problem ? [`  problem: ${result.problem}`] : [];
  const output = result.output.trim()
    ? [`  it printed:\n${result.output.trim().slice(-2000)}`]
    : [];
  return [...failed, ...problem, ...output].join("\n");
}

test("the exercises are found by their folders, numbered in order", () => {
  assert.equal(exercises.length, steps.length, "one exercise per step of workshop.ts");
  const numbers = exercises.map((exercise) => exercise.number);
  assert.deepEqual(numbers, [...new Set(numbers)], "two exercises share a number");
});

// Up to 3 checks at a time: each one is a process with its app and often a Redis or MongoDB.
describe("every exercise", { concurrency: 3 }, () => {
  for (const exercise of exercises) {
    test(`${exercise.name}: README, TODOs, a solution with the same files, a check`, () => {
      const starterFiles = codeFiles(exercise.dir);
      assert.ok(
        existsSync(join(repoRoot, exercise.dir, "README.md")),
        "exercises need a README.md",
      );
      assert.ok(starterFiles.length > 0, `${exercise.dir} has no code file`);
      assert.deepEqual(
        codeFiles(exercise.solutionDir),
        starterFiles,
        `${exercise.solutionDir} should hold the same code files as ${exercise.dir}`,
      );
      assert.ok(
        !existsSync(join(repoRoot, exercise.solutionDir, "README.md")),
        "the README.md lives in the exercise only",
      );
      const starter = starterFiles.map((file) => read(join(exercise.dir, file))).join("\n");
      const solution = starterFiles
        .map((file) => read(join(exercise.solutionDir, file)))
        .join("\n");
      assert.match(starter, /\bTODO\b/, "the starter should mark what to do with TODO");
      assert.doesNotMatch(solution, /\bTODO\b/, "the solution should leave no TODO");
      assert.ok(existsSync(join(repoRoot, exercise.checkFile)), `${exercise.checkFile} is missing`);
    });

    test(`${exercise.name}: the solution passes its check`, async () => {
      const result = await runCheck(exercise, "solution");
      assert.ok(result.passed, `${exercise.solutionDir} fails its check:\n${explain(result)}`);
    });

    test(`${exercise.name}: the untouched starter runs and fails its check`, async () => {
      const result = await runCheck(exercise, "exercise");
      assert.ok(!result.passed, `${exercise.dir}, untouched, passes its check: nothing to do?`);
      assert.ok(
        !result.problem && result.cases.some((check) => !check.passed),
        `the starter should load and fail a check, not crash or hang:\n${explain(result)}`,
      );
    });
  }
});
