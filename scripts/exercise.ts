/**
 * Runs your app of exercise N on http://localhost:3000 (PORT to change it), with the same
 * services as its step, to try in a browser or with curl:
 *   npm run exercise -- N
 * It runs exercises/NN-name/yours/server.ts, which starts your code.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { findExercise, makeWorkingCopies } from "../lib/exercises.ts";
import { typeScript } from "../lib/run-script.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";

for (const line of makeWorkingCopies()) console.log(line);

const wanted = process.argv[2];
if (!wanted) {
  console.error("Usage: npm run exercise -- N   (runs your app of exercise N on port 3000)");
  process.exit(2);
}
let server: string;
try {
  server = join(findExercise(wanted).dir, "server.ts");
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
}
if (!existsSync(join(repoRoot, server))) {
  console.error(`${server} does not exist: this exercise cannot run on its own (yet).`);
  process.exit(2);
}
console.log(`Running ${server} (Ctrl-C to stop)…`);
const child = spawn(process.execPath, [...typeScript, server], {
  cwd: repoRoot,
  stdio: "inherit",
  env: { ...process.env, PORT: process.env.PORT ?? "3000" },
});
// Ctrl-C reaches the server too (same terminal): let it shut down, then end with its code.
process.on("SIGINT", () => {});
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
