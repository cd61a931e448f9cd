/**
 * Which folder a check runs against: EXERCISE_DIR, set by `npm run check` to
 * exercises/NN-name (the learner's code) or solutions/NN-name (with --solution).
 * Checks import the code under test from there, so a learner cannot pass by editing a check.
 */
import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../../lib/services/workshop-dir.ts";

export function exerciseDir(): string {
  const dir = process.env.EXERCISE_DIR;
  if (!dir) {
    throw new Error(
      "EXERCISE_DIR is not set. Run checks with `npm run check -- N` (or --solution).",
    );
  }
  return isAbsolute(dir) ? dir : join(repoRoot, dir);
}

/**
 * Imports FILE from the target folder, typed like the solution's module:
 *   const { createApp } = await importTarget<typeof import("../../solutions/01-reset/app.ts")>("app.ts");
 */
export async function importTarget<Module>(file: string): Promise<Module> {
  return (await import(pathToFileURL(join(exerciseDir(), file)).href)) as Module;
}
