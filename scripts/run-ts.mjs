/**
 * Runs a TypeScript file, as `npm run step:N` does: `node scripts/run-ts.mjs steps/NN-slug/server.ts`.
 * Node 22.18+ and 24 strip the types themselves (process.features.typescript): the file runs
 * as it is, with nothing in between. Node 20 loads lib/node20-typescript.mjs first (esbuild, as
 * tsx does). Either way the file runs in this process, so Ctrl-C and SIGTERM reach it directly
 * and its exit code is the command's. Every `npm run` command starts this way.
 * Plain JavaScript, so that Node 20 can run it before any TypeScript can run.
 */
import module from "node:module";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error("Usage: node scripts/run-ts.mjs FILE.ts [ARGS…]");
  process.exit(2);
}
// Node 22.1+ keeps the code it compiles on disk and reuses it while the file is unchanged: a
// step's second start costs about half the CPU (on Node 24, 0.48 → 0.27 s for step 01). Set in
// the environment, so that the processes this one starts (a test's steps) share it. Node 20
// has no such cache and ignores both lines.
process.env.NODE_COMPILE_CACHE ??= fileURLToPath(
  new URL("../.workshop/node-compile-cache", import.meta.url),
);
module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE);
if (!process.features.typescript) {
  const loader = new URL("../lib/node20-typescript.mjs", import.meta.url).href;
  await import(loader);
  // What `node --import LOADER` would leave there: a process this one forks (cluster.fork in
  // step 06) loads it too.
  process.execArgv.push("--import", loader);
}
// The file sees itself as the script Node runs (steps/shared/current-step.ts reads argv[1];
// cluster.fork starts argv[1] again).
const path = resolve(file);
process.argv = [process.argv[0], path, ...args];
await import(pathToFileURL(path).href);
