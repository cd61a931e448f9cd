/**
 * The exercises' own test suite. For every exercise of workshop.ts (exercises/NN-name/):
 *   - the pristine starter/ loads and fails its check, the solution/ passes;
 *   - every wrong answer kept as answers/wrong-<what>.patch fails, with a message that contains
 *     the phrase of its first line ("wrong: <phrase>[ — why]"); every right-<what>.patch
 *     answer passes; one marked "wrong (PostgreSQL): …" fails so on PostgreSQL itself, and
 *     passes where the tests run on the embedded engine (one transaction at a time);
 *   - starter and solution have the same files and the same comments, so that their diff is
 *     code only.
 * An answer is a patch against the starter (scripts/answers.ts makes and saves them); it is
 * checked as a copy of the starter with the patch applied, in .workshop/answers/NN-name--what/
 * (three folders deep, like exercises/NN-name/yours, so that its imports resolve the same way).
 * Everything runs in one check runner (scripts/check/run-check.ts), as `npm run check` does.
 * It never looks at yours/: a learner's half-done work does not make this fail.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { codeFiles, findExercises } from "../lib/exercises.ts";
import { privateEngine } from "../lib/services/postgres.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { type KeptAnswer, keptAnswers, scratchDir, writeAnswer } from "../scripts/answers.ts";
import { type CheckResult, type CheckTarget, runChecks } from "../scripts/check/run-check.ts";
import { steps } from "../workshop.ts";

const exercises = findExercises();
const read = (path: string) => readFileSync(join(repoRoot, path), "utf8");

interface Answer extends KeptAnswer {
  /** The copy that is checked. */
  dir: string;
  /** Why there is no copy: its patch no longer applies. */
  problem?: string;
}

/** ANSWER applied to a fresh copy of its starter. */
function copyOf(answer: KeptAnswer): Answer {
  const dir = scratchDir(`${answer.exercise.name}--${answer.name}`);
  try {
    writeAnswer(answer.exercise, dir, answer.patch);
    return { ...answer, dir };
  } catch (error) {
    return { ...answer, dir, problem: error instanceof Error ? error.message : String(error) };
  }
}

/** Why a check run went the way it did, for an assertion message. */
function explain(result: CheckResult | undefined, again = true): string {
  if (!result) return "  (not run)";
  const lines = result.cases.map(
    (check) =>
      `  ${check.passed ? "✓" : "✗"} ${check.name}${check.message ? `: ${check.message}` : ""}`,
  );
  if (result.problem) lines.push(`  problem: ${result.problem}`);
  if (result.output.trim()) lines.push(`  it printed:\n${result.output.trim().slice(-1500)}`);
  const first = again ? firstRuns.get(result.dir) : undefined;
  if (first)
    lines.push(`  that was its second run, alone; the first said:\n${explain(first, false)}`);
  return lines.join("\n");
}

/**
 * The lines that say something, trimmed: no comments, imports, blank lines or lone brackets,
 * so that what a solution shares with a step's file is code a learner could copy.
 */
function codeLines(text: string): string[] {
  let inComment = false;
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => {
      if (inComment) {
        inComment = !line.includes("*/");
        return false;
      }
      if (line.startsWith("/*")) {
        inComment = !line.includes("*/");
        return false;
      }
      return (
        line.length > 3 &&
        !line.startsWith("//") &&
        !line.startsWith("import ") &&
        !line.startsWith("} from ") &&
        !/^[\s})\];,]*$/.test(line)
      );
    });
}

/** Comment lines (line comments, block comments and JSDoc), trimmed, in order. */
function commentsOf(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .flatMap((line) => {
      const inline = line.indexOf("// ");
      if (line.startsWith("/*") || line.startsWith("*")) return [line];
      return inline >= 0 ? [line.slice(inline)] : [];
    });
}

