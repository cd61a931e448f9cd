import { styleText } from "node:util";
import type { Progress } from "../../lib/exercises.ts";
import type { CaseResult, CheckResult } from "./run-check.ts";

// Node's own colours: styleText leaves the text plain when the output is not a terminal or
// NO_COLOR is set (validateStream, on by default).
const paint = (format: Parameters<typeof styleText>[0]) => (text: string) =>
  styleText(format, text);
export const green = paint("green");
export const red = paint("red");
export const yellow = paint("yellow");
export const bold = paint("bold");
export const dim = paint("dim");

const PASS = green("✓");
export const FAIL = red("✗");
const WIDTH = Math.min(process.stdout.columns || 100, 110);

/**
 * node:assert adds its own comparison after the check's message ("\n\n1 !== 2", or a
 * "+ actual - expected" diff). The message is what the learner needs; the rest is detail.
 */
export function splitMessage(message: string): { text: string; detail: string } {
  const cuts = [message.indexOf("\n+ actual - expected"), message.indexOf("\n\n")].filter(
    (index) => index >= 0,
  );
  if (cuts.length === 0) return { text: message.trim(), detail: "" };
  const cut = Math.min(...cuts);
  return { text: message.slice(0, cut).trim(), detail: message.slice(cut).trim() };
}

/** Wraps text to the terminal's width, every line indented. */
function wrap(text: string, indent: string): string {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(" ")) {
      if (line && indent.length + line.length + word.length + 1 > WIDTH) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    lines.push(line);
  }
  return lines.map((line) => indent + line).join("\n");
}

/** The first reason a check failed, in the check's own words. */
export function firstFailure(result: CheckResult): string {
  if (result.problem) return result.problem;
  const failed = result.cases.find((check) => !check.passed);
  if (failed?.message) return splitMessage(failed.message).text;
  if (failed) return `"${failed.name}" failed`;
  return "the check found nothing to check";
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Every check of one exercise, and why each failed one failed. */
export function printDetails(result: CheckResult, { watching = false } = {}): void {
  const { exercise, dir: folder } = result;
  const target = folder === exercise.dir ? "exercise" : "other";
  console.log(
    `\n${bold(`Exercise ${exercise.number}: ${exercise.name}`)}  ${dim(`(${folder})`)}\n`,
  );
  for (const check of result.cases) printCase(check);
  if (result.problem) {
    console.log(`  ${FAIL} ${red("The check could not run your code:")}`);
    console.log(wrap(result.problem, "      "));
    if (/ServiceError/.test(result.problem)) {
      console.log(
        yellow(
          "\n  That is about this machine, not your code: npm run doctor says what is missing.",
        ),
      );
    }
  } else if (!result.passed) {
    printServerOutput(result.output);
  }

  const passed = result.cases.filter((check) => check.passed).length;
  const total = result.cases.length;
  console.log();
  if (result.passed) {
    console.log(green(bold(`All ${total} checks pass.`)) + dim(` (${seconds(result.ms)})`));
    if (target === "exercise") {
      console.log(`Compare with the solution: npm run diff -- ${exercise.number} --solution`);
    }
  } else {
    const summary = total === 0 ? "No check could run." : `${passed} of ${total} checks pass.`;
    console.log(`${red(bold(summary))}${dim(` (${seconds(result.ms)})`)}`);
    if (target === "exercise" && !watching) {
      console.log(
        `Edit ${exercise.dir}/ (the task: ${exercise.folder}/README.md),\n` +
          `then check again: npm run check -- ${exercise.number}\nor let it re-check on every save: ` +
          `npm run check -- ${exercise.number} --watch`,
      );
    }
  }
}

function printCase(check: CaseResult): void {
  if (check.passed) {
    console.log(`  ${PASS} ${check.name}`);
    return;
  }
  console.log(`  ${FAIL} ${check.name}`);
  const { text, detail } = splitMessage(check.message ?? "failed");
  console.log(wrap(text, "      "));
  const detailLines = detail.split("\n").filter(Boolean);
  if (detailLines.length > 0 && detailLines.length <= 12) {
    console.log(dim(detailLines.map((line) => `        ${line}`).join("\n")));
  }
}

/** What the app printed while it was checked (a 500's error, a stack trace), briefly. */
function printServerOutput(output: string): void {
  const lines = output
    .split("\n")
    .filter((line) => line.trim() !== "" && !/^\s+at .*(node:|node_modules)/.test(line));
  if (lines.length === 0) return;
  const shown = lines.slice(0, 10);
  console.log(`\n  ${dim("Your code printed:")}`);
  console.log(dim(shown.map((line) => `    ${line}`).join("\n")));
  if (lines.length > shown.length)
    console.log(dim(`    … (${lines.length - shown.length} more lines)`));
}

/**
 * The progress table: done or pending, hints used, "N of M"; then why the first pending one
 * fails, in full, since that is the one to work on.
 */
export function printTable(results: CheckResult[], ms: number, progress: Progress): void {
  const solutions = results.length > 0 && results.every((r) => r.dir === r.exercise.solutionDir);
  console.log(`\n${bold(solutions ? "Solutions" : "Your progress")}\n`);
  const nameWidth = Math.max(...results.map((result) => result.exercise.name.length));
  for (const result of results) {
    const passed = result.cases.filter((check) => check.passed).length;
    const count = `${passed}/${result.cases.length}`.padStart(5);
    const state = result.passed ? green("done   ") : yellow("pending");
    const hints = progress.hints[result.exercise.number] ?? 0;
    const used = hints > 0 ? dim(` ${hints} hint${hints === 1 ? "" : "s"}`) : "";
    const time = dim(seconds(result.ms).padStart(7));
    console.log(
      `  ${result.passed ? PASS : FAIL} ${state} ${result.exercise.name.padEnd(nameWidth)} ${count} ${time}${used}`,
    );
  }
  const done = results.filter((result) => result.passed).length;
  const next = results.find((result) => !result.passed);
  console.log(`\n${bold(`${done} of ${results.length} done.`)} ${dim(`(${seconds(ms)})`)}`);
  if (next && !solutions) {
    console.log(
      `\n${bold(`First to fix: exercise ${next.exercise.number}`)} (${next.exercise.dir})`,
    );
    console.log(wrap(firstFailure(next), "  "));
    console.log(
      dim(
        `\nEvery check of it: npm run check -- ${next.exercise.number}   ` +
          `a hint: npm run hint -- ${next.exercise.number}   ` +
          "follow along: npm run check -- --watch",
      ),
    );
  }
}
