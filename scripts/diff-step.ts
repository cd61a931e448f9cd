/**
 * `npm run diff:step -- N` shows the lesson of step N: the diff from the step it builds on
 * (workshop.ts says which) to step N, file by file, code only (README.md, the step's test and
 * the files it gives ready-made are left out; `--all` keeps them). Uses git's own diff, coloured on a terminal.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
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

/**
 * Files of the base step that step N uses as they are (step 10 imports step 05's routes), and
 * the files those import in turn: not a change, so not shown as deleted.
 */
const codeOf = (dir: string, file: string) =>
  file.endsWith(".ts") ? readFileSync(join(repoRoot, "steps", dir, file), "utf8") : "";
const baseOnly = filesOf(base).filter(
  (file) => !existsSync(join(repoRoot, "steps", step.slug, file)),
);
const stepCode = filesOf(step)
  .map((file) => codeOf(step.slug, file))
  .join("\n");
const reused = baseOnly.filter((file) => stepCode.includes(`"../${base.slug}/${file}"`));
for (let i = 0; i < reused.length; i++) {
  const code = codeOf(base.slug, reused[i] ?? "");
  for (const file of baseOnly) {
    if (!reused.includes(file) && code.includes(`"./${file}"`)) reused.push(file);
  }
}
reused.sort();

/** Files given ready-made: named, not shown (workshop.ts, `readyMade`). */
const readyMade: readonly string[] = step.readyMade ?? [];

const color = process.stdout.isTTY && !process.env.NO_COLOR ? "always" : "never";
const names = [...new Set([...filesOf(base), ...filesOf(step)])]
  .filter((name) => !reused.includes(name) && (values.all || !readyMade.includes(name)))
  .sort();
console.log(`Step ${step.number} (${step.title}) builds on step ${base.number} (${base.title}).\n`);
if (reused.length > 0) {
  console.log(`Imported from step ${base.number} as they are: ${reused.join(", ")}.\n`);
}
if (readyMade.length > 0 && !values.all) {
  console.log(
    `Given ready-made, not the lesson (read them in steps/${step.slug}/, or --all): ` +
      `${readyMade.join(", ")}.\n`,
  );
}
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
