/**
 * Type-checks the learner's files, as `tsc` would with the workshop's tsconfig.json, and says
 * where a type error is (file:line). Runs in a child process (it takes a couple of seconds of
 * CPU, while the checks run), and remembers folders whose files have not changed since they
 * last type-checked clean (.workshop/typecheck.json).
 *   node --import tsx scripts/check/typecheck.ts DIR…   prints {"DIR": ["file:line: message"]}
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { codeFiles } from "../../lib/exercises.ts";
import { typeScript } from "../../lib/run-script.ts";
import { repoRoot } from "../../lib/services/workshop-dir.ts";

const CACHE = join(repoRoot, ".workshop", "typecheck.json");

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
  const child = spawn(process.execPath, [...typeScript, fileURLToPath(import.meta.url), ...todo], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  await new Promise((resolve) => child.once("close", resolve));
  let found: Record<string, string[]> = {};
  try {
    found = JSON.parse(out) as Record<string, string[]>;
  } catch {
    return errors; // the type check itself failed: the checks still say what they found
  }
  for (const dir of todo) {
    const list = found[dir] ?? [];
    errors.set(dir, list);
    if (list.length === 0) cache[dir] = hashes.get(dir) ?? "";
    else delete cache[dir];
  }
  mkdirSync(join(repoRoot, ".workshop"), { recursive: true });
  writeFileSync(CACHE, JSON.stringify(cache, null, 2));
  return errors;
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

/** In the child: one TypeScript program over the folders' files. */
async function main(dirs: string[]): Promise<void> {
  const ts = (await import("typescript")).default;
  const config = ts.getParsedCommandLineOfConfigFile(
    join(repoRoot, "tsconfig.json"),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: () => {},
    },
  );
  if (!config) return;
  const roots = dirs.flatMap((dir) =>
    codeFiles(dir)
      .filter((file) => file.endsWith(".ts"))
      .map((file) => join(repoRoot, dir, file)),
  );
  const program = ts.createProgram(roots, { ...config.options, noEmit: true });
  const found: Record<string, string[]> = Object.fromEntries(dirs.map((dir) => [dir, []]));
  // Only the learner's files: the rest of the workshop is type-checked by npm test.
  const diagnostics = roots.flatMap((root) => {
    const source = program.getSourceFile(root);
    return source
      ? [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
      : [];
  });
  for (const diagnostic of diagnostics) {
    const file = diagnostic.file;
    if (!file) continue;
    const relative = file.fileName.slice(repoRoot.length + 1);
    const dir = dirs.find((d) => relative.startsWith(`${d}/`));
    if (!dir) continue;
    const { line } = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n").split("\n")[0];
    found[dir]?.push(`${relative}:${line + 1}: ${message}`);
  }
  process.stdout.write(JSON.stringify(found));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
