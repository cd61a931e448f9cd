import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root folder. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * `.workshop/NAME` under the repository (git-ignored): where the workshop keeps the data of
 * the Redis and MongoDB servers it starts for `npm run step:N`, and the FileStore's sessions.
 */
export function workshopDir(name: string): string {
  // WORKSHOP_DIR moves the whole folder (the tests use a temporary one).
  const dir = join(process.env.WORKSHOP_DIR ?? join(repoRoot, ".workshop"), name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * `.workshop/NAME` of this checkout, wherever WORKSHOP_DIR points: for what is made once and
 * only read after (the empty databases that new data folders start from), not for data.
 */
export function cacheDir(name: string): string {
  const dir = join(repoRoot, ".workshop", name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
