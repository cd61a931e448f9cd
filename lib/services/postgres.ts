import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chownSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { runProgram } from "../run-script.ts";
import { ServiceError } from "./errors.ts";
import { freePort, isPortOpen, waitUntil, which } from "./net.ts";
import { killFromPidFile, redact } from "./redis.ts";
import { repoRoot, workshopDir } from "./workshop-dir.ts";

/**
 * PostgreSQL for the workshop, two engines:
 * - "postgresql": Debian's (or any) PostgreSQL binaries, `initdb` + `postgres`, when installed;
 * - "pglite": the embedded PGlite from npm (lib/services/pglite-server.ts), which needs nothing
 *   installed: the fallback on a machine without PostgreSQL.
 */
export type PostgresEngine = "postgresql" | "pglite";

export interface PrivatePostgres {
  readonly url: string;
  readonly engine: PostgresEngine;
  /** SIGKILL: the server is gone, as after a crash. */
  crash(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGSTOP to the server and its processes: connections stay open, nothing answers. */
  freeze(): void;
  /** SIGCONT: it answers again. */
  thaw(): void;
}

/** PID and its descendants (PostgreSQL runs a process per connection), from /proc (Linux). */
function processTree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of existsSync("/proc") ? readdirSync("/proc") : []) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/PID/stat: "pid (name) state ppid ..."; the name may hold spaces, so split after ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i] ?? -1) ?? []));
  return tree;
}

/** Sends SIGNAL to CHILD and every process under it; quiet if they are gone. */
function signalTree(child: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  for (const pid of processTree(child.pid)) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Answers whether a PostgreSQL at URL replies to `SELECT 1` within timeoutMs; never throws. */
export async function pingPostgres(
  url: string,
  timeoutMs = 2000,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on("error", () => {}); // reported by connect() or query() below
  try {
    await client.connect();
    await client.query("SELECT 1");
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await client.end().catch(() => {});
  }
}

const DEFAULT_PORT = 5432;
/**
 * The user is PGUSER, else the one logged in, as psql would choose; the password, if the
 * server wants one, comes from PGPASSWORD. (The embedded engine takes any user.)
 */
export const DEFAULT_POSTGRES_URL = `postgres://${encodeURIComponent(
  process.env.PGUSER ?? userInfo().username,
)}@127.0.0.1:${DEFAULT_PORT}/postgres`;

/**
 * The PostgreSQL a step server should use, found or started:
 * DATABASE_URL when set (a hosted one too); else the PostgreSQL on localhost:5432 if it lets us
 * in; else the embedded one (PGlite) the workshop starts in the background on 5432, its data in
 * .workshop/postgres, which keeps running between steps so that users survive a restart.
 */
export async function postgresUrlForStep(
  log: (line: string) => void = console.log,
): Promise<string> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    const ping = await pingPostgres(fromEnv, 5000);
    if (!ping.ok) {
      throw new ServiceError(
        "PostgreSQL",
        `PostgreSQL: DATABASE_URL is set to ${redact(fromEnv)}, but no PostgreSQL let us in there ` +
          `within 5 s (${ping.reason}). Start PostgreSQL at that address, correct DATABASE_URL, ` +
          "or unset it and the workshop will use localhost:5432 or start an embedded one.",
      );
    }
    log(`PostgreSQL: using DATABASE_URL (${redact(fromEnv)})`);
    return fromEnv;
  }
  const local = await pingPostgres(DEFAULT_POSTGRES_URL, 3000);
  if (local.ok) {
    log(
      backgroundPostgresRuns()
        ? `PostgreSQL: using the embedded PostgreSQL the workshop started on ${DEFAULT_POSTGRES_URL} (data in .workshop/postgres)`
        : `PostgreSQL: using the PostgreSQL that answers on ${DEFAULT_POSTGRES_URL}`,
    );
    return DEFAULT_POSTGRES_URL;
  }
  if (await isPortOpen(DEFAULT_PORT, "127.0.0.1", 1000)) {
    throw new ServiceError(
      "PostgreSQL",
      `PostgreSQL: something listens on 127.0.0.1:${DEFAULT_PORT} but did not let us in ` +
        `(${local.reason}). Point DATABASE_URL at it with a user and password it accepts ` +
        "(DATABASE_URL=postgres://user:password@localhost:5432/postgres), or stop it and the " +
        "workshop will start an embedded PostgreSQL there.",
    );
  }
  await startBackgroundPostgres(DEFAULT_PORT);
  log(
    `PostgreSQL: nothing answered on 127.0.0.1:${DEFAULT_PORT}, so the workshop started the ` +
      "embedded PostgreSQL (PGlite) there (data in .workshop/postgres). It keeps running between " +
      "steps; `npm run services -- stop` stops it.",
  );
  return DEFAULT_POSTGRES_URL;
}

