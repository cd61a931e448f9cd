import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Exercise, type Target, targetDir } from "../../lib/exercises.ts";
import { repoRoot } from "../../lib/services/workshop-dir.ts";
import { LINE_PREFIX, type ReportLine } from "./reporter.ts";

/** One check (one `test(...)` of the check file) and how it went. */
export interface CaseResult {
  name: string;
  passed: boolean;
  /** Why it failed, in the words of the check. */
  message?: string;
}

export interface CheckResult {
  exercise: Exercise;
  target: Target;
  passed: boolean;
  cases: CaseResult[];
  /** A failure outside any single check: the code did not load, a crash, a timeout. */
  problem?: string;
  /** What the code under check printed (the app's own logs), for a learner's debugging. */
  output: string;
  ms: number;
}

const REPORTER = join(repoRoot, "scripts", "check", "reporter.ts");
const TIMEOUT_MS = 60_000;

/**
 * Runs the check of one exercise against the learner's folder or the solution, in a child
 * process, with a reporter that turns node:test's events into JSON lines:
 *   EXERCISE_DIR=exercises/NN-name node --import tsx --test-reporter=… test/checks/NN-name.check.ts
 * That is node:test running one file, as `node --test FILE` does, minus the extra process
 * `--test` starts for each file (a second or so on a busy machine); and it loads a reporter
 * written in TypeScript, which `--test` on Node 20 does not.
 */
export function runCheck(exercise: Exercise, target: Target): Promise<CheckResult> {
  const started = Date.now();
  const missing = [exercise.checkFile, targetDir(exercise, target)].find(
    (path) => !existsSync(join(repoRoot, path)),
  );
  if (missing) {
    const problem = `${missing} does not exist (yet), so there is nothing to check`;
    return Promise.resolve({
      exercise,
      target,
      passed: false,
      cases: [],
      problem,
      output: "",
      ms: 0,
    });
  }
  const child = spawn(
    process.execPath,
    ["--import", "tsx", `--test-reporter=${REPORTER}`, exercise.checkFile],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        NODE_ENV: "test",
        EXERCISE_DIR: targetDir(exercise, target),
        // Set when this runs inside `node --test` (npm test): it would make the check talk
        // node:test's internal protocol to its parent instead of using our reporter.
        NODE_TEST_CONTEXT: undefined,
      },
      stdio: ["ignore", "pipe", "pipe"],
      // A process group of its own: the check, and the Redis or MongoDB it starts, can be
      // stopped together (see stopGroup).
      detached: true,
    },
  );
  running.add(child);

  const cases: CaseResult[] = [];
  const problems: string[] = [];
  let output = "";
  let pending = "";
  /** One line of the check's stdout: a line of our reporter, or something the code printed. */
  const read = (line: string) => {
    let report: ReportLine;
    try {
      if (!line.startsWith(LINE_PREFIX)) throw new Error("not a report");
      report = JSON.parse(line.slice(LINE_PREFIX.length)) as ReportLine;
    } catch {
      output += `${line}\n`;
      return;
    }
    if (report.kind === "pass") cases.push({ name: report.name, passed: true });
    if (report.kind === "fail")
      cases.push({ name: report.name, passed: false, ...messageOf(report) });
    if (report.kind === "file-fail" && report.message) problems.push(report.message);
    if (report.kind === "output") output += report.text;
  };
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) read(line);
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });

  // A learner's code can hang (a callback never called, a request never answered).
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stopGroup(child, "SIGKILL");
  }, TIMEOUT_MS);

  return new Promise((resolve) => {
    child.once("close", (code) => {
      clearTimeout(timer);
      running.delete(child);
      if (timedOut) {
        problems.push(
          `the check did not finish within ${TIMEOUT_MS / 1000} s: is a request left without an ` +
            "answer, or a callback never called?",
        );
      } else if (code !== 0 && cases.every((result) => result.passed) && problems.length === 0) {
        problems.push(loadError(output) ?? `the check ended with exit code ${code}`);
      }
      // Paths as the learner sees them: exercises/01-…/app.ts, not /home/…/exercises/01-…
      const problem =
        problems.length > 0 ? problems.join("\n").replaceAll(`${repoRoot}/`, "") : undefined;
      resolve({
        exercise,
        target,
        passed: code === 0 && !problem && cases.length > 0 && cases.every((c) => c.passed),
        cases,
        problem,
        output,
        ms: Date.now() - started,
      });
    });
  });
}

/**
 * The checks running now, stopped with everything they started if this process ends first
 * (end on a signal through process.exit, as scripts/check.ts does, for this to run).
 */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) stopGroup(child, "SIGTERM");
});

function stopGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Runs `task` over `items`, at most `concurrency` at a time; results in the items' order. */
export async function inParallel<Item, Result>(
  items: readonly Item[],
  concurrency: number,
  task: (item: Item) => Promise<Result>,
): Promise<Result[]> {
  const results: Result[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as Item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

function messageOf(report: { message: string }): { message?: string } {
  return report.message ? { message: report.message } : {};
}

/**
 * Why a check file could not even start, from what it printed: the error (a syntax error in
 * the learner's file, a missing export, no Redis on this machine...) and the lines that
 * explain it, without stack frames other than the learner's own files.
 */
function loadError(output: string): string | undefined {
  const lines = output.split("\n");
  const first = lines.findIndex((line) => /^\s*[\w.]*Error( \[\w+\])?: /.test(line));
  if (first === -1) return undefined;
  // Node prints the error's own fields ({ code: … }) and its version after it: stop there.
  const end = lines.findIndex(
    (line, index) => index > first && /^(\s+\w+: |\}|Node\.js v)/.test(line),
  );
  return lines
    .slice(first, end === -1 ? first + 12 : end)
    .filter((line) => line.trim() !== "" && !/^\s+at (?!.*\/(exercises|solutions)\/)/.test(line))
    .slice(0, 6)
    .join("\n");
}
