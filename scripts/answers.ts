/**
 * The kept answers of the exercise checks: exercises/NN-name/answers/<wrong|right>-<what>.patch,
 * each a unified diff against exercises/NN-name/starter/ whose first line says what it is:
 *   wrong: <a phrase its failure message must contain>[ — what it does, in a few words]
 *   wrong (PostgreSQL): … the same, for a mistake only PostgreSQL itself shows (two transactions
 *     at once); the embedded engine runs one transaction at a time, where it passes
 *   right: <the correct alternative it is>
 * test/exercises.test.ts checks every one. To add or change one:
 *   node scripts/run-ts.mjs scripts/answers.ts make 03-move-to-redis wrong-ttl-disabled   (prints a folder to edit)
 *   node scripts/run-ts.mjs scripts/answers.ts save 03-move-to-redis wrong-ttl-disabled DIR "one line"
 * (save without the line keeps the patch's line).
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { answersDir, codeFiles, type Exercise, findExercise } from "../lib/exercises.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";

export interface KeptAnswer {
  exercise: Exercise;
  /** "wrong-no-destroy" */
  name: string;
  kind: "wrong" | "right";
  /** The patch, relative to the repository. */
  patch: string;
  /** Its first line: "wrong: does not answer 204". */
  summary: string;
  /** For a wrong answer: the phrase its failure message must contain (the summary up to " — "). */
  why?: string | undefined;
  /** "wrong (PostgreSQL): …": wrong on PostgreSQL itself only, right on the embedded engine. */
  postgresOnly: boolean;
}

/** Every answer kept for EXERCISE, by name. */
export function keptAnswers(exercise: Exercise): KeptAnswer[] {
  const folder = answersDir(exercise);
  if (!existsSync(join(repoRoot, folder))) return [];
  return readdirSync(join(repoRoot, folder))
    .filter((file) => /^(wrong|right)-.+\.patch$/.test(file))
    .sort()
    .map((file) => {
      const patch = join(folder, file);
      const summary = readFileSync(join(repoRoot, patch), "utf8").split("\n")[0]?.trim() ?? "";
      const kind = file.startsWith("wrong-") ? "wrong" : "right";
      const wrong =
        kind === "wrong" ? /^wrong( \(PostgreSQL\))?: (.+?)(?: — |$)/.exec(summary) : null;
      const why = wrong?.[2];
      const postgresOnly = Boolean(wrong?.[1]);
      return {
        exercise,
        name: file.replace(/\.patch$/, ""),
        kind,
        patch,
        summary,
        why,
        postgresOnly,
      };
    });
}

/**
 * A scratch folder for a copy of a starter: .workshop/answers/NAME, three folders deep like
 * exercises/NN-name/yours/, so that its imports (../../../steps/…) reach the same files.
 */
export function scratchDir(name: string): string {
  return join(".workshop", "answers", name);
}

const git = (args: string[]) => spawnSync("git", args, { cwd: repoRoot, encoding: "utf8" });
const apply = (dir: string, patch: string, ...options: string[]) =>
  git(["apply", "--whitespace=nowarn", `--directory=${dir}`, ...options, patch]);

function copyStarter(exercise: Exercise, dir: string): void {
  rmSync(join(repoRoot, dir), { recursive: true, force: true });
  cpSync(join(repoRoot, exercise.starterDir), join(repoRoot, dir), { recursive: true });
}

/**
 * Makes DIR (relative to the repository) a copy of the starter with PATCH applied.
 * Throws, naming the patch, when it no longer applies.
 */
export function writeAnswer(exercise: Exercise, dir: string, patch: string): void {
  copyStarter(exercise, dir);
  const applied = apply(dir, patch);
  if (applied.status === 0) return;
  const name = basename(patch, ".patch");
  throw new Error(
    `${patch} no longer applies to ${exercise.starterDir}:\n${applied.stderr.trim()}\n` +
      `Regenerate it: node scripts/run-ts.mjs scripts/answers.ts make ${exercise.name} ${name}, finish by hand ` +
      `what its *.rej files say, then node scripts/run-ts.mjs scripts/answers.ts save ${exercise.name} ${name} DIR`,
  );
}

/** The unified diff of one FILE from folder FROM to folder TO, with paths a/FILE and b/FILE. */
function diffOf(file: string, from: string, to: string): string {
  const paths = [join(from, file), join(to, file)];
  const run = git(["diff", "--no-index", "--no-color", "--no-ext-diff", "--", ...paths]);
  if (run.status !== 0 && run.status !== 1) throw new Error(`git diff ${file}: ${run.stderr}`);
  const hunks = run.stdout.indexOf("\n@@");
  if (hunks < 0) return "";
  return `diff --git a/${file} b/${file}\n--- a/${file}\n+++ b/${file}${run.stdout.slice(hunks)}`;
}

/** Writes the patch of answer NAME from folder DIR, with LINE first; returns its path. */
export function saveAnswer(exercise: Exercise, name: string, dir: string, line: string): string {
  const kind = /^(wrong|right)-[a-z0-9-]+$/.exec(name)?.[1];
  if (!kind) throw new Error(`${name}: an answer is named wrong-<what> or right-<what>`);
  const folder = relative(repoRoot, resolve(dir));
  const files = codeFiles(exercise.starterDir);
  const held = codeFiles(folder);
  if (held.join() !== files.join()) {
    throw new Error(`${folder} holds ${held.join(", ") || "nothing"}, not the starter's files`);
  }
  const diff = files.map((file) => diffOf(file, exercise.starterDir, folder)).join("");
  if (!diff) throw new Error(`${folder} is the starter itself: there is nothing to save`);
  const patch = join(answersDir(exercise), `${name}.patch`);
  const marker = kind === "wrong" && /^wrong \(PostgreSQL\):/.test(line) ? " (PostgreSQL)" : "";
  const text = line.replace(/^(wrong|right)( \(PostgreSQL\))?:\s*/, "").trim();
  writeFileSync(join(repoRoot, patch), `${kind}${marker}: ${text}\n\n${diff}`);
  const check = scratchDir(`check-${exercise.name}`);
  writeAnswer(exercise, check, patch);
  for (const file of files) {
    const same =
      readFileSync(join(repoRoot, check, file), "utf8") ===
      readFileSync(join(repoRoot, folder, file), "utf8");
    if (!same) throw new Error(`${patch} does not give back ${join(folder, file)}`);
  }
  rmSync(join(repoRoot, check), { recursive: true });
  return patch;
}

function main([command, wanted, name, dir, line]: string[]): void {
  if (!wanted || !name || !(command === "make" || (command === "save" && dir))) {
    throw new Error(
      'Usage: node scripts/run-ts.mjs scripts/answers.ts make NN-name answer-name\n       node scripts/run-ts.mjs scripts/answers.ts save NN-name answer-name DIR ["one line"]',
    );
  }
  const exercise = findExercise(wanted);
  const kept = keptAnswers(exercise).find((answer) => answer.name === name);
  if (command === "make") {
    const folder = scratchDir(`edit-${exercise.name}--${name}`);
    copyStarter(exercise, folder);
    if (kept && apply(folder, kept.patch, "--reject").status !== 0) {
      console.error(
        `${kept.patch} no longer applies: do by hand what ${folder}/*.rej say, then delete them`,
      );
    }
    console.log(folder);
    return;
  }
  const summary = line ?? kept?.summary;
  if (!summary || !dir) throw new Error(`say in one line what ${name} is ("wrong: …")`);
  console.log(`wrote ${saveAnswer(exercise, name, dir, summary)}`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
