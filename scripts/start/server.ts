/**
 * `npm start`: the workshop page, on http://localhost:4000 (PORT=… for another; 0 for any).
 * The steps with your progress; the chosen step's app in a frame, with the buttons of its lesson
 * (the manifest's `demos`); the cookies of every request; what the store holds; what the store is told; the
 * exercise's check, hints, reset and diff. One page (page.html), its updates by server-sent
 * events (GET /events), its actions by POST /api/…:
 *   start?step=N  stop  restart  new-browser  demo?button=B
 *   check?step=N[&solution]  hint?step=N[&next]  reset?step=N  diff?step=N[&solution]
 * The step runs as `npm run step:N` does (node scripts/run-ts.mjs steps/NN-*\/server.ts), on a
 * free port, in a process group of its own, with servers of its own (services.ts); all of it
 * stops with the step, and with this server.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import { join } from "node:path";
import { findExercise, readHints, readProgress } from "../../lib/exercises.ts";
import { freePort } from "../../lib/services/net.ts";
import { repoRoot } from "../../lib/services/workshop-dir.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import { type Step, stepNumbered, steps } from "../../workshop.ts";
import { burst, type DemoContext, freeze, killPrimary } from "./demos.ts";
import { runCommand, stopCommands, watchExercises } from "./exercise.ts";
import { BUTTON_TEXT, type LessonButton, lessonButtons } from "./lessons.ts";
import { startProxy } from "./proxy.ts";
import { type StepServices, startServices } from "./services.ts";
import { type Heard, watchStore } from "./store.ts";

const PAGE = join(repoRoot, "scripts", "start", "page.html");
/** A step starts in a second or two; a busy machine, or a first MongoDB download, takes longer. */
const START_TIMEOUT_MS = 120_000;
for (const step of steps) lessonButtons(step); // a button the manifest cannot serve: say so now

/** The step running now: its servers, its app's process group and port, its store's watch. */
interface Running {
  step: Step;
  services?: StepServices;
  child?: ChildProcess;
  port?: number;
  ready: boolean;
  unwatch?: () => Promise<void>;
  /** The lesson button whose demo runs now, if one does. */
  demo?: LessonButton;
}
let running: Running | undefined;
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
const say = (text: string) => send("output", text.endsWith("\n") ? text : `${text}\n`);

