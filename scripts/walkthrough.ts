/**
 * Replays the redis-cli walkthroughs of scripts/redis-cli/ against the workshop's Redis.
 *
 *   npm run walkthrough                      all of them, in order
 *   npm run walkthrough -- 03                the one whose name starts with (or contains) "03"
 *   npm run walkthrough -- path/to/x.redis   a file of your own
 *
 * Redis: REDIS_URL, or the one `npm run step:3` uses. @http requests go to STEP_URL
 * (default http://localhost:3000), where the walkthrough's step must be running.
 * In a terminal it waits for Enter between commands; piped, it runs straight through.
 * Exit code 1 when some output did not match what the walkthrough expects.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { createInterface } from "node:readline/promises";
import { isPortOpen } from "../lib/services/net.ts";
import { redact, redisUrlForStep } from "../lib/services/redis.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { parseWalkthrough, type Walkthrough } from "./walkthrough/format.ts";
import { runWalkthrough } from "./walkthrough/run.ts";

const WALKTHROUGHS = join(repoRoot, "scripts", "redis-cli");

/** The walkthrough files NAMES select (all of them when NAMES is empty), in order. */
export function findWalkthroughs(names: string[]): string[] {
  const all = readdirSync(WALKTHROUGHS)
    .filter((file) => file.endsWith(".redis"))
    .sort()
    .map((file) => join(WALKTHROUGHS, file));
  if (names.length === 0) return all;
  return names.map((name) => {
    if (existsSync(name) && name.endsWith(".redis")) return name;
    const found =
      all.find((file) => basename(file).startsWith(name)) ??
      all.find((file) => basename(file).includes(name));
    if (!found) {
      const known = all.map((file) => basename(file, ".redis")).join(", ");
      throw new Error(`No walkthrough called "${name}". There are: ${known}`);
    }
    return found;
  });
}

export function loadWalkthrough(file: string): Walkthrough {
  return parseWalkthrough(basename(file, ".redis"), readFileSync(file, "utf8"));
}

async function main(): Promise<number> {
  const files = findWalkthroughs(process.argv.slice(2));
  const walkthroughs = files.map(loadWalkthrough);
  const redisUrl = await redisUrlForStep();
  const stepUrl = process.env.STEP_URL ?? "http://localhost:3000";
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const prompt = interactive
    ? createInterface({ input: process.stdin, output: process.stdout })
    : undefined;
  const pause = prompt
    ? async () => {
        await prompt.question("\u001b[2m[Enter] next command\u001b[0m");
      }
    : undefined;

  let failures = 0;
  try {
    for (const walkthrough of walkthroughs) {
      const needs = walkthrough.step ? `, with step ${walkthrough.step} at ${stepUrl}` : "";
      console.log(`\n== ${walkthrough.name} (Redis ${redact(redisUrl)}${needs})\n`);
      if (walkthrough.step && !(await stepAnswers(stepUrl))) {
        const number = Number(walkthrough.step.slice(0, 2));
        console.error(
          `Nothing answers on ${stepUrl}. This walkthrough sends requests to step ` +
            `${walkthrough.step}: start it in another terminal with \`npm run step:${number}\` ` +
            "(or set STEP_URL to where it runs), then try again.",
        );
        failures++;
        continue;
      }
      const result = await runWalkthrough(walkthrough, {
        redisUrl,
        stepUrl,
        print: (text) => console.log(text),
        pause,
        color: process.stdout.isTTY,
      });
      failures += result.failures.length;
      console.log(
        result.failures.length === 0
          ? `\n== ${walkthrough.name}: ${result.commands} commands, all as expected`
          : `\n== ${walkthrough.name}: ${result.failures.length} of ${result.commands} commands did not answer as expected`,
      );
    }
  } finally {
    prompt?.close();
  }
  return failures === 0 ? 0 : 1;
}

async function stepAnswers(stepUrl: string): Promise<boolean> {
  const url = new URL(stepUrl);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname === "localhost" ? "127.0.0.1" : url.hostname;
  return isPortOpen(port, host, 1000);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
