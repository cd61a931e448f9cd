/**
 * Finding or starting a service, the same way for every one (Redis, MongoDB, PostgreSQL, the
 * Redis Sentinel set):
 *   1. its environment variable (REDIS_URL…) when set; if nothing answers there, an error that
 *      names the variable, the address and how to fix it;
 *   2. else the one on its default port of this machine, if it answers;
 *   3. else one the workshop starts in the background: data and log in .workshop/NAME, a pid
 *      file, reused by the next step, stopped by `npm run services -- stop`.
 * One line says which one is used. The tests' private servers come from here too: a free port
 * on 127.0.0.1, a temporary folder, killed with the test process. A service file says only what
 * is its own: how to ping it, which program serves it, how to install that program.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ServiceError, type ServiceName } from "./errors.ts";
import { freePort, isPortOpen, waitUntil, which } from "./net.ts";
import { repoRoot, workshopDir } from "./workshop-dir.ts";

/** Whether something answered, and if not, why; never an exception. */
export type Ping = { ok: true } | { ok: false; reason: string };

// Every attempt has a limit: generous for a loaded 2-core machine, short enough to never look
// like a hang. A server that answers at all answers a ping in milliseconds.
const PING_MS = 5000;
/** A TCP connect to 127.0.0.1: refused at once when nothing listens. */
const PROBE_MS = 1000;
/** A start, unless the service says it needs longer (PGlite compiles WebAssembly first). */
const START_MS = 60_000;
/** A clean stop that takes longer than this is a hang: SIGKILL. */
const STOP_MS = 15_000;

/** A program that serves a service on a port. */
export interface Program {
  readonly command: string;
  readonly args: readonly string[];
  /** How a message names it: "a redis-server", "the embedded PostgreSQL (PGlite)". */
  readonly what: string;
  /** Where its data lives, when that is not simply its folder. */
  readonly data?: string;
  readonly cwd?: string;
  /** Whom to run it as (PostgreSQL refuses to run as root). */
  readonly uid?: number;
  readonly gid?: number;
  /** The signal for a clean stop (default SIGTERM). */
  readonly stopSignal?: NodeJS.Signals;
}

/** What the helper needs to know of a service: each service file declares one. */
export interface Service {
  /** How messages name it: "Redis". */
  readonly name: ServiceName;
  /** The variable that points at one the learner has: REDIS_URL, MONGO_URL, DATABASE_URL. */
  readonly envVar: string;
  /** Its folder under .workshop/ when the workshop runs it in the background. */
  readonly folder: string;
  readonly defaultPort: number;
  /** Its URL on PORT of 127.0.0.1. */
  url(port: number): string;
  /** Resolves when URL answers within timeoutMs; rejects (or throws) saying why not. */
  ping(url: string, timeoutMs: number): Promise<unknown>;
  /** The program that serves it on PORT, its data in DIR; a ServiceError when there is none. */
  program(port: number, dir: string): Promise<Program>;
  /** How long a start may take, when a minute is not enough. */
  readonly startTimeoutMs?: number;
  /** What "nothing answered" means for it, for the message about its variable. */
  readonly unanswered?: string;
}

/** Enough of a service to find it through its variable. */
export type Findable = Pick<Service, "name" | "envVar" | "ping" | "unanswered">;

