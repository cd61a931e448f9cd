/**
 * What the lesson buttons do (the manifest's `demos` say which step shows which). Each sends
 * its requests through the page's proxy, as the app pane's browser (its last Cookie header),
 * marked so that the cookie pane says who sent them; and tells what happens, line by line, to SAY.
 */
import { boundForLoad } from "../../lib/services/net.ts";
import type { Step } from "../../workshop.ts";
import { frozenService } from "./lessons.ts";
import { PAGE_HEADER } from "./proxy.ts";
import type { StepServices } from "./services.ts";

export interface DemoContext {
  step: Step;
  services: StepServices;
  /** The proxy's address: http://127.0.0.1:PORT */
  proxyUrl: string;
  /** The Cookie header the app pane's browser sent last ("" when none yet). */
  cookie: string;
  say: (line: string) => void;
}

interface Answer {
  status: number;
  ms: number;
  /** The JSON answer, when there was one. */
  json?: Record<string, unknown>;
  /** Why there was no answer. */
  error?: string;
  /** The cookies it set, as NAME=VALUE pairs. */
  cookies?: string[];
}

/** GET PATH through the proxy as the app pane's browser, asking for JSON; never throws. */
async function ask(context: DemoContext, by: string, path = "/"): Promise<Answer> {
  const started = Date.now();
  const headers: Record<string, string> = { accept: "application/json", [PAGE_HEADER]: by };
  if (context.cookie) headers.cookie = context.cookie;
  const limit = boundForLoad(10_000);
  try {
    const response = await fetch(new URL(path, context.proxyUrl), {
      headers,
      signal: AbortSignal.timeout(limit.ms),
    });
    const text = await response.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {}
    const cookies = response.headers.getSetCookie().map((line) => line.split(";")[0] ?? "");
    return {
      status: response.status,
      ms: Date.now() - started,
      cookies,
      ...(json ? { json } : {}),
    };
  } catch (error) {
    const why =
      (error as Error).name === "TimeoutError" ? `no answer, ${limit.said}` : String(error);
    return { status: 0, ms: Date.now() - started, error: why };
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const shown = (answer: Answer) =>
  answer.status ? `${answer.status} in ${answer.ms} ms` : `${answer.error} (${answer.ms} ms)`;

/**
 * Step 08: twenty requests at once with one cookie. Each pauses 100 ms (`?think=100`) between
 * express-session reading the session and writing it back, as a slow route would: all read the
 * same count, and the last write wins. The atomic counter (HINCRBY) counts every one.
 */
export async function burst(context: DemoContext): Promise<void> {
  const { say } = context;
  const by = "20 requests at once";
  const before = await ask(context, by);
  if (before.status !== 200 || !before.json) {
    say(`GET / answered ${shown(before)}: no burst without a working app.`);
    return;
  }
  if (!context.cookie) say("The app pane had no session yet: the burst starts one of its own.");
  const jar = context.cookie || (before.cookies ?? []).join("; ");
  const started = Date.now();
  const answers = await Promise.all(
    Array.from({ length: 20 }, () => ask({ ...context, cookie: jar }, by, "/?think=100")),
  );
  const after = await ask({ ...context, cookie: jar }, by);
  const count = (answer: Answer, name: string) => Number(answer.json?.[name] ?? Number.NaN);
  const seen = (name: string) => answers.map((answer) => count(answer, name)).join(" ");
  say(`20 requests sent at once, all answered within ${Date.now() - started} ms:`);
  say(`  statuses:             ${answers.map((answer) => answer.status).join(" ")}`);
  say(`  the session's count each answer saw: ${seen("naiveVisits")}`);
  say(`  the atomic count each answer saw:    ${seen("visits")}`);
  const moved = (name: string) => count(after, name) - count(before, name) - 1;
  say(
    `Then one more visit. Of the 20: the session's counter moved by ${moved("naiveVisits")} ` +
      `(${20 - moved("naiveVisits")} lost updates: each request wrote back what it read plus ` +
      `one); the atomic counter moved by ${moved("visits")}.`,
  );
  say(
    `Final count: ${count(after, "naiveVisits")} in the session, ${count(after, "visits")} ` +
      "counted atomically. Reload the app pane to see it.",
  );
}

/**
 * Step 09: SIGKILL the primary (no chance to save or say goodbye), then ask the app every 250 ms
 * until it answers 200 again; then start the old primary again, which the sentinels turn into a
 * replica of the new one.
 */
export async function killPrimary(context: DemoContext): Promise<void> {
  const { say } = context;
  const sentinels = context.services.sentinels;
  if (!sentinels) return say("This step has no sentinels the page started.");
  const old = await sentinels.primary();
  await sentinels.crash(old.port);
  const started = Date.now();
  say(`+0.0 s  SIGKILL to the primary, 127.0.0.1:${old.port}. Asking the app every 250 ms…`);
  const limit = boundForLoad(30_000);
  let last = "";
  let promoted = "";
  for (;;) {
    const answer = await ask(context, "after the primary was killed");
    const now = await sentinels.primary().catch(() => old);
    if (!promoted && now.port !== old.port) {
      promoted = `127.0.0.1:${now.port}`;
      say(`+${seconds(Date.now() - started)}  the sentinels name a new primary: ${promoted}`);
    }
    const line = answer.status === 200 ? "200" : shown(answer);
    if (line !== last) say(`+${seconds(Date.now() - started)}  GET / → ${shown(answer)}`);
    last = line;
    if (answer.status === 200 && promoted) {
      say(`The app answered again ${seconds(Date.now() - started)} after the kill.`);
      break;
    }
    if (Date.now() - started > limit.ms) {
      say(`The app did not answer 200 again within ${limit.said}.`);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await sentinels.start(old.port);
  say(
    `Started 127.0.0.1:${old.port} again: the sentinels will make it a replica of the new primary.`,
  );
}

/**
 * Steps 03, 04, 10: SIGSTOP the store's process, as a hung server (its connections stay open,
 * nothing answers). The app must give up on it within seconds (a 503), and recover once it is
 * thawed. Frozen at least 3 s, and until an answer came (or a bound passed).
 */
export async function freeze(context: DemoContext): Promise<void> {
  const { say } = context;
  const which = frozenService(context.step);
  const server = which && context.services[which];
  if (!server) return say("This step has no store server that the page started.");
  const by = "while the store was frozen";
  const started = Date.now();
  server.freeze();
  say(`+0.0 s  SIGSTOP to the ${which} server (port ${server.port}): it answers nobody now.`);
  let thawed = 0;
  try {
    let answered: Answer | undefined;
    const limit = boundForLoad(15_000);
    while (!answered && Date.now() - started < limit.ms) {
      const answer = await ask(context, by);
      say(`+${seconds(Date.now() - started)}  GET / → ${shown(answer)}`);
      if (answer.status !== 0) answered = answer;
    }
    const rest = 3000 - (Date.now() - started);
    if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
  } finally {
    server.thaw();
    thawed = Date.now();
  }
  say(`+${seconds(thawed - started)}  SIGCONT: the ${which} server answers again.`);
  const limit = boundForLoad(15_000);
  for (;;) {
    const answer = await ask(context, "after the store was thawed");
    say(`+${seconds(Date.now() - started)}  GET / → ${shown(answer)}`);
    if (answer.status === 200) {
      say(`Back: a 200 ${seconds(Date.now() - thawed)} after the thaw.`);
      break;
    }
    if (Date.now() - thawed > limit.ms) {
      say(`No 200 within ${limit.said} of the thaw.`);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
