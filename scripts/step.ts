/**
 * `npm run step -- N` runs step N's server, as `npm run step:N` does.
 * The list of steps is workshop.ts; with no N (or a wrong one) this prints it.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { stepNumbered, steps } from "../workshop.ts";

const wanted = process.argv[2] ?? "";
const step = /^\d+$/.test(wanted) ? stepNumbered(Number(wanted)) : undefined;
if (!step) {
  const list = steps.map(({ number, title }) => `  ${number}  ${title}`).join("\n");
  console.error(
    `${wanted ? `There is no step ${wanted}.` : "Which step?"} Usage: npm run step -- N\n${list}`,
  );
  process.exit(2);
}
// The step's own server.ts, in this process: signals (Ctrl-C) reach it directly.
process.env.WORKSHOP_STEP = step.slug; // how the step's pages know which step they are
await import(pathToFileURL(join(repoRoot, "steps", step.slug, "server.ts")).href);
