import { type SpawnOptions, spawn } from "node:child_process";
import { repoRoot } from "./services/workshop-dir.ts";

/**
 * What `node` needs before a .ts file of the workshop: nothing on Node 22.18+ and 24, which
 * strip the types themselves (tsconfig.json allows only such erasable TypeScript), else
 * lib/node20-typescript.mjs (Node 20: esbuild, as tsx does, at 0.3 s less CPU a process than tsx).
 *   spawn(process.execPath, [...typeScript, "steps/01-memory-store/server.ts"])
 */
export const typeScript: readonly string[] = (process.features as { typescript?: unknown })
  .typescript
  ? []
  : ["--import", new URL("./node20-typescript.mjs", import.meta.url).href];

/**
 * Runs PROGRAM to its end without blocking this process; resolves with its exit code and
 * everything it printed (or, when it could not start, a null code and why).
 */
export function runProgram(
  program: string,
  args: string[],
  options: SpawnOptions = {},
): Promise<{ code: number | null; output: string }> {
  const child = spawn(program, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return new Promise((resolve) => {
    child.once("error", (error) => resolve({ code: null, output: error.message }));
    child.once("close", (code) => resolve({ code, output }));
  });
}

/**
 * Runs a workshop script (`scripts/NAME.ts`) as `npm run NAME` would, without npm and without a
 * terminal; resolves with its exit code and everything it printed.
 */
export function runScript(
  script: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  return runProgram(process.execPath, [...typeScript, script, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
  });
}
