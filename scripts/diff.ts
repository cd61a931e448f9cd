/**
 * Shows what changed in your copy of an exercise, exercises/NN-name/yours/.
 *   npm run diff -- N             your changes to exercise N, against its pristine starter/
 *   npm run diff -- N --solution  your exercise N against its solution/
 * Uses git's own diff, coloured on a terminal.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { codeFiles, type Exercise, findExercise, makeWorkingCopies } from "../lib/exercises.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";

const USAGE = `Usage: npm run diff -- N [--solution]
  npm run diff -- N             your changes to exercise N since its starter (NN-name/starter)
  npm run diff -- N --solution  your exercise N against its solution`;

const color = process.stdout.isTTY && !process.env.NO_COLOR ? "always" : "never";

/** Runs git; its output goes straight to the terminal unless `capture`. */
function git(args: string[], capture = false) {
  const result = spawnSync("git", ["--no-pager", ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    stdio: capture ? "pipe" : "inherit",
  });
  if (result.error) {
    console.error(`npm run diff needs git, which did not run: ${result.error.message}`);
    process.exit(2);
  }
  return { status: result.status ?? 1, stdout: result.stdout ?? "" };
}

/** Your changes since the starter: yours/ against the pristine starter/ beside it. */
function againstStarter(exercise: Exercise): number {
  const files = [...new Set([...codeFiles(exercise.dir), ...codeFiles(exercise.starterDir)])];
  console.log(`Your changes to ${exercise.dir} since the starter (- starter, + yours):\n`);
  let same = true;
  for (const file of files.sort()) {
    const side = (dir: string) =>
      existsSync(join(repoRoot, dir, file)) ? join(dir, file) : "/dev/null";
    const { status } = git([
      "diff",
      "--no-index",
      `--color=${color}`,
      "--",
      side(exercise.starterDir),
      side(exercise.dir),
    ]);
    if (status > 1) return status;
    if (status === 1) same = false;
  }
  if (same) {
    console.log(
      `No changes yet: ${exercise.dir} is the starter. ${exercise.folder}/README.md says what to do; ` +
        `npm run check -- ${exercise.number} says what is missing.`,
    );
  }
  return 0;
}

/** Your exercise against the solution, file by file. */
function againstSolution(exercise: Exercise): number {
  const files = [...new Set([...codeFiles(exercise.dir), ...codeFiles(exercise.solutionDir)])];
  console.log(
    `${exercise.dir} (-, yours) against ${exercise.solutionDir} (+, the solution).\n` +
      "Spoiler ahead: the + lines are the answer.\n",
  );
  let same = true;
  for (const file of files.sort()) {
    // A file on one side only is compared with nothing (/dev/null): all added or all removed.
    const side = (dir: string) =>
      existsSync(join(repoRoot, dir, file)) ? join(dir, file) : "/dev/null";
    const yours = side(exercise.dir);
    const solution = side(exercise.solutionDir);
    const { status } = git(["diff", "--no-index", `--color=${color}`, "--", yours, solution]);
    if (status > 1) return status; // git said why
    if (status === 1) same = false;
  }
  if (same) console.log("Your files are the same as the solution's.");
  return 0;
}

function main(): number {
  for (const line of makeWorkingCopies()) console.log(line);
  let exercise: Exercise;
  let solution: boolean;
  try {
    const { values, positionals } = parseArgs({
      options: { solution: { type: "boolean", default: false } },
      allowPositionals: true,
    });
    if (positionals.length !== 1) throw new Error("Which exercise? Give its number.");
    exercise = findExercise(positionals[0] as string);
    solution = values.solution;
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    return 2;
  }
  return solution ? againstSolution(exercise) : againstStarter(exercise);
}

process.exitCode = main();
