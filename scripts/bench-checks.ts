/**
 * How long the exercise checks take, as a learner waits for them (wall time):
 *   npm run bench:checks         each solution's check alone, then the whole table at once
 * The budget: one exercise at most 1.5 s, the whole table at most 10 s, on a quiet 2-core
 * machine (the load average is printed with the figures: they mean little on a busy one).
 * Behaviour checks only: the type check of the learner's files runs beside them, cached.
 */
import { loadavg } from "node:os";
import { findExercises } from "../lib/exercises.ts";
import { runChecks } from "./check/run-check.ts";

const exercises = findExercises();
const row = (name: string, ms: number, extra = "") =>
  console.log(`  ${name.padEnd(26)} ${(ms / 1000).toFixed(2).padStart(6)} s ${extra}`);

console.log(
  `load average ${loadavg()
    .map((n) => n.toFixed(2))
    .join(" ")}\n\nOne exercise at a time (runner start included; inside the runner):`,
);
for (const exercise of exercises) {
  const started = Date.now();
  const [result] = await runChecks([{ exercise, dir: exercise.solutionDir }]);
  row(
    exercise.name,
    Date.now() - started,
    `(cases ${((result?.ms ?? 0) / 1000).toFixed(2)} s)${result?.passed ? "" : " FAILED"}`,
  );
}
const started = Date.now();
const results = await runChecks(
  exercises.map((exercise) => ({ exercise, dir: exercise.solutionDir })),
);
console.log("\nThe whole table, one runner:");
row("all", Date.now() - started, results.every((r) => r.passed) ? "" : "(some failed)");
