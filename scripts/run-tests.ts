/**
 * Runs every *.test.ts of the workshop with Node's own test runner (through tsx).
 * `npm run test:only -- steps/03` runs only the files whose path contains "steps/03".
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../lib/services/workshop-dir.ts";

const SEARCHED = ["steps", "test", "scripts"];
const filters = process.argv.slice(2);

const files = SEARCHED.flatMap((folder) =>
  readdirSync(join(repoRoot, folder), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".test.ts") && !file.includes("node_modules"))
    .map((file) => join(folder, file)),
)
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();

if (files.length === 0) {
  console.error(`No test file matches ${filters.join(", ")}`);
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=3", ...files],
  { cwd: repoRoot, stdio: "inherit" },
);
process.exit(result.status ?? 1);
