import {
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { steps } from "../workshop.ts";
import { repoRoot } from "./services/workshop-dir.ts";

/**
 * One exercise: its folder exercises/NN-name holds all of it.
 *   README.md   the task                     hints.md    the hints, one per `## Hint N`
 *   starter/    the code as it starts        solution/   the same files, done
 *   check.ts    the check                    answers/    kept wrong and right answers
 *   yours/      the learner's copy of starter/: git-ignored, made when missing
 * starter/, solution/ and yours/ are as deep as one another, so their imports are the same.
 */
export interface Exercise {
  /** 1 for exercises/01-reset-and-greet. */
  number: number;
  /** The folder's name: "01-reset-and-greet". */
  name: string;
  /** The exercise's folder, relative to the repository: "exercises/01-reset-and-greet". */
  folder: string;
  /** The learner's working copy: "exercises/01-reset-and-greet/yours" (git-ignored). */
  dir: string;
  /**
   * The pristine starter: "exercises/01-reset-and-greet/starter". The learner's copy begins as
   * a copy of it; `npm run reset` copies it back, `npm run diff` compares with it, and the tests
   * check it (never the learner's copy, which may be half done).
   */
  starterDir: string;
  /** The solution: "exercises/01-reset-and-greet/solution". */
  solutionDir: string;
  /** The check that proves it: "exercises/01-reset-and-greet/check.ts". */
  checkFile: string;
}

/** Which folder a check runs against: the learner's code or the solution. */
export type Target = "exercise" | "solution";

/** Every exercise, in the order of the steps they belong to (workshop.ts). */
export function findExercises(): Exercise[] {
  return steps.map(({ number, exercise: name }) => {
    const folder = join("exercises", name);
    return {
      number,
      name,
      folder,
      dir: join(folder, "yours"),
      starterDir: join(folder, "starter"),
      solutionDir: join(folder, "solution"),
      checkFile: join(folder, "check.ts"),
    };
  });
}

/** The exercise a learner names on the command line: "3", "03" or "03-move-to-redis". */
export function findExercise(wanted: string): Exercise {
  const exercises = findExercises();
  const found = exercises.find((exercise) =>
    /^\d+$/.test(wanted) ? exercise.number === Number(wanted) : exercise.name === wanted,
  );
  if (found) return found;
  const known = exercises.map((exercise) => `  ${exercise.number}  ${exercise.name}`).join("\n");
  throw new Error(`There is no exercise ${wanted}. The exercises are:\n${known}`);
}

/** The folder a target means, relative to the repository. */
export function targetDir(exercise: Exercise, target: Target): string {
  return target === "solution" ? exercise.solutionDir : exercise.dir;
}

/** The files of a folder (relative to the repository), with their paths inside it, sorted. */
export function codeFiles(dir: string): string[] {
  const absolute = join(repoRoot, dir);
  if (!existsSync(absolute)) return [];
  return readdirSync(absolute, { recursive: true, encoding: "utf8" })
    .filter((file) => statSync(join(absolute, file)).isFile())
    .sort();
}

/**
 * Makes the learner's copy of EXERCISE: each file of starter/ that yours/ lacks is copied
 * there. A file already in yours/ is never overwritten. Returns the files it copied.
 */
export function makeWorkingCopy(exercise: Exercise): string[] {
  const missing = codeFiles(exercise.starterDir).filter(
    (file) => !existsSync(join(repoRoot, exercise.dir, file)),
  );
  for (const file of missing) {
    const copy = join(repoRoot, exercise.dir, file);
    mkdirSync(dirname(copy), { recursive: true });
    copyFileSync(join(repoRoot, exercise.starterDir, file), copy, constants.COPYFILE_EXCL);
  }
  return missing;
}

/** Makes every exercise's copy that misses files (makeWorkingCopy); a line for each one made. */
export function makeWorkingCopies(): string[] {
  return findExercises().flatMap((exercise) => {
    const copied = makeWorkingCopy(exercise);
    return copied.length === 0
      ? []
      : [`Made ${exercise.dir}/ from its starter (${copied.join(", ")}).`];
  });
}

/** Where an exercise's wrong and right answers are kept (test/exercises.test.ts runs them). */
export function answersDir(exercise: Exercise): string {
  return join(exercise.folder, "answers");
}

/**
 * The hints of an exercise, from a nudge to the near-answer: the text of each `## Hint N`
 * section of its hints.md, in order (`npm run hint -- N` shows them one at a time).
 */
export function readHints(exercise: Exercise): string[] {
  const file = join(repoRoot, exercise.folder, "hints.md");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split(/^## Hint \d+.*$/m)
    .slice(1)
    .map((hint) => hint.trim())
    .filter((hint) => hint !== "");
}

/** What the learner did so far, kept in .workshop/progress.json (git-ignored). */
export interface Progress {
  /** By exercise number: whether its last check passed. */
  done: Record<string, boolean>;
  /** By exercise number: how many hints `npm run hint` has shown. */
  hints: Record<string, number>;
}

const progressFile = () => join(repoRoot, ".workshop", "progress.json");

export function readProgress(): Progress {
  try {
    const saved = JSON.parse(readFileSync(progressFile(), "utf8")) as Partial<Progress>;
    return { done: saved.done ?? {}, hints: saved.hints ?? {} };
  } catch {
    return { done: {}, hints: {} };
  }
}

export function saveProgress(change: (progress: Progress) => void): Progress {
  const progress = readProgress();
  change(progress);
  mkdirSync(join(repoRoot, ".workshop"), { recursive: true });
  writeFileSync(progressFile(), `${JSON.stringify(progress, null, 2)}\n`);
  return progress;
}
