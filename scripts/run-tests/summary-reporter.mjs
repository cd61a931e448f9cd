/**
 * A node:test reporter that prints, after everything else, one line per area of the workshop
 * (steps, exercises, slides, walkthroughs, conformance, services, structure…) with its passed and failed
 * tests, the names of the failures, and the total: the verdict at the bottom, in a few lines,
 * instead of somewhere in 800. Used by scripts/run-tests.ts next to the usual spec reporter.
 * Plain JavaScript: node:test loads reporters before any TypeScript can run.
 */
import { relative } from "node:path";

/** The area of a test file, by where it lives. */
/** @param {string} file */
export function areaOf(file) {
  const path = relative(process.cwd(), file);
  if (path.startsWith("steps/")) return "steps";
  if (path.startsWith("test/conformance/")) return "conformance";
  if (path === "test/exercises.test.ts" || path.startsWith("test/checks/")) return "exercises";
  if (path === "scripts/slides.test.ts") return "slides";
  if (path === "scripts/walkthrough.test.ts") return "walkthroughs";
  if (path === "test/imports.test.ts" || path === "test/workshop.test.ts") return "structure";
  if (path === "test/load.test.ts") return "load";
  if (path.startsWith("test/services/")) return "services";
  return "scripts";
}

/**
 * @param {AsyncIterable<{type: string, data: {name?: string, file?: string, details?: {type?: string, error?: {failureType?: string, cause?: unknown, message?: string}}}}>} source
 */
export default async function* summary(source) {
  /** @type {Map<string, {passed: number, failed: string[]}>} */
  const areas = new Map();
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { name = "", file, details } = event.data;
    if (!file) continue;
    const area = areas.get(areaOf(file)) ?? { passed: 0, failed: [] };
    areas.set(areaOf(file), area);
    // Every test, at any depth, but not the describe blocks around them, nor a file's wrapper…
    if (details?.type === "suite" || name === file) {
      // …unless they failed by themselves: a before() hook that threw, a file that crashed or
      // timed out before its tests reported. Those would otherwise vanish from the summary.
      const failure = details?.error?.failureType;
      if (event.type === "test:fail" && failure !== "subtestsFailed") {
        const what = name === file ? "the file itself" : `"${name}"`;
        area.failed.push(
          `${relative(process.cwd(), file)}: ${what} failed (${failure ?? "error"}: ${reason(details?.error)})`,
        );
      }
      continue;
    }
    if (event.type === "test:pass") area.passed++;
    else area.failed.push(`${relative(process.cwd(), file)}: ${name}`);
  }
  const lines = ["", "── summary by area ──"];
  let passed = 0;
  let failed = 0;
  for (const [area, result] of [...areas].sort(([a], [b]) => a.localeCompare(b))) {
    passed += result.passed;
    failed += result.failed.length;
    const mark = result.failed.length === 0 ? "✓" : "✗";
    lines.push(
      `${mark} ${area.padEnd(13)} ${result.passed} passed${result.failed.length ? `, ${result.failed.length} failed` : ""}`,
    );
    for (const name of result.failed) lines.push(`    ✗ ${name}`);
  }
  lines.push(`${failed === 0 ? "✓" : "✗"} total         ${passed} passed, ${failed} failed`, "");
  yield lines.join("\n");
}

/** One line of why: the error's own message, else its cause's. */
/** @param {{cause?: unknown, message?: string} | undefined} error */
function reason(error) {
  const cause = error?.cause;
  const message = cause instanceof Error ? cause.message : (error?.message ?? String(cause));
  return message.split("\n")[0].slice(0, 200);
}
