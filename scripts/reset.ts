/**
 * Puts your copy of an exercise (exercises/NN-name/yours/) back as it was at the start, from
 * the pristine starter beside it (exercises/NN-name/starter/):
 *   npm run reset -- N          asks first (your changes to exercise N are lost)
 *   npm run reset -- N --yes    without asking
 * Files you added to yours/ stay.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { codeFiles, findExercise, makeWorkingCopies } from "../lib/exercises.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";

for (const line of makeWorkingCopies()) console.log(line);

const { values, positionals } = parseArgs({
  options: { yes: { type: "boolean", short: "y", default: false } },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  console.error("Usage: npm run reset -- N [--yes]   (exercise N back to its starter)");
  process.exit(2);
}
const exercise = (() => {
  try {
    return findExercise(positionals[0] as string);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  }
})();

const files = codeFiles(exercise.starterDir);
const changed = files.filter((file) => {
  const yours = join(repoRoot, exercise.dir, file);
  const starter = join(repoRoot, exercise.starterDir, file);
  return !existsSync(yours) || readFileSync(yours, "utf8") !== readFileSync(starter, "utf8");
});
if (changed.length === 0) {
  console.log(`${exercise.dir} is already the starter: nothing to reset.`);
  process.exit(0);
}
if (!values.yes) {
  if (!process.stdin.isTTY) {
    console.error(`Not resetting without asking: add --yes to overwrite ${changed.join(", ")}.`);
    process.exit(2);
  }
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await prompt.question(
    `Overwrite ${changed.map((file) => `${exercise.dir}/${file}`).join(", ")} with the starter? ` +
      "Your changes there are lost. [y/N] ",
  );
  prompt.close();
  if (!/^y(es)?$/i.test(answer.trim())) {
    console.log("Nothing changed.");
    process.exit(0);
  }
}
for (const file of changed) {
  const target = join(repoRoot, exercise.dir, file);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(join(repoRoot, exercise.starterDir, file), target);
}
console.log(`Reset ${changed.join(", ")} in ${exercise.dir} to the starter.`);
