import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { ServiceError } from "./errors.ts";
import { freePort, waitUntil, which } from "./net.ts";
import { workshopDir } from "./workshop-dir.ts";

const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

const HOW_TO_INSTALL =
  "Install Redis (Debian/Ubuntu: `sudo apt install redis-server`, macOS: `brew install redis`), " +
  "or point REDIS_URL at a Redis you already have (e.g. REDIS_URL=redis://localhost:6379).";

/** Answers whether a Redis at `url` replies to PING within `timeoutMs`; never throws. */
export async function pingRedis(
  url: string,
  timeoutMs = 2000,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const client = createClient({
    url,
    socket: { connectTimeout: timeoutMs, reconnectStrategy: false },
  });
  client.on("error", () => {}); // the failure is reported by connect() below
  try {
    await client.connect();
    await client.ping();
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: describe(error) };
  } finally {
    if (client.isOpen) client.destroy();
  }
}

/**
 * The Redis a step server should use, found or started:
 * REDIS_URL when set; else the Redis on localhost:6379 if it answers; else a redis-server the
 * workshop starts in the background on 6379 (data in .workshop/redis, AOF on), which keeps
 * running between steps so that sessions survive a restart of the step.
 */
export async function redisUrlForStep(log: (line: string) => void = console.log): Promise<string> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    const ping = await pingRedis(fromEnv, 3000);
    if (!ping.ok) {
      throw new ServiceError(
        "Redis",
        `Redis: REDIS_URL is set to ${redact(fromEnv)}, but no Redis answered there within 3 s ` +
          `(${ping.reason}). Start Redis at that address, correct REDIS_URL, or unset it and the ` +
          `workshop will use localhost:6379 or start a Redis of its own.`,
      );
    }
    log(`Redis: using REDIS_URL (${redact(fromEnv)})`);
    return fromEnv;
  }
  if ((await pingRedis(DEFAULT_REDIS_URL, 1000)).ok) {
    log(`Redis: using the Redis that answers on ${DEFAULT_REDIS_URL}`);
    return DEFAULT_REDIS_URL;
  }
  await startBackgroundRedis(6379);
  log(
    `Redis: nothing answered on ${DEFAULT_REDIS_URL}, so the workshop started its own redis-server ` +
      "there (data in .workshop/redis, AOF on). It keeps running between steps; " +
      "`npm run services -- stop` stops it.",
  );
  return DEFAULT_REDIS_URL;
}

/** Starts redis-server as a daemon that outlives this process (for `npm run step:N`). */
export async function startBackgroundRedis(port: number): Promise<void> {
  const binary = await requireRedisServerBinary(`127.0.0.1:${port}`);
  const dir = workshopDir("redis");
  const result = spawnSync(
    binary,
    [
      ...serverArgs(port, dir),
      "--daemonize",
      "yes",
      "--pidfile",
      join(dir, "redis.pid"),
      "--logfile",
      join(dir, "redis.log"),
    ],
    { encoding: "utf8", timeout: 5000 },
  );
  if (result.status !== 0) {
    throw new ServiceError(
      "Redis",
      `Redis: redis-server could not start on 127.0.0.1:${port} ` +
        `(${(result.stderr || result.stdout || String(result.error)).trim()}). ` +
        "Is the port taken by something else? Set REDIS_URL to a Redis you have, or free the port.",
    );
  }
  const url = `redis://127.0.0.1:${port}`;
  await waitUntil(`redis-server on ${url}`, async () => (await pingRedis(url, 500)).ok, {
    timeoutMs: 8000,
    everyMs: 100,
  });
}

/** Stops the background redis-server started by `startBackgroundRedis`, if it runs. */
export function stopBackgroundRedis(): boolean {
  return killFromPidFile(join(workshopDir("redis"), "redis.pid"));
}

/** A redis-server of a test's own: free port, own temporary folder, AOF on. */
export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Kills the server (SIGKILL: no chance to save anything), keeping its folder. */
  crash(): Promise<void>;
  /** Starts it again on the same port and folder (it reloads its AOF); no-op when running. */
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open, nothing answers (a hung Redis). */
  freeze(): void;
  /** Thaws a frozen server (SIGCONT). */
  thaw(): void;
  /** Stops it and removes its folder. */
  stop(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const binary = await requireRedisServerBinary("a free port on 127.0.0.1");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "workshop-redis-"));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    if (child && child.exitCode === null) return; // already running
    // appendfsync always: every write reaches the disk before Redis answers, so even a
    // SIGKILL loses nothing (the default, everysec, may lose up to a second).
    child = spawn(binary, [...serverArgs(port, dir), "--appendfsync", "always"], {
      stdio: "ignore",
    });
    killWithThisProcess(child);
    const exited = new Promise<void>((resolve) => child?.once("exit", () => resolve()));
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    await waitUntil(`private redis-server on ${url}`, async () => {
      if (gone) throw new Error(`redis-server on port ${port} exited while starting`);
      return (await pingRedis(url, 300)).ok;
    });
  };
  const kill = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGCONT"); // a frozen server cannot act on a SIGTERM
    running.kill(signal);
    await exited;
  };

  await start();
  return {
    url,
    port,
    dir,
    start,
    crash: () => kill("SIGKILL"),
    freeze: () => child?.kill("SIGSTOP"),
    thaw: () => child?.kill("SIGCONT"),
    stop: async () => {
      await kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function serverArgs(port: number, dir: string): string[] {
  return [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--appendonly",
    "yes",
    "--save",
    "",
  ];
}

async function requireRedisServerBinary(where: string): Promise<string> {
  const binary = await which("redis-server");
  if (!binary) {
    throw new ServiceError(
      "Redis",
      `Redis: no Redis answered and there is no redis-server on PATH to start one on ${where}. ` +
        HOW_TO_INSTALL,
    );
  }
  return binary;
}

/**
 * A private server must not outlive the test process that started it, even when that process
 * crashes before its cleanup runs: it is killed on the way out ('exit' also fires after an
 * uncaught error). A SIGKILL to the test process itself cannot be caught; then the server
 * stays, which is why the servers of `npm run step:N` are the only ones started detached.
 */
export function killWithThisProcess(child: ChildProcess): void {
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.once("exit", kill);
  child.once("exit", () => process.removeListener("exit", kill));
}

export function killFromPidFile(pidFile: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, "utf8").trim());
  } catch {
    return false;
  }
  try {
    process.kill(pid, "SIGTERM");
    return true;
  } catch {
    return false; // already gone
  } finally {
    rmSync(pidFile, { force: true });
  }
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

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
