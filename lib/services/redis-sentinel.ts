import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { ServiceError } from "./errors.ts";
import { freePort, waitUntil, which } from "./net.ts";
import { killFromPidFile, killWithThisProcess } from "./redis.ts";
import { workshopDir } from "./workshop-dir.ts";

/**
 * A replicated Redis watched by Sentinel, from the one `redis-server` binary: a primary, a
 * replica that copies it, and three sentinels (`redis-server sentinel.conf --sentinel`) that
 * agree when the primary is gone and promote the replica. Three, so that two of them (the
 * quorum) still outvote one that cannot see the primary because of its own network trouble.
 */

/** The name the sentinels know the primary by; clients ask them for its address. */
export const MASTER_NAME = "workshop";

export interface Address {
  readonly host: string;
  readonly port: number;
}

/** Workshop-speed timings, far below the defaults (30 s and 3 min), so a failover takes seconds. */
const DOWN_AFTER_MS = 1000; // a primary silent this long is "subjectively down" for a sentinel
const FAILOVER_TIMEOUT_MS = 3000; // how long a failover may take before another one is tried

export interface PrivateSentinels {
  readonly masterName: string;
  readonly sentinels: readonly Address[];
  /** The two data nodes' ports: the first started as primary, the second as its replica. */
  readonly dataPorts: readonly [number, number];
  /** The primary's address, as the sentinels answer it now. */
  primary(): Promise<Address>;
  /** SIGKILL the data node on PORT (no chance to save anything), as a crash would. */
  crash(port: number): Promise<void>;
  /** Starts the data node on PORT again, from its own folder and config; no-op when it runs. */
  start(port: number): Promise<void>;
  /** Freezes the process on PORT (SIGSTOP): its connections stay open, nothing answers. */
  freeze(port: number): void;
  /** Thaws a frozen process (SIGCONT). */
  thaw(port: number): void;
  /** Stops every process and removes their folders. */
  stop(): Promise<void>;
}

