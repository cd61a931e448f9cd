/**
 * What the check runner (test/checks/run.ts, a child process) tells `npm run check`
 * (scripts/check/run-check.ts): one JSON line per event, after a prefix, on stdout.
 * The learner never sees these lines.
 */

/** Which folder a check runs against, as the runner is told on its command line. */
export interface RunTarget {
  /** The exercise's folder name: "05-login-session" (its check is exercises/<name>/check.ts). */
  exercise: string;
  /** The folder under check, relative to the repository: "exercises/05-login-session/yours". */
  dir: string;
  /**
   * Stop after the first case whose message contains this: a kept wrong answer's phrase
   * (test/exercises.test.ts), once said, is all its test needs to know.
   */
  until?: string | undefined;
}

export type ReportLine =
  /** One case of a check, passed or failed (with the check's words for what is wrong). */
  | { kind: "case"; dir: string; name: string; passed: boolean; message?: string; ms: number }
  /** A failure outside any case: the code did not load, process.exit, a crash. */
  | { kind: "problem"; dir: string; message: string }
  /** What the code under check printed while its cases ran. */
  | { kind: "output"; dir: string; text: string }
  /** Every case of this folder ran. */
  | { kind: "done"; dir: string; ms: number };

export const LINE_PREFIX = "@@check ";

/** The runner's command line: one `--target exercise=dir[=until]` per folder to check. */
export function runnerArgs(targets: readonly RunTarget[]): string[] {
  return targets.flatMap(({ exercise, dir, until }) => [
    "--target",
    [exercise, dir, ...(until ? [until] : [])].join("="),
  ]);
}

export function parseTarget(value: string): RunTarget {
  const [exercise = "", dir = "", ...until] = value.split("=");
  return { exercise, dir, ...(until.length ? { until: until.join("=") } : {}) };
}