const answers = exercises.flatMap(keptAnswers).map(copyOf);
const targets: CheckTarget[] = [
  ...exercises.flatMap((exercise) => [
    { exercise, dir: exercise.starterDir },
    { exercise, dir: exercise.solutionDir },
  ]),
  // A wrong answer's cases stop once its phrase is said: the rest cannot make it pass.
  ...answers
    .filter((answer) => !answer.problem)
    .map(({ exercise, dir, kind, why }) => ({
      exercise,
      dir,
      until: kind === "wrong" ? why : undefined,
    })),
];
// One runner for everything: each folder gets its own Redis, MongoDB is started once.
const results = new Map<string, CheckResult>();
/** What a folder's first run said, when it went against expectation and was run again alone. */
const firstRuns = new Map<string, CheckResult>();
const ran = runChecks(targets, { concurrency: 4 }).then(async (all) => {
  for (const result of all) results.set(result.dir, result);
  // Some 500 folders, four at a time in one process, beside the other test files: a rare result
  // against expectation may be the crowd's doing, not the check's (CI once saw a wrong answer
  // fail for another reason; 20 runs here, loaded or not, never did). Such a folder runs once
  // more, alone; its test fails if that run is wrong too, and says what the first run said
  // either way. More than three at once are a broken check: no rerun.
  const pglite = (await privateEngine()) === "pglite";
  const doubtful = all.filter((result) => !asExpected(result, pglite));
  if (doubtful.length === 0 || doubtful.length > 3) return;
  const again = targets.filter((target) => doubtful.some((result) => result.dir === target.dir));
  for (const result of await runChecks(again, { concurrency: 1 })) {
    firstRuns.set(result.dir, results.get(result.dir) as CheckResult);
    results.set(result.dir, result);
  }
});

/** Whether RESULT is what its folder should get (the tests below say it in full). */
function asExpected(result: CheckResult, pglite: boolean): boolean {
  const { exercise, dir } = result;
  if (dir === exercise.starterDir) return !result.passed && !result.problem;
  if (dir === exercise.solutionDir) return result.passed;
  const answer = answers.find((a) => a.dir === dir);
  if (!answer || answer.kind === "right" || (answer.postgresOnly && pglite)) return result.passed;
  return !result.passed && said(result).includes(answer.why ?? "");
}

/** Everything a check run said, for a wrong answer's phrase. */
const said = (result: CheckResult) =>
  [result.problem ?? "", ...result.cases.map((check) => check.message ?? "")].join("\n");

test("one exercise per step of workshop.ts, in order", () => {
  assert.deepEqual(
    exercises.map((exercise) => exercise.name),
    steps.map((step) => step.exercise),
  );
});

