/**
 * Type-checks the learner's files, as `npm run typecheck` does the workshop's, and says where a
 * type error is (file:line). It runs `tsc` (TypeScript 7, a native program: 2.5 s on 2 cores)
 * beside the checks, on a tsconfig of its own that extends the workshop's and lists only the
 * learner's files, and remembers folders whose files have not changed since they last
 * type-checked clean (.workshop/typecheck.json).
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { codeFiles } from "../../lib/exercises.ts";
import { runProgram } from "../../lib/run-script.ts";
import { repoRoot } from "../../lib/services/workshop-dir.ts";

const WORKSHOP = join(repoRoot, ".workshop");
const CACHE = join(WORKSHOP, "typecheck.json");
const TSC = createRequire(import.meta.url)
  .resolve("typescript/package.json")
  .replace(/package\.json$/, "bin/tsc");

/** The type errors of each folder (empty: none), by folder. */
export async function typecheck(dirs: readonly string[]): Promise<Map<string, string[]>> {
  const cache = readCache();
  const hashes = new Map(dirs.map((dir) => [dir, hashOf(dir)]));
  const errors = new Map<string, string[]>();
  const todo = dirs.filter((dir) => {
    if (cache[dir] === hashes.get(dir)) errors.set(dir, []);
    return cache[dir] !== hashes.get(dir);
  });
  if (todo.length === 0) return errors;
  const found = await tsc(todo);
  if (!found) return errors; // tsc itself failed: the checks still say what they found
  for (const dir of todo) {
    const list = found.get(dir) ?? [];
    errors.set(dir, list);
    if (list.length === 0) cache[dir] = hashes.get(dir) ?? "";
    else delete cache[dir];
  }
  writeFileSync(CACHE, JSON.stringify(cache, null, 2));
  return errors;
}

/**
 * `tsc` over the .ts files of DIRS alone (what they import is read, not reported): the errors
 * in each folder's files, "file:line: message", or undefined when tsc could not run.
 */
async function tsc(dirs: string[]): Promise<Map<string, string[]> | undefined> {
  mkdirSync(WORKSHOP, { recursive: true });
  const configDir = mkdtempSync(join(WORKSHOP, "typecheck-"));
  const files = dirs.flatMap((dir) =>
    codeFiles(dir)
      .filter((file) => file.endsWith(".ts"))
      .map((file) => join(repoRoot, dir, file)),
  );
  const config = { extends: join(repoRoot, "tsconfig.json"), include: [], files };
  writeFileSync(join(configDir, "tsconfig.json"), JSON.stringify(config));
  try {
    const { code, output } = await runProgram(
      process.execPath,
      [TSC, "-p", configDir, "--pretty", "false", "--singleThreaded"],
      { cwd: repoRoot },
    );
    if (code === null) return undefined;
    const found = new Map<string, string[]>(dirs.map((dir) => [dir, []]));
    // One error per line, "path(line,col): error TS1234: message"; its details follow, indented.
    const reported = [...output.matchAll(/^(\S[^(\n]*)\((\d+),\d+\): error TS\d+: (.*)$/gm)];
    // Errors, but none in a file: tsc could not check (its own config, say), not "no error".
    if (code !== 0 && reported.length === 0) return undefined;
    for (const [, file = "", line, message] of reported) {
      const dir = dirs.find((d) => file.startsWith(`${d}/`));
      found.get(dir ?? "")?.push(`${file}:${line}: ${message}`);
    }
    return found;
  } finally {
    rmSync(configDir, { recursive: true, force: true });
  }
}

function readCache(): Record<string, string> {
  try {
    return JSON.parse(readFileSync(CACHE, "utf8")) as Record<string, string>;
  } catch {
    return {};
  }
}

function hashOf(dir: string): string {
  const hash = createHash("sha256");
  for (const file of codeFiles(dir))
    hash.update(file).update(readFileSync(join(repoRoot, dir, file)));
  return hash.digest("hex");
}