/** Starts the embedded PostgreSQL as a background process that outlives this one. */
export async function startBackgroundPostgres(port: number): Promise<void> {
  const dir = workshopDir("postgres");
  const log = openSync(join(dir, "server.log"), "a");
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(repoRoot, "lib", "services", "pglite-server.ts"),
      join(dir, "data"),
      String(port),
    ],
    { cwd: repoRoot, detached: true, stdio: ["ignore", log, log] },
  );
  child.unref();
  writeFileSync(join(dir, "server.pid"), String(child.pid));
  await waitForPostgres(
    `postgres://postgres@127.0.0.1:${port}/postgres`,
    child,
    `the embedded PostgreSQL on 127.0.0.1:${port} (see .workshop/postgres/server.log)`,
  );
}

/** Stops the embedded PostgreSQL started by `startBackgroundPostgres`, if it runs. */
export function stopBackgroundPostgres(): boolean {
  return killFromPidFile(join(workshopDir("postgres"), "server.pid"));
}

function backgroundPostgresRuns(): boolean {
  try {
    process.kill(Number(readFileSync(join(workshopDir("postgres"), "server.pid"), "utf8")), 0);
    return true;
  } catch {
    return false;
  }
}

/** The folder of PostgreSQL's server binaries (initdb, postgres), or undefined. */
export async function postgresBinDir(): Promise<string | undefined> {
  const onPath = await which("initdb");
  if (onPath && (await which("postgres"))) return join(onPath, "..");
  const debian = "/usr/lib/postgresql";
  if (!existsSync(debian)) return undefined;
  const versions = readdirSync(debian)
    .filter((version) => existsSync(join(debian, version, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(debian, versions[0], "bin") : undefined;
}

/**
 * PostgreSQL refuses to run as root. As root, run it as the `postgres` user that Debian's
 * package creates, and give that user the data folder.
 */
function runAs(dir: string): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const id = (flag: string) => spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
  const uid = id("-u");
  const gid = id("-g");
  if (uid.status !== 0 || gid.status !== 0) {
    throw new ServiceError(
      "PostgreSQL",
      "PostgreSQL: running as root, and there is no `postgres` user to run the server as " +
        "(PostgreSQL refuses to run as root). Install Debian's package (`apt install postgresql`), " +
        "which creates it, or run as another user.",
    );
  }
  const owner = { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  chownSync(dir, owner.uid, owner.gid);
  return owner;
}

/** A PostgreSQL server of a test's own, on a free port, in a temporary folder. */
export async function startPrivatePostgres(engine?: PostgresEngine): Promise<PrivatePostgres> {
  const bin = await postgresBinDir();
  // WORKSHOP_POSTGRES_ENGINE=pglite tries the embedded engine where PostgreSQL is installed.
  const asked = process.env.WORKSHOP_POSTGRES_ENGINE;
  if (asked !== undefined && asked !== "postgresql" && asked !== "pglite") {
    throw new ServiceError(
      "PostgreSQL",
      `PostgreSQL: WORKSHOP_POSTGRES_ENGINE is "${asked}"; it can be "postgresql" or "pglite".`,
    );
  }
  const chosen = engine ?? asked ?? (bin ? "postgresql" : "pglite");
  const dir = mkdtempSync(join(tmpdir(), `workshop-${chosen}-`));
  const port = await freePort();
  if (chosen === "pglite") return servePglite(dir, port);
  if (!bin) {
    throw new ServiceError(
      "PostgreSQL",
      "PostgreSQL: no initdb/postgres binaries on PATH or in /usr/lib/postgresql. " +
        "Install them (`apt install postgresql`, `brew install postgresql`) or use the embedded engine.",
    );
  }
  return servePostgresql(bin, dir, port);
}

async function servePostgresql(bin: string, dir: string, port: number): Promise<PrivatePostgres> {
  const owner = runAs(dir);
  const data = join(dir, "data");
  // initdb takes seconds: run it without blocking this process (a check runner serves other
  // folders' requests meanwhile, and their timeouts must not fire for our wait).
  const init = await runProgram(
    join(bin, "initdb"),
    ["-D", data, "-U", "workshop", "-A", "trust", "-E", "UTF8", "--no-sync"],
    { ...owner, timeout: 120_000 },
  );
  if (init.code !== 0) {
    throw new ServiceError("PostgreSQL", `PostgreSQL: initdb failed: ${init.output}`);
  }
  const url = `postgres://workshop@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      join(bin, "postgres"),
      ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1"]
        // A test's database: speed over durability (the data folder is deleted at the end).
        .concat(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
      { ...owner, stdio: "ignore" },
    );
    await waitForPostgres(url, child, "postgres");
  };
  await start();
  const kill = async (signal: NodeJS.Signals) => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill(signal);
    await exited;
  };
  return {
    url,
    engine: "postgresql",
    crash: () => kill("SIGKILL"),
    start,
    freeze: () => signalTree(child, "SIGSTOP"),
    thaw: () => signalTree(child, "SIGCONT"),
    stop: async () => {
      signalTree(child, "SIGCONT"); // a frozen server cannot stop
      await kill("SIGINT"); // "fast" shutdown: ends sessions, writes a checkpoint
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function servePglite(dir: string, port: number): Promise<PrivatePostgres> {
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "lib", "services", "pglite-server.ts"), dir, String(port)],
      { cwd: repoRoot, stdio: "ignore" },
    );
    await waitForPostgres(url, child, "the embedded PostgreSQL (PGlite)");
  };
  await start();
  const kill = async (signal: NodeJS.Signals) => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill(signal);
    await exited;
  };
  return {
    url,
    engine: "pglite",
    crash: () => kill("SIGKILL"),
    start,
    freeze: () => signalTree(child, "SIGSTOP"),
    thaw: () => signalTree(child, "SIGCONT"),
    stop: async () => {
      signalTree(child, "SIGCONT"); // a frozen server cannot stop
      await kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until URL answers, failing early (with a clear message) if CHILD exits. */
async function waitForPostgres(url: string, child: ChildProcess, what: string): Promise<void> {
  let exited: string | undefined;
  child.once("exit", (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  try {
    // Generous: PGlite compiles its WebAssembly and runs initdb at every start of an empty
    // folder: 5 s on a quiet machine, 15 s with three busy cores' worth of load, once over 60 s
    // in a full `npm test` on a loaded machine. Until it listens, a ping is refused at once;
    // after, a slow first answer is waited for (5 s) rather than abandoned mid-handshake.
    await waitUntil(
      `${what} to answer on ${url}`,
      async () => {
        if (exited) throw new Error(`${what} ${exited} before it answered`);
        return (await pingPostgres(url, 5000)).ok;
      },
      { timeoutMs: 180_000, everyMs: 200 },
    );
  } catch (error) {
    child.kill("SIGKILL");
    throw new ServiceError("PostgreSQL", `PostgreSQL: ${(error as Error).message}.`);
  }
}
