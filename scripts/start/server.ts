/**
 * `npm start`: the workshop page, on http://localhost:4000 (PORT=… for another; 0 for any).
 * The steps with your progress; the chosen step's app in a frame; the cookies of every request;
 * what the store holds; the store's traffic; the exercise's check and hints. One page
 * (page.html), its updates by server-sent events (GET /events), its actions by POST /api/…:
 *   start?step=N  stop  new-browser  check?step=N[&solution]  hint?step=N[&next]
 * The step runs as `npm run step:N` does (node scripts/run-ts.mjs steps/NN-*\/server.ts), on a
 * free port, in a process group of its own, stopped with everything it started when this
 * server stops.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import { join } from "node:path";
import {
  findExercise,
  makeWorkingCopy,
  readHints,
  readProgress,
  saveProgress,
  targetDir,
} from "../../lib/exercises.ts";
import { mongoUrlForStep } from "../../lib/services/mongo.ts";
import { freePort } from "../../lib/services/net.ts";
import { redisUrlForStep } from "../../lib/services/redis.ts";
import { repoRoot } from "../../lib/services/workshop-dir.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import { type Step, stepNumbered, steps } from "../../workshop.ts";
import { runChecks } from "../check/run-check.ts";
import { startProxy } from "./proxy.ts";
import { type Urls, watchStore } from "./store.ts";

const PAGE = join(repoRoot, "scripts", "start", "page.html");
/** A step starts in a second or two; a busy machine, or a first MongoDB download, takes longer. */
const START_TIMEOUT_MS = 120_000;

/** The step running now: its process group, its port, and how to stop watching its store. */
let running:
  | { step: Step; child: ChildProcess; port: number; ready: boolean; unwatch?: () => Promise<void> }
  | undefined;
/** Why the last step stopped before it was ready, for the page to say. */
let note = "";
/** The cookie names the app set, so that "new browser" can delete each. */
const cookieNames = new Set([COOKIE_NAME]);

// ---- Server-sent events: every open page gets every update; a page that opens late gets the
// recent ones first.
const pages = new Set<ServerResponse>();
const recent: string[] = [];
let lastStore = "";
function send(event: string, data: unknown): void {
  const message = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  if (event === "store") lastStore = message;
  else recent.push(message);
  if (recent.length > 300) recent.shift();
  for (const page of pages) page.write(message);
}

function state() {
  const progress = readProgress();
  return {
    proxyPort,
    note,
    running: running && { step: running.step.number, pid: running.child.pid, ready: running.ready },
    steps: steps.map((step) => ({
      number: step.number,
      title: step.title,
      lesson: step.lesson,
      store: step.store,
      exerciseTitle: step.exerciseTitle,
      done: progress.done[step.number] === true,
      hints: progress.hints[step.number] ?? 0,
      hintsTotal: readHints(findExercise(String(step.number))).length,
    })),
  };
}
const sendState = () => send("state", state());

// ---- The step's process.
async function start(step: Step): Promise<void> {
  await stop();
  const port = await freePort();
  const say = (text: string) => send("output", text.endsWith("\n") ? text : `${text}\n`);
  note = "";
  say(`Starting step ${step.number} (${step.title})…`);
  // Found here and handed to the step, so that the page watches the very store the step uses.
  const urls: Urls = {};
  if (step.services.includes("redis")) urls.redis = await redisUrlForStep(say);
  if (step.services.includes("mongo")) urls.mongo = await mongoUrlForStep(say);
  const child = spawn(
    process.execPath,
    [join("scripts", "run-ts.mjs"), join("steps", step.slug, "server.ts")],
    {
      cwd: repoRoot,
      env: { ...process.env, PORT: String(port), REDIS_URL: urls.redis, MONGO_URL: urls.mongo },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // a process group of its own: step 06's workers stop with it
    },
  );
  const current = { step, child, port, ready: false } as NonNullable<typeof running>;
  running = current;
  sendState();
  let output = "";
  const ready = new Promise<boolean>((resolve) => {
    const hear = (chunk: Buffer) => {
      say(chunk.toString());
      if (current.ready) return;
      output += chunk.toString();
      if (new RegExp(`listening on http://\\S+:${port}\\b`).test(output)) resolve(true);
    };
    child.stdout?.on("data", hear);
    child.stderr?.on("data", hear);
    child.once("exit", () => resolve(false));
    setTimeout(() => resolve(false), START_TIMEOUT_MS).unref();
  });
  child.once("exit", (code, signal) => {
    const how = signal ?? `exit code ${code}`;
    say(`Step ${step.number} stopped (${how}).`);
    if (!current.ready)
      note = `step ${step.number} stopped before it listened (${how}): its output says why`;
    if (running === current) {
      void current.unwatch?.();
      running = undefined;
      sendState();
    }
  });
  if (!(await ready) || running !== current) {
    if (running === current) await stop();
    return;
  }
  current.ready = true;
  current.unwatch = await watchStore(
    step,
    urls,
    (view) => send("store", view),
    (line) => send("redis", line),
  ).catch((error: Error) => {
    say(`The store pane cannot look inside the store: ${error.message}`);
    return undefined;
  });
  sendState();
}

