import { type SpawnOptions, spawn } from "node:child_process";
import { repoRoot } from "./services/workshop-dir.ts";

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
  return runProgram(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
  });
}
