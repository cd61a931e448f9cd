/**
 * Checks the exercises.
 *   npm run check                 every exercise: your progress, done and pending
 *   npm run check -- 3            exercise 3, every check and why it fails
 *   npm run check -- 3 --solution the solution of exercise 3 (or all solutions without N)
 *   npm run check -- --watch      check again on every save, and move on to the next unsolved
 *                                 exercise when one passes (from N with `-- N --watch`)
 *   npm run check -- 3 --draw 7 --runs 200
 *                                 other scenarios, and more of them (the same draw number gives the
 *                                 same scenarios: a failure can be replayed)
 * It checks your copy of each exercise, exercises/NN-name/yours/ (made from its starter when
 * missing). Exit code 0 only when everything checked passes. Progress is kept in
 * .workshop/progress.json.
 */
import { parseArgs, styleText } from "node:util";
import { watch } from "chokidar";
import {
  type Exercise,
  findExercise,
  findExercises,
  makeWorkingCopies,
  readProgress,
  saveProgress,
  type Target,
  targetDir,
} from "../lib/exercises.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { FAIL, printDetails, printTable, red } from "./check/print.ts";
import { type CheckResult, runChecks } from "./check/run-check.ts";
import { typecheck } from "./check/typecheck.ts";

const USAGE = `Usage: npm run check [-- N] [--solution] [--watch] [--poll] [--draw S] [--runs R]
  npm run check                  check every exercise, print your progress
  npm run check -- N             check exercise N, show every check and why it fails
  npm run check -- N --solution  check the solution of exercise N instead
  npm run check -- --watch       check again on every save; when an exercise passes, move on
                                 to the next unsolved one (--poll where file events don't arrive)
  npm run check -- N --draw S --runs R
                                 draw other scenarios (draw number S): R of them, after the check's own`;

function parse() {
  try {
    const { values, positionals } = parseArgs({
      options: {
        solution: { type: "boolean", default: false },
        watch: { type: "boolean", default: false },
        poll: { type: "boolean", default: false },
        draw: { type: "string" },
        runs: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      allowPositionals: true,
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    if (positionals.length > 1)
      throw new Error(`one exercise at a time, not ${positionals.join(" ")}`);
    const target: Target = values.solution ? "solution" : "exercise";
    // The checks' scenarios are drawn by test/checks/differential.ts, which reads these.
    for (const [name, value] of [
      ["CHECK_DRAW", values.draw],
      ["CHECK_RUNS", values.runs],
    ] as const) {
      if (value === undefined) continue;
      if (!/^\d+$/.test(value))
        throw new Error(`--${name.slice(6).toLowerCase()} takes a whole number, not ${value}`);
      process.env[name] = value;
    }
    return {
      chosen: positionals[0] ? findExercise(positionals[0]) : undefined,
      target,
      watching: values.watch || values.poll,
      poll: values.poll,
    };
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    process.exit(2);
  }
}

const { chosen, target, watching, poll } = parse();
for (const line of makeWorkingCopies()) console.log(line);
const all = findExercises();
// `npm run check | head` closes the pipe before the end: stop quietly, not with EPIPE.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(1);
});

/**
 * Checks WHICH: their behaviour (the runner) and, beside it, the types of the learner's files.
 * SHOW gets the behaviour's results as soon as they are in; a type error found after that is
 * printed on its own, and fails the exercise too. Progress is recorded at the end.
 */
async function check(
  which: Exercise[],
  show: (results: CheckResult[]) => void,
): Promise<CheckResult[]> {
  const dirs = which.map((exercise) => targetDir(exercise, target));
  const types =
    target === "exercise" ? typecheck(dirs) : Promise.resolve(new Map<string, string[]>());
  const results = await runChecks(
    which.map((exercise, index) => ({ exercise, dir: dirs[index] as string })),
  );
  const typesNow = await Promise.race([types, Promise.resolve(undefined)]);
  if (typesNow) markTypeErrors(results, typesNow);
  show(results);
  if (!typesNow) {
    const found = await types;
    const failed = markTypeErrors(results, found);
    for (const result of failed) {
      console.log(red(`\n${FAIL} Exercise ${result.exercise.number}: a type error in your code`));
      for (const error of found.get(result.dir) ?? []) console.log(`    ${error}`);
    }
  }
  if (target === "exercise") {
    saveProgress((progress) => {
      for (const result of results) progress.done[result.exercise.number] = result.passed;
    });
  }
  return results;
}

/** Fails the results whose folder has type errors; returns those. */
function markTypeErrors(results: CheckResult[], types: Map<string, string[]>): CheckResult[] {
  const failed: CheckResult[] = [];
  for (const result of results) {
    const errors = types.get(result.dir) ?? [];
    if (errors.length === 0) continue;
    result.passed = false;
    failed.push(result);
    const typeProblem = `a type error in your code:\n${errors.slice(0, 5).join("\n")}`;
    result.problem = result.problem ? `${typeProblem}\n${result.problem}` : typeProblem;
  }
  return failed;
}

if (!watching) {
  // Ctrl-C: end through process.exit, which stops the running checks and their servers.
  process.once("SIGINT", () => process.exit(130));
  const started = Date.now();
  const results = chosen
    ? await check([chosen], ([result]) => result && printDetails(result, { watching }))
    : await check(all, () => {});
  if (!chosen) printTable(results, Date.now() - started, readProgress());
  process.exitCode = results.every((result) => result.passed) ? 0 : 1;
} else {
  await follow();
}

/**
 * Watch mode, rustlings-style: check the current exercise on every save; when it passes, say
 * so and move on to the next one that is not done yet.
 */
async function follow(): Promise<void> {
  const progress = readProgress();
  let current: Exercise | undefined =
    chosen ?? all.find((exercise) => !progress.done[exercise.number]) ?? all[0];
  let running = Promise.resolve();
  let again = false;

  const folderOf = (exercise: Exercise) => targetDir(exercise, target);
  const watcher = watch(
    all.map((exercise) => `${repoRoot}/${folderOf(exercise)}`),
    {
      ignoreInitial: true,
      usePolling: poll,
      interval: 500,
      awaitWriteFinish: { stabilityThreshold: 100 },
    },
  );
  const run = () => {
    if (again) return;
    again = true;
    running = running.then(async () => {
      again = false;
      const exercise = current;
      if (!exercise) return;
      if (process.stdout.isTTY) console.clear();
      const [result] = await check([exercise], ([first]) => {
        if (first) printDetails(first, { watching: true });
      });
      if (!result) return;
      if (result.passed) {
        const done = readProgress().done;
        const next = all.find((other) => !done[other.number]);
        if (!next) {
          console.log(styleText("green", "\nEvery exercise passes. Well done!"));
          current = undefined;
          return;
        }
        current = next;
        console.log(
          `${styleText(
            "green",
            `\nExercise ${exercise.number} passes: on to exercise ${next.number}.`,
          )} Read ${next.folder}/README.md, then save a file in ${next.dir}/.`,
        );
      }
      console.log(
        styleText(
          "dim",
          `\nWatching ${folderOf(current ?? exercise)}: save to check again, Ctrl-C to stop.`,
        ),
      );
    });
  };
  watcher.on("all", (_event, path) => {
    if (current && path.startsWith(`${repoRoot}/${folderOf(current)}/`)) run();
  });
  process.once("SIGINT", () => {
    void watcher.close();
    console.log(styleText("bold", "\nStopped watching."));
    process.exit(0); // also stops a check still running (scripts/check/run-check.ts)
  });
  run();
}
