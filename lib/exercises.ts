import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { steps } from "../workshop.ts";
import { repoRoot } from "./services/workshop-dir.ts";

/** One exercise, found by its folder exercises/NN-name. */
export interface Exercise {
  /** 1 for exercises/01-reset-and-greet. */
  number: number;
  /** The folder's name: "01-reset-and-greet". */
  name: string;
  /** The learner's folder, relative to the repository: "exercises/01-reset-and-greet". */
  dir: string;
  /**
   * The pristine starter: "starters/01-reset-and-greet". The learner's folder begins as a copy
   * of it; `npm run reset` copies it back, `npm run diff` compares with it, and the tests check
   * it (not the learner's folder, which may be half done).
   */
  starterDir: string;
  /** The solution's folder: "solutions/01-reset-and-greet". */
  solutionDir: string;
  /** The check that proves it: "test/checks/01-reset-and-greet.check.ts". */
  checkFile: string;
}

/** Which folder a check runs against: the learner's code or the solution. */
export type Target = "exercise" | "solution";

/** Every exercise, in the order of the steps they belong to (workshop.ts). */
export function findExercises(): Exercise[] {
  return steps.map(({ number, exercise: name }) => ({
    number,
    name,
    dir: join("exercises", name),
    starterDir: join("starters", name),
    solutionDir: join("solutions", name),
    checkFile: join("test", "checks", `${name}.check.ts`),
  }));
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

/** The code files of a folder: everything but its README.md, sorted. */
export function codeFiles(dir: string): string[] {
  const absolute = join(repoRoot, dir);
  if (!existsSync(absolute)) return [];
  return readdirSync(absolute, { recursive: true, encoding: "utf8" })
    .filter((file) => file !== "README.md" && statSync(join(absolute, file)).isFile())
    .sort();
}

/** Where an exercise's wrong and right answers are kept (test/exercises.test.ts runs them). */
export function answersDir(exercise: Exercise): string {
  return join("test", "checks", "answers", exercise.name);
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