/** Stops the step's whole process group: SIGTERM, and SIGKILL if it is not gone in 8 s. */
async function stop(): Promise<void> {
  const current = running;
  if (!current) return;
  running = undefined;
  await current.unwatch?.();
  const { child } = current;
  const pid = child.pid as number;
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(undefined);
    else child.once("exit", resolve);
  });
  const group = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {} // already gone
  };
  group("SIGTERM");
  const late = setTimeout(() => group("SIGKILL"), 8000);
  await exited;
  clearTimeout(late);
  group("SIGKILL"); // anything of the group that outlived its leader
  send("store", { store: "", entries: [], note: "No step is running." });
  sendState();
}

// ---- The check pane: the same runner and progress as `npm run check` and `npm run hint`.
async function check(step: Step, solution: boolean) {
  const exercise = findExercise(String(step.number));
  if (!solution) makeWorkingCopy(exercise);
  const dir = targetDir(exercise, solution ? "solution" : "exercise");
  const [result] = await runChecks([{ exercise, dir }]);
  if (!solution && result) saveProgress((progress) => (progress.done[step.number] = result.passed));
  sendState();
  return { dir, passed: result?.passed, cases: result?.cases, problem: result?.problem };
}

function hints(step: Step, next: boolean) {
  const exercise = findExercise(String(step.number));
  const all = readHints(exercise);
  let shown = readProgress().hints[step.number] ?? 0;
  if (next) {
    shown = Math.min(shown + 1, all.length);
    saveProgress((progress) => (progress.hints[step.number] = shown));
    sendState();
  }
  return { total: all.length, hints: all.slice(0, shown) };
}

// ---- The page's server.
const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  const json = (data: unknown, status = 200) => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(data));
  };
  const step = stepNumbered(Number(url.searchParams.get("step")));
  // Only this page may act: not another site's form (Origin), nor a name rebound to 127.0.0.1.
  const host = /^(localhost|127\.0\.0\.1):\d+$/.test(req.headers.host ?? "");
  if (!host || (req.method !== "GET" && req.headers.origin !== `http://${req.headers.host}`)) {
    return json({ error: "only the workshop page, from this machine, may do this" }, 403);
  }
  try {
    if (req.method === "GET" && url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(readFileSync(PAGE));
    } else if (req.method === "GET" && url.pathname === "/events") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      for (const message of [...recent, lastStore]) res.write(message);
      res.write(`event: state\ndata: ${JSON.stringify(state())}\n\n`);
      pages.add(res);
      req.once("close", () => pages.delete(res));
    } else if (req.method === "GET" && url.pathname === "/api/state") {
      json(state());
    } else if (req.method !== "POST") {
      json({ error: "not found" }, 404);
    } else if (url.pathname === "/api/start" && step) {
      void start(step).catch((error: Error) => {
        note = `step ${step.number} could not start: ${error.message}`;
        sendState();
      });
      json({ starting: step.number });
    } else if (url.pathname === "/api/stop") {
      await stop();
      json({ stopped: true });
    } else if (url.pathname === "/api/new-browser") {
      // Cookies ignore ports: deleting them here deletes them for the app's frame too.
      const gone = [...cookieNames].map((name) => `${name}=; Path=/; Max-Age=0`);
      res.writeHead(204, { "set-cookie": gone }).end();
      send("output", "A new browser: the app's cookies deleted.\n");
    } else if (url.pathname === "/api/check" && step) {
      json(await check(step, url.searchParams.has("solution")));
    } else if (url.pathname === "/api/hint" && step) {
      json(hints(step, url.searchParams.has("next")));
    } else {
      json({ error: "not found" }, 404);
    }
  } catch (error) {
    if (!res.headersSent) json({ error: (error as Error).message }, 500);
  }
});

const proxy = await startProxy(
  () => (running?.ready ? running.port : undefined),
  (exchange) => {
    for (const cookie of exchange.set) cookieNames.add(cookie.name);
    send("http", exchange);
  },
);
const proxyPort = (proxy.address() as { port: number }).port;
server.listen(Number(process.env.PORT ?? 4000), "127.0.0.1");
server.once("error", (error: NodeJS.ErrnoException) => {
  console.error(
    error.code === "EADDRINUSE"
      ? `Port ${process.env.PORT ?? 4000} is taken: PORT=4001 npm start uses another.`
      : error.message,
  );
  process.exit(1);
});
server.once("listening", () => {
  const { port } = server.address() as { port: number };
  console.log(`The workshop page: http://localhost:${port}  (Ctrl-C stops it and its step)`);
});

let closing = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    if (closing) return;
    closing = true;
    await stop();
    for (const page of pages) page.end();
    server.closeAllConnections();
    proxy.closeAllConnections();
    server.close();
    proxy.close();
    process.exit(0); // and run-check.ts stops a check still running
  });
}