function state() {
  const progress = readProgress();
  const step = running?.step;
  return {
    proxyPort: proxy.port,
    note,
    running: step && {
      step: step.number,
      title: step.title,
      pid: running?.child?.pid,
      ready: running?.ready,
      demo: running?.demo,
      services: running?.services?.lines ?? [],
      buttons: lessonButtons(step).map((button) => ({ button, ...BUTTON_TEXT[button] })),
    },
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

// ---- The step: its servers, then its app, then the watch on its store.
async function start(step: Step): Promise<void> {
  await stop();
  note = "";
  const current: Running = { step, ready: false };
  running = current;
  say(`Starting step ${step.number} (${step.title})…`);
  sendState();
  const services = await startServices(step, say, (statement) =>
    hear({ source: "sql", at: Date.now(), text: statement }),
  );
  if (running !== current) return void (await services.stop()); // stopped meanwhile
  current.services = services;
  // The store's watch first: the events pane hears every command from the app's first request.
  current.unwatch = await watchStore(step, services, (view) => send("store", view), hear).catch(
    (error: Error) => {
      say(`The store pane cannot look inside the store: ${error.message}`);
      return undefined;
    },
  );
  if (running !== current) return void (await current.unwatch?.()); // stopped meanwhile
  if (!(await launchApp(current))) return;
  sendState();
}

/** Tells the events pane what the store heard, and which requests were in flight then. */
function hear(heard: Heard): void {
  const during = heard.source === "redis" || heard.source === "sql" ? proxy.during(heard.at) : [];
  send("heard", { ...heard, during });
}

/**
 * Starts CURRENT's app on a free port, in a process group of its own (step 06's workers stop
 * with it), with its servers' addresses; resolves whether it listens.
 */
async function launchApp(current: Running): Promise<boolean> {
  const { step } = current;
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [join("scripts", "run-ts.mjs"), join("steps", step.slug, "server.ts")],
    {
      cwd: repoRoot,
      env: { ...process.env, ...current.services?.env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  Object.assign(current, { child, port, ready: false });
  sendState();
  let output = "";
  const listening = new Promise<boolean>((resolve) => {
    const heard = (chunk: Buffer) => {
      say(chunk.toString());
      output += chunk.toString();
      if (new RegExp(`listening on http://\\S+:${port}\\b`).test(output)) resolve(true);
    };
    child.stdout?.on("data", heard);
    child.stderr?.on("data", heard);
    child.once("exit", () => resolve(false));
    setTimeout(() => resolve(false), START_TIMEOUT_MS).unref();
  });
  child.once("exit", (code, signal) => {
    const how = signal ?? `exit code ${code}`;
    say(`Step ${step.number}'s app stopped (${how}).`);
    // Stopped by the page (stop, restart): nothing more to do. By itself: the step is over.
    if (running !== current || current.child !== child) return;
    note = `step ${step.number}'s app stopped by itself (${how}): its output says why`;
    void stop();
  });
  if (!(await listening)) {
    if (running === current && current.child === child) {
      note ||= `step ${step.number} did not listen within ${START_TIMEOUT_MS / 1000} s`;
      await stop();
    }
    return false;
  }
  current.ready = true;
  sendState();
  return true;
}

/** Stops CHILD's whole process group: SIGTERM, and SIGKILL if it is not gone in 8 s. */
async function stopGroup(child: ChildProcess): Promise<void> {
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
}

/** The server stops, its servers stay: what `npm run step:N` does when stopped and run again. */
async function restartApp(): Promise<void> {
  const current = running;
  if (!current?.child || !current.services) return;
  const old = current.child;
  current.child = undefined;
  current.ready = false;
  sendState();
  say(`Restarting step ${current.step.number}'s app; its servers keep running…`);
  await stopGroup(old);
  if (running === current) await launchApp(current);
}

/** Stops the step: its watch, its app's process group, its servers. */
async function stop(): Promise<void> {
  const current = running;
  if (!current) return;
  running = undefined;
  sendState();
  await current.unwatch?.();
  if (current.child) await stopGroup(current.child);
  await current.services?.stop();
  send("store", { store: "", groups: [{ title: "", entries: [], note: "No step is running." }] });
  sendState();
}

// ---- The lesson buttons: one demo at a time, on the running step.
async function demo(button: LessonButton): Promise<string | undefined> {
  const current = running;
  if (!current?.ready || !current.services) return "no step is running";
  if (!lessonButtons(current.step).includes(button))
    return `step ${current.step.number} has no "${button}"`;
  if (current.demo) return `"${BUTTON_TEXT[current.demo].label}" is still running`;
  current.demo = button;
  sendState();
  const context: DemoContext = {
    step: current.step,
    services: current.services,
    proxyUrl: `http://127.0.0.1:${proxy.port}`,
    cookie: proxy.lastCookie(),
    say: (line) => send("demo", { button, line }),
  };
  send("demo", {
    button,
    line: `${BUTTON_TEXT[button].label}: ${BUTTON_TEXT[button].what}.`,
    first: true,
  });
  const run = { burst, "kill-primary": killPrimary, freeze }[button];
  void run(context)
    .catch((error: Error) => context.say(`It went wrong: ${error.message}`))
    .finally(() => {
      current.demo = undefined;
      send("demo", { button, done: true });
      sendState();
    });
  return undefined;
}

// ---- The check pane: the command line's own commands (exercise.ts). One check at a time.
let checks = Promise.resolve();
function check(step: Step, solution: boolean, trigger: string): Promise<void> {
  checks = checks.then(async () => {
    send("check", { step: step.number, solution, trigger, running: true });
    const args = [String(step.number), ...(solution ? ["--solution"] : [])];
    const { code, output } = await runCommand("check", args);
    send("check", { step: step.number, solution, trigger, passed: code === 0, output });
    sendState(); // the progress the check saved
  });
  return checks;
}

function hintsOf(step: Step) {
  const all = readHints(findExercise(String(step.number)));
  const shown = readProgress().hints[step.number] ?? 0;
  return { total: all.length, hints: all.slice(0, shown) };
}

// ---- The page's server.
const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  const json = (data: unknown, status = 200) => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(data));
  };
  const step = stepNumbered(Number(url.searchParams.get("step")));
  const solution = url.searchParams.has("solution");
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
      void start(step).catch(async (error: Error) => {
        note = `step ${step.number} could not start: ${error.message}`;
        say(note);
        await stop();
      });
      json({ starting: step.number });
    } else if (url.pathname === "/api/stop") {
      await stop();
      json({ stopped: true });
    } else if (url.pathname === "/api/restart") {
      void restartApp();
      json({ restarting: true });
    } else if (url.pathname === "/api/new-browser") {
      // Cookies ignore ports: deleting them here deletes them for the app's frame too.
      const gone = [...cookieNames].map((name) => `${name}=; Path=/; Max-Age=0`);
      proxy.forgetCookie();
      res.writeHead(204, { "set-cookie": gone }).end();
      say("A new browser: the app's cookies deleted.");
    } else if (url.pathname === "/api/demo") {
      const refused = await demo(url.searchParams.get("button") as LessonButton);
      json(refused ? { error: refused } : { started: true }, refused ? 409 : 202);
    } else if (url.pathname === "/api/check" && step) {
      void check(step, solution, "on demand");
      json({ checking: step.number }, 202);
    } else if (url.pathname === "/api/hint" && step) {
      if (url.searchParams.has("next")) await runCommand("hint", [String(step.number)]);
      if (url.searchParams.has("next")) sendState();
      json(hintsOf(step));
    } else if (url.pathname === "/api/reset" && step) {
      json(await runCommand("reset", [String(step.number), "--yes"]));
    } else if (url.pathname === "/api/diff" && step) {
      json(await runCommand("diff", [String(step.number), ...(solution ? ["--solution"] : [])]));
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
// Saving a file of an exercise checks it again, as `npm run check -- N --watch` does.
const unwatchExercises = watchExercises((number, file) => {
  const saved = stepNumbered(number);
  if (saved) void check(saved, false, `you saved ${file}`);
});

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
    await Promise.all([stop(), stopCommands(), unwatchExercises()]);
    for (const page of pages) page.end();
    server.closeAllConnections();
    proxy.server.closeAllConnections();
    server.close();
    proxy.server.close();
    process.exit(0);
  });
}
