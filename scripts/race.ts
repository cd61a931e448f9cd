/**
 * `npm run race` fires many requests at once with ONE session cookie at a running step, as two
 * tabs or parallel fetches of one browser would, and says how many visits each counter counted.
 *
 *   npm run race                          20 requests at the step on http://localhost:3000
 *   npm run race -- --requests 100        more
 *   npm run race -- --step 3              …and make sure it is step 3 that answers there
 *   npm run race -- --url http://localhost:3001 --think 200
 *
 * Every step counts in the session (read, add one, write back): it loses updates. Step 08 also
 * counts with an atomic command in Redis, and its `?think=MS` widens the gap on purpose.
 */
import { parseArgs } from "node:util";
import { Browser } from "../lib/browser.ts";
import { stepNumbered } from "../workshop.ts";

const USAGE = "Usage: npm run race -- [--requests N] [--step N] [--url URL] [--think MS]";

interface Counts {
  visits: number;
  naiveVisits?: number;
}

async function visit(browser: Browser, path = "/"): Promise<Counts> {
  const response = await browser.request(path, { json: true });
  if (response.status !== 200) {
    throw new Error(`GET ${path} answered ${response.status}: ${(await response.text()).trim()}`);
  }
  return (await response.json()) as Counts;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      requests: { type: "string", default: "20" },
      step: { type: "string" },
      url: { type: "string", default: process.env.STEP_URL ?? "http://localhost:3000" },
      think: { type: "string", default: "0" },
    },
  });
  const requests = Number(values.requests);
  if (!Number.isInteger(requests) || requests < 1 || requests > 10_000) {
    console.error(`--requests must be a whole number from 1 to 10000.\n${USAGE}`);
    return 2;
  }
  const url = values.url;
  const browser = new Browser(url);

  let running: string | null;
  try {
    const probe = await fetch(new URL("/.well-known/workshop-step", url), { method: "HEAD" });
    running = probe.headers.get("x-workshop-step");
  } catch {
    console.error(`Nothing answers on ${url}. Start a step first (npm run step:N), or pass --url.`);
    return 1;
  }
  if (values.step !== undefined) {
    const wanted = stepNumbered(Number(values.step));
    if (!wanted) {
      console.error(`There is no step ${values.step}.\n${USAGE}`);
      return 2;
    }
    if (running !== wanted.slug) {
      console.error(
        `Step ${wanted.slug} was asked for, but ${running ? `step ${running}` : "something else"} ` +
          `answers on ${url}. Start it with \`npm run step:${wanted.number}\`.`,
      );
      return 1;
    }
  }

  const before = await visit(browser); // the session, and its cookie, exist from here on
  const path = Number(values.think) > 0 ? `/?think=${Number(values.think)}` : "/";
  const started = Date.now();
  const answers = await Promise.allSettled(
    Array.from({ length: requests }, () => visit(browser, path)),
  );
  const ms = Date.now() - started;
  const failed = answers.filter((answer) => answer.status === "rejected");
  const after = await visit(browser);

  console.log(
    `${running ?? url}: ${requests} requests at once with one cookie, answered in ${ms} ms` +
      (failed.length > 0 ? `, ${failed.length} failed` : ""),
  );
  const line = (name: string, counted: number) => {
    const lost = requests - failed.length - counted;
    console.log(
      `  ${name.padEnd(16)} ${String(counted).padStart(6)} of ${requests - failed.length}` +
        (lost > 0 ? `  (${lost} lost)` : ""),
    );
  };
  // The burst's own visits: what the counter moved by, minus the one visit after it.
  if (after.naiveVisits !== undefined && before.naiveVisits !== undefined) {
    line("exact counter", after.visits - before.visits - 1);
    line("naive counter", after.naiveVisits - before.naiveVisits - 1);
  } else {
    line("session counter", after.visits - before.visits - 1);
    console.log("  (this step counts only in the session; step 08 adds an exact counter)");
  }
  if (failed.length > 0) {
    const first = failed[0] as PromiseRejectedResult;
    console.log(`  first failure: ${(first.reason as Error).message}`);
  }
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error.message);
    process.exit(1);
  },
);
