import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Exercise } from "../../lib/exercises.ts";
import { typeScript } from "../../lib/run-script.ts";
import { repoRoot } from "../../lib/services/workshop-dir.ts";
import { LINE_PREFIX, type ReportLine, runnerArgs } from "./protocol.ts";

/** One case of a check and how it went. */
export interface CaseResult {
  name: string;
  passed: boolean;
  /** Why it failed, in the words of the check: what is wrong, expected, observed. */
  message?: string;
  ms: number;
}

export interface CheckResult {
  exercise: Exercise;
  /** The folder that was checked, relative to the repository. */
  dir: string;
  passed: boolean;
  cases: CaseResult[];
  /** A failure outside any single case: the code did not load, process.exit, a crash. */
  problem?: string;
  /** What the code under check printed (the app's own logs), for a learner's debugging. */
  output: string;
  ms: number;
}

/** A folder to check against an exercise's check. */
export interface CheckTarget {
  exercise: Exercise;
  dir: string;
  /** Stop once a case's message contains this (scripts/check/protocol.ts). */
  until?: string | undefined;
}

const RUNNER = join("test", "checks", "run.ts");
/** However a check goes wrong, the runner is stopped after this long: a minute, and more per folder. */
const timeoutFor = (folders: number) => 60_000 + 15_000 * folders;

/**
 * Checks TARGETS in one child process (test/checks/run.ts), which starts the servers they
 * need once and runs their cases; results in the order of TARGETS.
 *   node test/checks/run.ts --target 01-reset-and-greet=exercises/01-…/yours …
 * The learner's code runs as `npm run step:N` runs a step: its types stripped by Node (24), so
 * the TypeScript that tsconfig.json allows, and nothing else.
 */
export function runChecks(
  targets: readonly CheckTarget[],
  { concurrency = 4 } = {},
): Promise<CheckResult[]> {
  const started = Date.now();
  const results = new Map<string, CheckResult>();
  const runnable: CheckTarget[] = [];
  for (const { exercise, dir, until } of targets) {
    const result: CheckResult = { exercise, dir, passed: false, cases: [], output: "", ms: 0 };
    results.set(dir, result);
    const missing = [exercise.checkFile, dir].find((path) => !existsSync(join(repoRoot, path)));
    if (missing) result.problem = `${missing} does not exist (yet), so there is nothing to check`;
    else runnable.push({ exercise, dir, until });
  }
  const ordered = () => targets.map(({ dir }) => results.get(dir) as CheckResult);
  if (runnable.length === 0) return Promise.resolve(ordered());

  const child = spawn(
    process.execPath,
    [
      ...typeScript,
      RUNNER,
      "--concurrency",
      String(concurrency),
      ...runnerArgs(runnable.map((target) => ({ ...target, exercise: target.exercise.name }))),
    ],
    {
      cwd: repoRoot,
      // SCRYPT_N: step 05's password hashing at a cost of 2^10, not 2^15 (steps/05-login-logout/
      // credentials.ts): the checks hash hundreds of passwords, about 2 ms each instead of 95.
      env: { ...process.env, NODE_ENV: "test", NODE_TEST_CONTEXT: undefined, SCRYPT_N: "1024" },
      stdio: ["ignore", "pipe", "pipe"],
      // A process group of its own: the runner and the servers it starts stop together.
      detached: true,
    },
  );
  running.add(child);

  const finished = new Set<string>();
  const problems = new Map<string, string[]>();
  let stray = "";
  let pending = "";
  const read = (line: string) => {
    if (!line.startsWith(LINE_PREFIX)) {
      stray += `${line}\n`;
      return;
    }
    const report = JSON.parse(line.slice(LINE_PREFIX.length)) as ReportLine;
    const result = results.get(report.dir);
    if (!result) return;
    if (report.kind === "case") {
      const { name, passed, message, ms } = report;
      result.cases.push({ name, passed, ms, ...(message === undefined ? {} : { message }) });
    }
    if (report.kind === "output") result.output += report.text;
    if (report.kind === "problem")
      problems.set(report.dir, [...(problems.get(report.dir) ?? []), report.message]);
    if (report.kind === "done") {
      finished.add(report.dir);
      result.ms = report.ms;
    }
  };
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) read(line);
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stray += chunk;
  });
  let timedOut = false;
  const TIMEOUT_MS = timeoutFor(runnable.length);
  const timer = setTimeout(() => {
    timedOut = true;
    stopGroup(child, "SIGKILL");
  }, TIMEOUT_MS);

  return new Promise((resolve) => {
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      for (const { dir } of runnable) {
        const result = results.get(dir) as CheckResult;
        const found = problems.get(dir) ?? [];
        if (!finished.has(dir)) {
          found.push(
            timedOut
              ? `the checks did not finish within ${TIMEOUT_MS / 1000} s`
              : `the check stopped before it finished (exit code ${code ?? signal})` +
                  (stray.trim() ? `:\n${lastLines(stray)}` : ""),
          );
          result.ms = Date.now() - started;
        }
        if (found.length > 0) result.problem = found.join("\n").replaceAll(`${repoRoot}/`, "");
        result.passed =
          !result.problem && result.cases.length > 0 && result.cases.every((c) => c.passed);
      }
      resolve(ordered());
    });
  });
}

/** Checks one exercise's folder, or its solution. */
export async function runCheck(
  exercise: Exercise,
  target: "exercise" | "solution",
): Promise<CheckResult> {
  const dir = target === "solution" ? exercise.solutionDir : exercise.dir;
  const [result] = await runChecks([{ exercise, dir }]);
  return result as CheckResult;
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-12).join("\n");
}

/**
 * The runners running now, stopped with everything they started if this process ends first
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
