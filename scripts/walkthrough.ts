/**
 * Replays the redis-cli walkthroughs of scripts/redis-cli/ against the workshop's Redis.
 *
 *   npm run walkthrough                      all that fit the step running (others: skipped, and why)
 *   npm run walkthrough -- 03                the one whose name starts with (or contains) "03"
 *   npm run walkthrough -- path/to/x.redis   a file of your own
 *
 * Redis: REDIS_URL, or the one `npm run step:3` uses; @sql queries go to DATABASE_URL, or the
 * PostgreSQL `npm run step:5` uses; each found or started only when a walkthrough replayed uses it. @http requests go to STEP_URL
 * (default http://localhost:3000), where the walkthrough's step must be running.
 * In a terminal it waits for Enter between commands; piped, it runs straight through.
 * Exit code 1 when some output did not match what the walkthrough expects.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { createInterface } from "node:readline/promises";
import { isPortOpen } from "../lib/services/net.ts";
import { postgresUrlForStep } from "../lib/services/postgres.ts";
import { redact, redisUrlForStep } from "../lib/services/redis.ts";
import { configuredSentinels } from "../lib/services/redis-sentinel.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { steps } from "../workshop.ts";
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
  const names = process.argv.slice(2);
  const walkthroughs = findWalkthroughs(names).map(loadWalkthrough);
  const stepUrl = process.env.STEP_URL ?? "http://localhost:3000";
  const running = await stepAt(stepUrl);
  // Which to replay, decided before any service is found or started: asked for by name, each
  // one; else those of the step running (workshop.ts), or with no step running those that
  // need none. Each of the others is skipped, with why (or, asked for by name, fails).
  const ofRunning: readonly string[] | undefined = steps.find(
    (step) => step.slug === running.slug,
  )?.walkthroughs;
  const skipped: string[] = [];
  let failures = 0;
  const replaying = walkthroughs.filter((walkthrough) => {
    if (walkthrough.step && walkthrough.step !== running.slug) {
      const why = whyNot(walkthrough.step, running, stepUrl);
      if (names.length > 0) {
        console.error(`\n== ${walkthrough.name}: ${why}`);
        failures++;
      } else {
        skipped.push(`${walkthrough.name}: ${why}`);
      }
      return false;
    }
    if (names.length > 0 || !ofRunning || ofRunning.includes(walkthrough.name)) return true;
    const owner = steps.find((step) => step.walkthroughs.some((name) => name === walkthrough.name));
    skipped.push(
      `${walkthrough.name}: belongs to step ${owner?.number ?? "?"}, not to step ${running.slug} ` +
        `(\`npm run walkthrough -- ${walkthrough.name}\` replays it all the same).`,
    );
    return false;
  });
  // Only the services those need: Redis for redis-cli commands (a sentinel walkthrough talks to
  // the step's sentinels), PostgreSQL for @sql queries.
  const uses = (kind: string, walkthrough: Walkthrough) =>
    walkthrough.actions.some((action) => action.kind === kind);
  const redisUrl = replaying.some((w) => w.redis !== "sentinel" && uses("redis", w))
    ? await redisUrlForStep()
    : "";
  const postgresUrl = replaying.some((w) => uses("sql", w))
    ? await postgresUrlForStep()
    : undefined;
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const prompt = interactive
    ? createInterface({ input: process.stdin, output: process.stdout })
    : undefined;
  const pause = prompt
    ? async () => {
        await prompt.question("\u001b[2m[Enter] next command\u001b[0m");
      }
    : undefined;

  let replayed = 0;
  try {
    for (const walkthrough of replaying) {
      const needs = walkthrough.step ? `, with step ${walkthrough.step} at ${stepUrl}` : "";
      const target = walkthrough.redis === "sentinel" ? sentinelUrl() : redisUrl;
      const redisShown = uses("redis", walkthrough) ? `Redis ${redact(target)}` : "no Redis";
      console.log(`\n== ${walkthrough.name} (${redisShown}${needs})\n`);
      const result = await runWalkthrough(walkthrough, {
        redisUrl: target,
        stepUrl,
        postgresUrl,
        print: (text) => console.log(text),
        pause,
        color: process.stdout.isTTY,
      });
      replayed++;
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
  console.log(`\n${replayed} walkthrough${replayed === 1 ? "" : "s"} replayed.`);
  if (skipped.length > 0) {
    console.log(`Skipped, each says why:\n  ${skipped.join("\n  ")}`);
  }
  return failures === 0 ? 0 : 1;
}

/** The first sentinel of step 09's Redis: REDIS_SENTINELS, else the workshop's own. */
function sentinelUrl(): string {
  const [first] = configuredSentinels().sentinels;
  return `redis://${first?.host ?? "127.0.0.1"}:${first?.port ?? 26379}`;
}

/** What answers at STEP_URL: a step (by its X-Workshop-Step header), something else, or nothing. */
async function stepAt(stepUrl: string): Promise<{ slug?: string; answers: boolean }> {
  const url = new URL(stepUrl);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname === "localhost" ? "127.0.0.1" : url.hostname;
  if (!(await isPortOpen(port, host, 1000))) return { answers: false };
  try {
    // A path no step serves: the answer is a 404 that creates no session, with the header.
    const response = await fetch(new URL("/.well-known/workshop-step", stepUrl), {
      method: "HEAD",
      signal: AbortSignal.timeout(3000),
    });
    return { slug: response.headers.get("x-workshop-step") ?? undefined, answers: true };
  } catch {
    return { answers: true };
  }
}

/** Why a walkthrough that needs step NEEDED cannot replay against what runs at STEP_URL. */
function whyNot(needed: string, running: { slug?: string; answers: boolean }, stepUrl: string) {
  const step = steps.find((s) => s.slug === needed);
  const start = `start it with \`npm run step:${step?.number ?? needed}\``;
  if (!running.answers) return `needs step ${needed}; nothing answers on ${stepUrl} (${start}).`;
  if (!running.slug) {
    return (
      `needs step ${needed}; what answers on ${stepUrl} does not say which step it is ` +
      `(${start}, or set STEP_URL to where it runs).`
    );
  }
  return `needs step ${needed}, but step ${running.slug} runs on ${stepUrl} (${start} instead).`;
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
