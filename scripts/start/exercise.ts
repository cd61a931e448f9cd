/**
 * The check pane's commands are the command line's: `npm run check`, `hint`, `reset` and `diff`
 * run as they are (scripts/check.ts and the others, in a child process, without colours), and
 * the page shows what they print. Nothing is done twice, so the pane and the terminal agree:
 * the same checks (and type check), the same progress in .workshop/progress.json, the same
 * hints counted. Saving a file in an exercise's yours/ folder checks that exercise again, as
 * `npm run check -- N --watch` does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join, sep } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { watch } from "chokidar";
import { findExercises, makeWorkingCopies } from "../../lib/exercises.ts";
import { typeScript } from "../../lib/run-script.ts";
import { repoRoot } from "../../lib/services/workshop-dir.ts";

export type Command = "check" | "hint" | "reset" | "diff";

const running = new Set<ChildProcess>();

/** Runs `npm run COMMAND -- ARGS…` (its script, directly); resolves its exit code and output. */
export function runCommand(
  command: Command,
  args: readonly string[],
): Promise<{ code: number; output: string }> {
  const child = spawn(
    process.execPath,
    [...typeScript, join("scripts", `${command}.ts`), ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  running.add(child);
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  return new Promise((resolve) => {
    child.once("close", (code, signal) => {
      running.delete(child);
      // Without colours: Node 20's styleText colours even a pipe.
      resolve({ code: code ?? (signal ? 1 : 0), output: stripVTControlCharacters(output).trim() });
    });
  });
}

/**
 * Stops the commands still running. SIGINT, as Ctrl-C in a terminal: `npm run check` then stops
 * its runner and the servers it started (scripts/check/run-check.ts).
 */
export async function stopCommands(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise((resolve) => {
          child.once("close", resolve);
          child.kill("SIGINT");
        }),
    ),
  );
}

/**
 * Calls SAVED(N, file) when a file of exercise N's yours/ folder is saved. Resolves a function
 * that stops watching.
 */
export function watchExercises(
  saved: (exercise: number, file: string) => void,
): () => Promise<void> {
  makeWorkingCopies(); // as every exercise command does: yours/ exists before it is watched
  const exercises = findExercises();
  const watcher = watch(
    exercises.map((exercise) => join(repoRoot, exercise.dir)),
    { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 100 } },
  );
  watcher.on("all", (event, path) => {
    if (event !== "add" && event !== "change") return;
    const exercise = exercises.find((each) => path.startsWith(join(repoRoot, each.dir) + sep));
    if (exercise) saved(exercise.number, path.slice(repoRoot.length + 1));
  });
  return () => watcher.close();
}
