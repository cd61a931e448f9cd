/**
 * Runs a TypeScript file, as `npm run step:N` does: `node scripts/run-ts.mjs steps/NN-slug/server.ts`.
 * Node 22.18+ and 24 strip the types themselves (process.features.typescript): the file runs
 * as it is, with nothing in between. Older Node (20) loads tsx first. Either way the file runs
 * in this process, so Ctrl-C and SIGTERM reach it directly and its exit code is the command's.
 * Plain JavaScript, so that Node 20 can run it before tsx is loaded.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error("Usage: node scripts/run-ts.mjs FILE.ts [ARGS…]");
  process.exit(2);
}
if (!process.features.typescript) {
  await import("tsx");
  // What `node --import tsx` would leave there: a process this one forks (cluster.fork in
  // step 06) loads tsx too.
  process.execArgv.push("--import", "tsx");
}
// The file sees itself as the script Node runs (steps/shared/current-step.ts reads argv[1];
// cluster.fork starts argv[1] again).
const path = resolve(file);
process.argv = [process.argv[0], path, ...args];
await import(pathToFileURL(path).href);