/** Free ports, a temporary folder, every process killed with this one. For the tests. */
export async function startPrivateSentinels(): Promise<PrivateSentinels> {
  const binary = await redisServerBinary();
  const dir = mkdtempSync(join(tmpdir(), "workshop-sentinel-"));
  const ports = await distinctFreePorts(5);
  const dataPorts: [number, number] = [ports[0] ?? 0, ports[1] ?? 0];
  const [primaryPort, replicaPort] = dataPorts;
  const sentinelPorts = ports.slice(2);
  const children = new Map<number, ChildProcess>();

  const run = async (port: number) => {
    const running = children.get(port);
    if (running && running.exitCode === null && running.signalCode === null) return;
    const child = spawn(binary, configArgs(dir, port), { stdio: "ignore" });
    killWithThisProcess(child);
    children.set(port, child);
    await waitForPing(port, child);
  };
  writeConfigs(dir, primaryPort, replicaPort, sentinelPorts);
  try {
    await Promise.all([...dataPorts, ...sentinelPorts].map(run));
    await waitForTopology(sentinelPorts);
  } catch (error) {
    for (const child of children.values()) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const kill = async (port: number, signal: NodeJS.Signals) => {
    const child = children.get(port);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGCONT"); // a frozen process cannot act on a SIGTERM
    child.kill(signal);
    await exited;
  };
  const sentinels = sentinelPorts.map((port) => ({ host: "127.0.0.1", port }));
  return {
    masterName: MASTER_NAME,
    sentinels,
    dataPorts,
    primary: () => askForPrimary(sentinels),
    crash: (port) => kill(port, "SIGKILL"),
    start: run,
    freeze: (port) => children.get(port)?.kill("SIGSTOP"),
    thaw: (port) => children.get(port)?.kill("SIGCONT"),
    stop: async () => {
      await Promise.all([...children.keys()].map((port) => kill(port, "SIGTERM")));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fixed ports for `npm run step:9`: beside the usual Redis (6379), never on it. */
const BACKGROUND = { primary: 6380, replica: 6381, sentinels: [26379, 26380, 26381] };

/**
 * The sentinels a step server should ask: REDIS_SENTINELS ("host:port,host:port") with
 * REDIS_SENTINEL_MASTER (default "workshop") when set; else the workshop's own set, started in
 * the background under .workshop/sentinel (or reused when it runs: a data node that was killed
 * is started again and rejoins as a replica).
 */
export async function sentinelsForStep(
  log: (line: string) => void = console.log,
): Promise<{ masterName: string; sentinels: Address[] }> {
  const fromEnv = process.env.REDIS_SENTINELS;
  const { masterName, sentinels } = configuredSentinels();
  if (fromEnv) {
    try {
      const primary = await askForPrimary(sentinels, masterName);
      log(
        `Redis Sentinel: using REDIS_SENTINELS (${fromEnv}), master "${masterName}", primary now ${primary.host}:${primary.port}`,
      );
    } catch (error) {
      throw new ServiceError(
        "Redis",
        `Redis Sentinel: REDIS_SENTINELS is set to ${fromEnv}, but no sentinel there named a ` +
          `primary for "${masterName}" (${(error as Error).message}). Start the sentinels, correct ` +
          "REDIS_SENTINELS or REDIS_SENTINEL_MASTER, or unset them and the workshop will start its own.",
      );
    }
    return { masterName, sentinels };
  }
  const started = await startBackgroundSentinels();
  const primary = await askForPrimary(sentinels);
  log(
    `Redis Sentinel: ${started ? "started" : "using"} the workshop's replicated Redis ` +
      `(primary and replica on ports ${BACKGROUND.primary} and ${BACKGROUND.replica}, sentinels on ` +
      `${BACKGROUND.sentinels.join(", ")}; data in .workshop/sentinel); primary now ` +
      `${primary.host}:${primary.port}. It keeps running between steps; ` +
      "`npm run services -- stop` stops it.",
  );
  return { masterName, sentinels };
}

/** The sentinels REDIS_SENTINELS names, else the workshop's own (running or not). */
export function configuredSentinels(): { masterName: string; sentinels: Address[] } {
  const fromEnv = process.env.REDIS_SENTINELS;
  return {
    masterName: process.env.REDIS_SENTINEL_MASTER || MASTER_NAME,
    sentinels: fromEnv
      ? parseAddresses(fromEnv)
      : BACKGROUND.sentinels.map((port) => ({ host: "127.0.0.1", port })),
  };
}

/**
 * Starts, as daemons that outlive this process, whichever of the five background processes does
 * not run. Resolves whether it started any.
 */
export async function startBackgroundSentinels(): Promise<boolean> {
  const binary = await redisServerBinary();
  const dir = workshopDir("sentinel");
  const { primary, replica, sentinels } = BACKGROUND;
  // Written once: from then on the sentinels rewrite their config (and the nodes' roles) as
  // failovers happen, and a restart must keep what they learnt.
  if (!existsSync(join(dir, String(primary)))) writeConfigs(dir, primary, replica, sentinels);
  const down: number[] = [];
  for (const port of [primary, replica, ...sentinels]) {
    if (!(await answers(port))) down.push(port);
  }
  for (const port of down) {
    const result = spawnSync(
      binary,
      [...configArgs(dir, port), "--daemonize", "yes", "--pidfile", join(dir, `${port}`, "pid")],
      { encoding: "utf8", timeout: 5000 },
    );
    if (result.status !== 0) {
      throw new ServiceError(
        "Redis",
        `Redis Sentinel: could not start redis-server on 127.0.0.1:${port} ` +
          `(${(result.stderr || result.stdout || String(result.error)).trim()}). Is the port taken? ` +
          "Free it, or set REDIS_SENTINELS to sentinels you have.",
      );
    }
  }
  for (const port of down) {
    await waitUntil(`redis-server on 127.0.0.1:${port}`, () => answers(port), { everyMs: 100 });
  }
  if (down.length > 0) await waitForTopology(sentinels);
  return down.length > 0;
}

/** Stops the background set, if it runs. True when something was stopped. */
export function stopBackgroundSentinels(): boolean {
  const dir = workshopDir("sentinel");
  let stopped = false;
  for (const name of readdirSync(dir)) {
    if (killFromPidFile(join(dir, name, "pid"))) stopped = true;
  }
  return stopped;
}

/** The primary's address for MASTER, from the first sentinel that answers. */
export async function askForPrimary(
  sentinels: readonly Address[],
  masterName = MASTER_NAME,
): Promise<Address> {
  const reasons: string[] = [];
  for (const sentinel of sentinels) {
    const client = createClient({
      socket: { ...sentinel, connectTimeout: 1000, reconnectStrategy: false },
    });
    client.on("error", () => {}); // reported by connect() below
    try {
      await client.connect();
      const reply = (await client.sendCommand([
        "SENTINEL",
        "GET-MASTER-ADDR-BY-NAME",
        masterName,
      ])) as [string, string] | null;
      if (reply) return { host: reply[0], port: Number(reply[1]) };
      reasons.push(`${sentinel.host}:${sentinel.port} knows no "${masterName}"`);
    } catch (error) {
      reasons.push(`${sentinel.host}:${sentinel.port}: ${(error as Error).message}`);
    } finally {
      if (client.isOpen) client.destroy();
    }
  }
  throw new Error(reasons.join("; "));
}

/** The ROLE of the node on PORT: "master", "slave" (a replica), or "sentinel". */
export async function roleOf(port: number): Promise<string> {
  const client = createClient({
    socket: { host: "127.0.0.1", port, connectTimeout: 1000, reconnectStrategy: false },
  });
  client.on("error", () => {});
  try {
    await client.connect();
    const reply = (await client.sendCommand(["ROLE"])) as unknown[];
    return String(reply[0]);
  } finally {
    if (client.isOpen) client.destroy();
  }
}

function parseAddresses(list: string): Address[] {
  return list.split(",").map((entry) => {
    const match = /^\s*\[?([^\]]+?)\]?:(\d+)\s*$/.exec(entry);
    if (!match?.[1] || !match[2]) {
      throw new ServiceError(
        "Redis",
        `Redis Sentinel: REDIS_SENTINELS must be host:port pairs separated by commas, not "${list}".`,
      );
    }
    return { host: match[1], port: Number(match[2]) };
  });
}

/** Each process's folder (DIR/PORT) with its config file: the sentinels rewrite theirs. */
function writeConfigs(dir: string, primary: number, replica: number, sentinels: number[]): void {
  const common = (port: number) => [
    `port ${port}`,
    "bind 127.0.0.1",
    `dir ${join(dir, String(port))}`,
    // What each one saw and did: +sdown, +odown, +switch-master in the sentinels' logs.
    `logfile ${join(dir, String(port), "redis.log")}`,
  ];
  const write = (port: number, lines: string[]) => {
    mkdirSync(join(dir, String(port)), { recursive: true });
    writeFileSync(join(dir, String(port), "redis.conf"), `${lines.join("\n")}\n`);
  };
  // AOF on both data nodes, so that a restarted node comes back with its data; fsync always:
  // every write is on disk before it is acknowledged, so even a SIGKILL loses none.
  const data = ["appendonly yes", "appendfsync always", 'save ""'];
  write(primary, [...common(primary), ...data]);
  write(replica, [...common(replica), ...data, `replicaof 127.0.0.1 ${primary}`]);
  for (const port of sentinels) {
    write(port, [
      ...common(port),
      // Two of the three must agree that the primary is down before a failover starts.
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primary} 2`,
      `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
      `sentinel failover-timeout ${MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
    ]);
  }
}

function configArgs(dir: string, port: number): string[] {
  const conf = join(dir, String(port), "redis.conf");
  const isSentinel = /^sentinel monitor/m.test(readFileSync(conf, "utf8"));
  return isSentinel ? [conf, "--sentinel"] : [conf];
}

/** Whether the primary on PORT streams to at least one replica that finished its first sync. */
async function primaryHasReplica(port: number): Promise<boolean> {
  const client = createClient({
    socket: { host: "127.0.0.1", port, connectTimeout: 1000, reconnectStrategy: false },
  });
  client.on("error", () => {});
  try {
    await client.connect();
    const role = (await client.sendCommand(["ROLE"])) as [string, number, unknown[]];
    return role[0] === "master" && role[2].length > 0;
  } catch {
    return false;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

/**
 * Ready for a failover: every sentinel sees the replica and the two other sentinels, and the
 * primary streams to the replica. Before that, killing the primary would leave them nothing to
 * promote, or nobody to vote with.
 */
async function waitForTopology(sentinels: readonly number[]): Promise<void> {
  await waitUntil(
    "the sentinels to see the replica and each other",
    async () => {
      for (const port of sentinels) {
        const client = createClient({
          socket: { host: "127.0.0.1", port, connectTimeout: 1000, reconnectStrategy: false },
        });
        client.on("error", () => {});
        try {
          await client.connect();
          const master = (await client.sendCommand([
            "SENTINEL",
            "MASTER",
            MASTER_NAME,
          ])) as string[];
          const field = (name: string) => Number(master[master.indexOf(name) + 1]);
          if (field("num-slaves") < 1 || field("num-other-sentinels") < sentinels.length - 1) {
            return false;
          }
          // The sentinels count a replica from its first contact; the primary lists it (and
          // streams writes to it) only once its first sync is over.
          const primary = Number(master[master.indexOf("port") + 1]);
          if (!(await primaryHasReplica(primary))) return false;
        } catch {
          return false;
        } finally {
          if (client.isOpen) client.destroy();
        }
      }
      return true;
    },
    { timeoutMs: 60_000, everyMs: 200 },
  );
}

async function answers(port: number): Promise<boolean> {
  const client = createClient({
    socket: { host: "127.0.0.1", port, connectTimeout: 500, reconnectStrategy: false },
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

async function waitForPing(port: number, child: ChildProcess): Promise<void> {
  let gone = false;
  child.once("exit", () => {
    gone = true;
  });
  await waitUntil(`redis-server on 127.0.0.1:${port}`, async () => {
    if (gone) throw new Error(`redis-server on port ${port} exited while starting`);
    return answers(port);
  });
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

async function redisServerBinary(): Promise<string> {
  const binary = await which("redis-server");
  if (!binary) {
    throw new ServiceError(
      "Redis",
      "Redis Sentinel: there is no redis-server on PATH to start a primary, a replica and three " +
        "sentinels from. Install Redis (Debian/Ubuntu: `sudo apt install redis-server`, macOS: " +
        "`brew install redis`), or set REDIS_SENTINELS to sentinels you have.",
    );
  }
  return binary;
}