for (const exercise of exercises) {
  describe(`exercise ${exercise.name}`, () => {
    test("starter and solution: the same files; the same comments", () => {
      const files = codeFiles(exercise.starterDir);
      assert.ok(files.length > 0, `${exercise.starterDir} has no code file`);
      assert.deepEqual(codeFiles(exercise.solutionDir), files, `${exercise.solutionDir}'s files`);
      const starter = files.map((file) => read(join(exercise.starterDir, file))).join("\n");
      assert.match(starter, /\bTODO\b/, "the starter should mark what to do with TODO");
      for (const file of files) {
        assert.deepEqual(
          commentsOf(read(join(exercise.solutionDir, file))),
          commentsOf(read(join(exercise.starterDir, file))),
          `${file}: the starter's and the solution's comments differ, so their diff is not code only`,
        );
      }
    });

    test("server.ts is the same in starter and solution; no solution file is a step's file", () => {
      if (existsSync(join(repoRoot, exercise.starterDir, "server.ts"))) {
        assert.equal(
          read(join(exercise.solutionDir, "server.ts")),
          read(join(exercise.starterDir, "server.ts")),
          "server.ts only runs the exercise: it must be the same in the starter and the solution",
        );
      }
      const stepFiles = readdirSync(join(repoRoot, "steps"), { recursive: true, encoding: "utf8" })
        .filter((file) => file.endsWith(".ts"))
        .map((file) => read(join("steps", file)));
      for (const file of codeFiles(exercise.solutionDir).filter((f) => f !== "server.ts")) {
        const text = read(join(exercise.solutionDir, file));
        assert.ok(
          !stepFiles.includes(text) && !/^export \{[^}]*\} from "(\.\.\/)+steps\//m.test(text),
          `${exercise.solutionDir}/${file} is a step's code: the exercise needs a decision of its own`,
        );
      }
    });

    test("the solution is a decision of its own: at most a third of what it adds is in a step", () => {
      const stepFiles = readdirSync(join(repoRoot, "steps"), { recursive: true, encoding: "utf8" })
        .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
        .map((file) => ({ file, lines: new Set(codeLines(read(join("steps", file)))) }));
      for (const file of codeFiles(exercise.solutionDir).filter((f) => f !== "server.ts")) {
        const solution = codeLines(read(join(exercise.solutionDir, file)));
        const starter = new Set(codeLines(read(join(exercise.starterDir, file))));
        const added = solution.filter((line) => !starter.has(line));
        for (const step of stepFiles) {
          const shared = (lines: string[]) =>
            lines.filter((line) => step.lines.has(line)).length / Math.max(1, lines.length);
          // The learner's own lines, and the file as a whole (a starter that is a step's file
          // with a hole in it is a copy too).
          assert.ok(
            shared(added) <= 1 / 3 && shared(solution) <= 1 / 2,
            `${exercise.solutionDir}/${file} shares ${Math.round(shared(added) * 100)}% of the lines it adds to the starter and ${Math.round(shared(solution) * 100)}% of all its code lines with steps/${step.file}: the exercise should be a decision the steps do not already show`,
          );
        }
      }
    });

    test("the pristine starter loads and fails its check", async () => {
      await ran;
      const result = results.get(exercise.starterDir);
      assert.ok(result && !result.passed, `the untouched starter passes:\n${explain(result)}`);
      assert.ok(
        !result.problem && result.cases.some((check) => !check.passed),
        `the starter should load and fail a case, not crash:\n${explain(result)}`,
      );
    });

    test("the solution passes its check", async () => {
      await ran;
      const result = results.get(exercise.solutionDir);
      assert.ok(result?.passed, `${exercise.solutionDir} fails:\n${explain(result)}`);
    });

    const own = answers.filter((answer) => answer.exercise === exercise);
    test("at least 12 wrong answers and 3 right ones are kept", () => {
      assert.ok(own.filter((a) => a.kind === "wrong").length >= 12, "fewer than 12 wrong answers");
      assert.ok(own.filter((a) => a.kind === "right").length >= 3, "fewer than 3 right answers");
    });
    for (const answer of own) {
      test(`${answer.name} ${answer.kind === "wrong" ? "fails, saying why" : "passes"}`, async (t) => {
        assert.ok(!answer.problem, answer.problem);
        await ran;
        const result = results.get(answer.dir);
        if (result && firstRuns.has(result.dir)) t.diagnostic(explain(result));
        // Two transactions at once, on an engine that runs one at a time: nothing to get wrong.
        const rightHere = answer.postgresOnly && (await privateEngine()) === "pglite";
        if (answer.kind === "right" || rightHere) {
          if (!rightHere)
            assert.match(
              answer.summary,
              /^right: \S/,
              `${answer.patch}: its first line is "right: <what>"`,
            );
          assert.ok(
            result?.passed,
            `${rightHere ? "a wrong answer for PostgreSQL only fails on the embedded engine" : "a right answer fails"}:\n${explain(result)}`,
          );
          return;
        }
        assert.ok(answer.why, `${answer.patch}: its first line is "wrong: <phrase>[ — why]"`);
        assert.ok(result && !result.passed, `a wrong answer passes:\n${explain(result)}`);
        assert.ok(
          said(result).includes(answer.why),
          `it fails, but no message says "${answer.why}":\n${explain(result)}`,
        );
      });
    }
  });
}
