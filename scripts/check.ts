/**
 * Checks the exercises.
 *   npm run check                 every exercise, as a progress table
 *   npm run check -- 3            exercise 3, every check and why it fails
 *   npm run check -- 3 --solution the solution of exercise 3 (or all solutions without N)
 *   npm run check -- 3 --watch    check again on every save (add --poll where file events
 *                                 don't arrive, e.g. on some shared or network folders)
 * Exit code 0 only when everything checked passes.
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import {
  type Exercise,
  findExercise,
  findExercises,
  type Target,
  targetDir,
} from "../lib/exercises.ts";
import { bold, dim, printDetails, printTable } from "./check/print.ts";
import { type CheckResult, runChecks } from "./check/run-check.ts";
import { watchFolders } from "./check/watch.ts";

const USAGE = `Usage: npm run check [-- N] [--solution] [--watch] [--poll]
  npm run check                  check every exercise, print a progress table
  npm run check -- N             check exercise N, show every check and why it fails
  npm run check -- N --solution  check the solution of exercise N instead
  npm run check -- N --watch     check again on every save (--poll: check the files for
                                 changes every 500 ms, where file events don't arrive)`;

// Each check is a process of its own with its app and its own Redis/MongoDB, and spends part
// of its time waiting on them: a couple more at a time than there are cores, at most 4.
const CONCURRENCY =
  Number(process.env.CHECK_CONCURRENCY) || Math.min(4, availableParallelism() + 2);

function parse() {
  try {
    const { values, positionals } = parseArgs({
      options: {
        solution: { type: "boolean", default: false },
        watch: { type: "boolean", default: false },
        poll: { type: "boolean", default: false },
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
    const exercises = positionals[0] ? [findExercise(positionals[0])] : findExercises();
    if (exercises.length === 0)
      throw new Error("there are no exercises (no folder exercises/NN-name)");
    const target: Target = values.solution ? "solution" : "exercise";
    return {
      exercises,
      single: positionals.length === 1,
      target,
      watch: values.watch || values.poll,
      poll: values.poll,
    };
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    process.exit(2);
  }
}

const { exercises, single, target, watch, poll } = parse();
// `npm run check | head` closes the pipe before the end: stop quietly, not with EPIPE.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(1);
});
const results = new Map<Exercise, CheckResult>();

/** Checks `which`, then prints the details of one exercise or the table of all. */
async function check(which: Exercise[]): Promise<boolean> {
  const started = Date.now();
  if (!single) {
    console.log(dim(`Checking ${which.length} exercise(s), ${CONCURRENCY} at a time…`));
  }
  const fresh = await runChecks(
    which.map((exercise) => ({ exercise, dir: targetDir(exercise, target) })),
    { concurrency: CONCURRENCY },
  );
  for (const result of fresh) results.set(result.exercise, result);
  const all = exercises.map((exercise) => results.get(exercise)).filter((r) => r !== undefined);
  if (single && all[0]) printDetails(all[0], { watching: watch });
  else printTable(all, Date.now() - started);
  return all.every((result) => result.passed);
}

if (!watch) {
  // Ctrl-C: end through process.exit, which stops the running checks and their servers.
  process.once("SIGINT", () => process.exit(130));
  process.exitCode = (await check(exercises)) ? 0 : 1;
} else {
  await watchMode();
}

/** Checks once, then again for each exercise whose folder changes, until Ctrl-C. */
async function watchMode(): Promise<void> {
  const folderOf = (exercise: Exercise) =>
    target === "solution" ? exercise.solutionDir : exercise.dir;
  let running: Promise<unknown> = Promise.resolve();
  const queued = new Set<Exercise>();

  const rerun = (which: Exercise[]) => {
    for (const exercise of which) queued.add(exercise);
    running = running.then(async () => {
      if (queued.size === 0) return; // an earlier turn took them
      const now = [...queued];
      queued.clear();
      if (process.stdout.isTTY) console.clear();
      await check(now);
      const what = single ? folderOf(exercises[0] as Exercise) : "the exercises";
      console.log(
        dim(`\nWatching ${what} (${watcher.how}): save a file to check again, Ctrl-C to stop.`),
      );
    });
  };

  const watcher = watchFolders(
    exercises.map(folderOf),
    (dir) => rerun(exercises.filter((exercise) => folderOf(exercise) === dir)),
    { poll },
  );
  process.once("SIGINT", () => {
    watcher.close();
    console.log(bold("\nStopped watching."));
    process.exit(0); // also stops a check still running (scripts/check/run-check.ts)
  });
  rerun(exercises);
}
