import { spawn } from "node:child_process";
import { repoRoot } from "./services/workshop-dir.ts";

/**
 * Runs a workshop script (`scripts/NAME.ts`) as `npm run NAME` would, without npm and without a
 * terminal; resolves with its exit code and everything it printed.
 */
export function runScript(
  script: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, output })));
}