/** Pings URL, bounded by timeoutMs whatever the client does. */
export async function answers(
  service: Pick<Service, "ping">,
  url: string,
  timeoutMs = PING_MS,
): Promise<Ping> {
  let timer: NodeJS.Timeout | undefined;
  // Each ping honours timeoutMs itself; this is the backstop that makes a hang impossible.
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${seconds(timeoutMs)}`)),
      timeoutMs + 1000,
    );
  });
  try {
    await Promise.race([service.ping(url, timeoutMs), late]);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: describe(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** Where the service is looked for first: its variable's URL, else its default port's. */
export function configuredUrl(service: Service): string {
  return process.env[service.envVar] || service.url(service.defaultPort);
}

/** The URL a step should use: its variable's, else the local one, else one started (see top). */
export async function findOrStart(
  service: Service,
  log: (line: string) => void = console.log,
): Promise<string> {
  const fromEnv = await fromEnvironment(service, log);
  if (fromEnv) return fromEnv;
  log((await ensureBackground(service)).line);
  return service.url(service.defaultPort);
}

/** The value of the service's variable if it answers; undefined when unset; else a clear error. */
export async function fromEnvironment(
  service: Findable,
  log: (line: string) => void,
): Promise<string | undefined> {
  const url = process.env[service.envVar];
  if (!url) return undefined;
  const ping = await answers(service, url);
  if (!ping.ok) {
    throw new ServiceError(
      service.name,
      `${service.name}: ${service.envVar} is set to ${redact(url)}, but ` +
        `${service.unanswered ?? `no ${service.name} answered there`} within ${seconds(PING_MS)} ` +
        `(${ping.reason}). Start it there, correct ${service.envVar}, or unset it and the ` +
        "workshop will find or start one on this machine.",
    );
  }
  log(`${service.name}: using ${service.envVar} (${redact(url)})`);
  return url;
}

/**
 * The service on PORT of this machine: the one that answers there (the workshop's own from an
 * earlier step, or another), else one the workshop starts in the background. Resolves whether
 * it started one, and the line that says which one is used.
 */
export async function ensureBackground(
  service: Service,
  port = service.defaultPort,
): Promise<{ started: boolean; line: string }> {
  const { name, envVar } = service;
  const dir = workshopDir(service.folder);
  const where = `127.0.0.1:${port}`;
  if (!(await isPortOpen(port, "127.0.0.1", PROBE_MS))) {
    return { started: true, line: await startBackground(service, port, dir) };
  }
  const ping = await answers(service, service.url(port));
  const ours = backgroundRuns(dir);
  const orphans = ours ? [] : startedIn(dir);
  if (orphans.length > 0) {
    throw new ServiceError(
      name,
      `${name}: the one the workshop started on ${where} (pid ${orphans.join(", ")}) runs, but ` +
        `its folder ${shown(dir)} was deleted while it ran: its data and pid file are gone from ` +
        "under it. `npm run services -- stop` stops it (it finds it all the same); the next " +
        "step then starts a fresh one.",
    );
  }
  if (ping.ok) {
    return {
      started: false,
      line: ours
        ? `${name}: using ${ours.what} that the workshop started on ${where} (${ours.data})`
        : `${name}: using the ${name} that answers on ${redact(service.url(port))}`,
    };
  }
  throw new ServiceError(
    name,
    ours
      ? `${name}: ${ours.what} that the workshop started on ${where} does not answer ` +
          `(${ping.reason}). Its log: ${shown(join(dir, "server.log"))}. ` +
          "`npm run services -- stop` stops it; the next step then starts a fresh one."
      : `${name}: something listens on ${where}, but no ${name} answered there (${ping.reason}). ` +
          `Point ${envVar} at it (with the user and password it wants), or stop it and the ` +
          "workshop will start its own there.",
  );
}

/** Starts the service on PORT as a process that outlives this one; resolves the line to print. */
async function startBackground(service: Service, port: number, dir: string): Promise<string> {
  const program = await service.program(port, dir);
  const logFile = join(dir, "server.log");
  const data = program.data ?? `data in ${shown(dir)}`;
  const child = launch(program, logFile, true, { [MARK]: dir });
  child.unref();
  // Written before the wait: a step stopped meanwhile leaves a server that `stop` finds.
  if (child.pid) writeFileSync(join(dir, PID_FILE), `${child.pid}\n${program.what}\n${data}\n`);
  try {
    await untilAnswers(service, child, program, port, logFile);
  } catch (error) {
    rmSync(join(dir, PID_FILE), { force: true });
    throw error;
  }
  return (
    `${service.name}: nothing answered on 127.0.0.1:${port}, so the workshop started ` +
    `${program.what} there (${data}). It keeps running between steps; ` +
    "`npm run services -- stop` stops it."
  );
}

const PID_FILE = "server.pid";
/** The names before this helper, so that `stop` also stops what an older version started. */
const OLD_PID_FILES = ["redis.pid", "pid"];

/**
 * Stops what the workshop started in the background under .workshop/FOLDER: one server in the
 * folder, or a set of them, one per subfolder (the sentinels). True when something ran.
 */
export async function stopBackground(folder: string): Promise<boolean> {
  const dir = workshopDir(folder);
  const folders = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(dir, entry.name));
  const pidFiles = [dir, ...folders].flatMap((each) =>
    [PID_FILE, ...OLD_PID_FILES].map((name) => join(each, name)),
  );
  const fromFiles = (await Promise.all(pidFiles.map(killFromPidFile))).includes(true);
  // A folder deleted while its server ran (`rm -rf .workshop`) took the pid file with it: the
  // server is found by the folder its launch named (startedIn), and stopped all the same.
  const found = startedIn(dir);
  await Promise.all(found.map(stopProcess));
  return fromFiles || found.length > 0;
}

/**
 * Marks each server the workshop starts in the background: WORKSHOP_SERVICE_DIR=<its folder> in
 * its environment. Its pid file lives in that folder, and goes when the folder goes; the mark
 * stays with the process.
 */
const MARK = "WORKSHOP_SERVICE_DIR";

/**
 * The processes the workshop started with their data in DIR or a folder under it, still
 * running. On Linux, by /proc: the mark in its environment, or a redis-server's working folder
 * (it moves into its --dir, and writes its title over its environment); a folder deleted
 * meanwhile reads "DIR (deleted)". Elsewhere by DIR in their command line (`ps`), which names
 * it for mongod (--dbpath) and PGlite (its data).
 */
function startedIn(dir: string): number[] {
  const named = (value: string) => value === dir || value.startsWith(`${dir}/`);
  const read = (read: () => string) => {
    try {
      return read();
    } catch {
      return ""; // another user's process, or one that ended meanwhile
    }
  };
  if (existsSync("/proc")) {
    return readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
      .filter(
        (entry) =>
          (read(() => readFileSync(`/proc/${entry}/comm`, "utf8")).startsWith("redis-") &&
            named(read(() => readlinkSync(`/proc/${entry}/cwd`)).replace(/ \(deleted\)$/, ""))) ||
          read(() => readFileSync(`/proc/${entry}/environ`, "utf8"))
            .split("\0")
            .some((pair) => pair.startsWith(`${MARK}=`) && named(pair.slice(MARK.length + 1))),
      )
      .map(Number);
  }
  const ps = spawnSync("ps", ["-axww", "-o", "pid=,command="], { encoding: "utf8" });
  return (ps.stdout ?? "")
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .filter(
      ([, pid, command = ""]) => Number(pid) !== process.pid && command.split(" ").some(named),
    )
    .map(([, pid]) => Number(pid));
}

/** What the pid file of DIR says of the server it names, if that server still runs. */
function backgroundRuns(dir: string): { what: string; data: string } | undefined {
  const [pid, what = "the server", data = `data in ${shown(dir)}`] = readPidFile(
    join(dir, PID_FILE),
  );
  return pid !== undefined && signal(pid, 0) ? { what, data } : undefined;
}

/** SIGTERM to the process a pid file names; resolves once it is gone (SIGKILL if it hangs). */
async function killFromPidFile(pidFile: string): Promise<boolean> {
  const [pid] = readPidFile(pidFile);
  rmSync(pidFile, { force: true });
  return pid !== undefined && stopProcess(pid);
}

/** SIGTERM to PID; resolves once it is gone (SIGKILL if it hangs). False when it did not run. */
async function stopProcess(pid: number): Promise<boolean> {
  if (!signal(pid, "SIGTERM")) return false;
  // Waited for: a start right after a stop must not find the old server still on its port.
  await waitUntil(`process ${pid} to end`, () => !signal(pid, 0), { timeoutMs: STOP_MS }).catch(
    () => signal(pid, "SIGKILL"),
  );
  return true;
}

/** Sends the signal NAME to PID; false when there is no such process (0 only asks if it exists). */
function signal(pid: number, name: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/** The pid (never 0 or less: process.kill(0) signals this very process group), then the rest. */
function readPidFile(pidFile: string): [number | undefined, ...string[]] {
  if (!existsSync(pidFile)) return [undefined];
  const [first = "", ...rest] = readFileSync(pidFile, "utf8")
    .split("\n")
    .map((line) => line.trim());
  const pid = Number(first);
  return [Number.isInteger(pid) && pid > 0 ? pid : undefined, ...rest.filter(Boolean)];
}

/** A server of a test's own: a free port on 127.0.0.1, a temporary folder. */
export interface PrivateServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Starts it again on the same port and folder; no-op when it runs. */
  start(): Promise<void>;
  /** SIGKILL, as a crash would: no chance to save anything; the folder stays. */
  crash(): Promise<void>;
  /** A clean stop, then a start on the same port and folder. */
  restart(): Promise<void>;
  /** SIGSTOP to it and its processes: connections stay open, nothing answers (a hung server). */
  freeze(): void;
  /** SIGCONT: it answers again. */
  thaw(): void;
  /** A clean stop, and its folder removed. */
  stop(): Promise<void>;
}

/** Starts a private server of SERVICE; it dies with this process if nobody stops it. */
export async function startPrivate(service: Service): Promise<PrivateServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `workshop-${service.folder.replaceAll("/", "-")}-`));
  try {
    return await runPrivate(service, port, dir, await service.program(port, dir));
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function runPrivate(
  service: Service,
  port: number,
  dir: string,
  program: Program,
): Promise<PrivateServer> {
  const logFile = join(dir, "server.log");
  const stopSignal = program.stopSignal ?? "SIGTERM";
  let child: ChildProcess | undefined;
  const start = async () => {
    if (child && alive(child)) return;
    child = launch(program, logFile, false);
    killWithThisProcess(child);
    await untilAnswers(service, child, program, port, logFile);
  };
  await start();
  return {
    url: service.url(port),
    port,
    dir,
    start,
    crash: () => end(child, "SIGKILL"),
    restart: async () => {
      await end(child, stopSignal);
      await start();
    },
    freeze: () => signalTree(child, "SIGSTOP"),
    thaw: () => signalTree(child, "SIGCONT"),
    stop: async () => {
      await end(child, stopSignal);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs PROGRAM with its output appended to LOG_FILE. */
function launch(
  program: Program,
  logFile: string,
  detached: boolean,
  env: Record<string, string> = {},
): ChildProcess {
  const log = openSync(logFile, "a");
  try {
    return spawn(program.command, [...program.args], {
      env: { ...process.env, ...env },
      cwd: program.cwd,
      uid: program.uid,
      gid: program.gid,
      detached,
      stdio: ["ignore", log, log],
    });
  } finally {
    closeSync(log); // the child has its own copy
  }
}

/** Waits until CHILD answers on PORT; a ServiceError (CHILD killed) if it exits or takes too long. */
async function untilAnswers(
  service: Service,
  child: ChildProcess,
  program: Program,
  port: number,
  logFile: string,
): Promise<void> {
  const what = `${program.what} on 127.0.0.1:${port}`;
  let ended: string | undefined;
  child.once("exit", (code, signal) => {
    ended = `exited (${signal ?? `code ${code}`})`;
  });
  child.once("error", (error) => {
    ended = `could not run (${error.message})`;
  });
  try {
    await waitUntil(
      `${what} to answer`,
      async () => {
        if (ended) throw new Error(`${what} ${ended} before it answered`);
        // The probe first: a ping of a port nobody listens on can take its whole time limit.
        return (
          (await isPortOpen(port, "127.0.0.1", PROBE_MS)) &&
          (await answers(service, service.url(port))).ok
        );
      },
      { timeoutMs: service.startTimeoutMs ?? START_MS, everyMs: 100 },
    );
  } catch (error) {
    child.kill("SIGKILL");
    // Its last lines, set off ("  | ") so that nobody takes them for this process's own.
    const output = existsSync(logFile)
      ? readFileSync(logFile, "utf8").trim().slice(-1200).replaceAll("\n", "\n  | ")
      : "";
    throw new ServiceError(
      service.name,
      `${service.name}: ${describe(error)}. Is port ${port} taken by something else? ` +
        (output
          ? `The end of its log (${shown(logFile)}):\n  | ${output}`
          : `Its log: ${shown(logFile)}`),
    );
  }
}

/** A stop with the signal NAME (SIGKILL if it takes too long); resolves once CHILD is gone. */
async function end(child: ChildProcess | undefined, name: NodeJS.Signals): Promise<void> {
  if (!child || !alive(child)) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  signalTree(child, "SIGCONT"); // a frozen process cannot act on a signal
  child.kill(name);
  const hung = setTimeout(() => child.kill("SIGKILL"), STOP_MS);
  await exited;
  clearTimeout(hung);
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * A private server must not outlive the test process that started it, even when that process
 * crashes before its cleanup runs: it is killed on the way out ('exit' also fires after an
 * uncaught error). A SIGKILL to the test process itself cannot be caught; then the server
 * stays, which is why only the step servers' services are started detached.
 */
function killWithThisProcess(child: ChildProcess): void {
  const kill = () => {
    if (alive(child)) child.kill("SIGKILL");
  };
  process.once("exit", kill);
  child.once("exit", () => process.removeListener("exit", kill));
}

/** Sends SIGNAL to CHILD and every process under it (PostgreSQL runs one per connection). */
function signalTree(child: ChildProcess | undefined, name: NodeJS.Signals): void {
  if (!child?.pid || !alive(child)) return;
  for (const pid of processTree(child.pid)) signal(pid, name);
}

/** PID and its descendants, from /proc (Linux; elsewhere PID alone). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of existsSync("/proc") ? readdirSync("/proc") : []) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/PID/stat: "pid (name) state ppid ..."; the name may hold spaces, so split after ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] ?? -1) ?? []));
  return tree;
}

/**
 * The path of COMMAND on PATH; else a ServiceError that says what is missing, where it looked
 * and how to fix it.
 */
export async function onPath(
  service: { name: ServiceName; envVar?: string },
  command: string,
  install: string,
): Promise<string> {
  const found = await which(command);
  if (found) return found;
  throw new ServiceError(
    service.name,
    `${service.name}: no ${command} on PATH (${process.env.PATH ?? ""}) to start one with. ` +
      `Install it with ${install}` +
      (service.envVar ? `, or set ${service.envVar} to point at one you have.` : "."),
  );
}

/** Hides the password of a URL before it is printed. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "****";
    return parsed.toString();
  } catch {
    return url;
  }
}

/** One line for an error, with its code ("ERR_INVALID_URL: Invalid URL"); the first of several. */
function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

/** PATH relative to the repository when inside it (".workshop/redis"), else whole. */
function shown(path: string): string {
  const inside = relative(repoRoot, path);
  return inside.startsWith("..") ? path : inside;
}
