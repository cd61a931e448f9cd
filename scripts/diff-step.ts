/**
 * `npm run diff:step -- N` shows the lesson of step N: the diff from the step it builds on
 * (workshop.ts says which) to step N, file by file, code only (README.md and the step's test
 * are left out; `--all` keeps them). Uses git's own diff, coloured on a terminal.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { type Step, stepNumbered } from "../workshop.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { all: { type: "boolean", default: false } },
});
const step = stepNumbered(Number(positionals[0]));
if (!step || !/^\d+$/.test(positionals[0] ?? "")) {
  console.error("Usage: npm run diff:step -- N [--all]   (N from 2: step 1 builds on nothing)");
  process.exit(2);
}
const base = step.buildsOn === undefined ? undefined : stepNumbered(step.buildsOn);
if (!base) {
  console.error(`Step ${step.number} is the first step: it builds on nothing. Read it whole.`);
  process.exit(2);
}

/** The files of a step's folder that a diff shows. */
function filesOf(s: Step): string[] {
  return readdirSync(join(repoRoot, "steps", s.slug)).filter(
    (file) => values.all || (file !== "README.md" && !file.endsWith(".test.ts")),
  );
}

const color = process.stdout.isTTY && !process.env.NO_COLOR ? "always" : "never";
const names = [...new Set([...filesOf(base), ...filesOf(step)])].sort();
console.log(`Step ${step.number} (${step.title}) builds on step ${base.number} (${base.title}).\n`);
for (const name of names) {
  const before = join("steps", base.slug, name);
  const after = join("steps", step.slug, name);
  const result = spawnSync(
    "git",
    [
      "--no-pager",
      "diff",
      "--no-index",
      `--color=${color}`,
      "--",
      existsSync(join(repoRoot, before)) ? before : "/dev/null",
      existsSync(join(repoRoot, after)) ? after : "/dev/null",
    ],
    { cwd: repoRoot, stdio: "inherit" },
  );
  if (result.error) {
    console.error(`npm run diff:step needs git, which did not run: ${result.error.message}`);
    process.exit(2);
  }
}
