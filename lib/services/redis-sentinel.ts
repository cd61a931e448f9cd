import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ServiceError } from "./errors.ts";
import { waitUntil } from "./net.ts";
import { INSTALL_REDIS, redis, withRedis } from "./redis.ts";
import {
  ensureBackground,
  fromEnvironment,
  onPath,
  type PrivateServer,
  type Service,
  startPrivate,
} from "./service.ts";

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

const NAME = "Redis Sentinel";
const ENV_VAR = "REDIS_SENTINELS";

type Role = "primary" | "replica" | "sentinel";

/**
 * One process of a set, as a service of its own (found or started like any other): a data node
 * (the primary, or a replica of PRIMARY_PORT), or a sentinel watching PRIMARY_PORT.
 */
function member(role: Role, primaryPort: number, folder: string): Service {
  return {
    ...redis,
    name: NAME,
    envVar: ENV_VAR,
    folder,
    program: async (port, dir) => {
      const conf = join(dir, "redis.conf");
      // Written once: from then on the sentinels rewrite it (and the nodes' roles) as failovers
      // happen, and a restart must keep what they learnt.
      if (!existsSync(conf)) writeFileSync(conf, config(role, port, dir, primaryPort));
      return {
        command: await onPath({ name: NAME, envVar: ENV_VAR }, "redis-server", INSTALL_REDIS),
        args: role === "sentinel" ? [conf, "--sentinel"] : [conf],
        what: `a ${role}`,
      };
    },
  };
}

function config(role: Role, port: number, dir: string, primaryPort: number): string {
  const lines = [`port ${port}`, "bind 127.0.0.1", `dir ${dir}`];
  if (role === "sentinel") {
    lines.push(
      // Two of the three must agree that the primary is down before a failover starts.
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primaryPort} 2`,
      `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
      `sentinel failover-timeout ${MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
    );
  } else {
    // AOF on both data nodes, so that a restarted node comes back with its data; fsync always:
    // every write is on disk before it is acknowledged, so even a SIGKILL loses none.
    lines.push("appendonly yes", "appendfsync always", 'save ""');
    if (role === "replica") lines.push(`replicaof 127.0.0.1 ${primaryPort}`);
  }
  return `${lines.join("\n")}\n`;
}

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

/** Five private servers (lib/services/service.ts) that know each other. For the tests. */
export async function startPrivateSentinels(): Promise<PrivateSentinels> {
  const members: PrivateServer[] = [];
  const stop = async () => {
    await Promise.all(members.map((server) => server.stop()));
  };
  // One after the other: each holds its free port before the next one looks for one.
  const add = async (role: Role, primaryPort: number) => {
    const server = await startPrivate(member(role, primaryPort, "sentinel"));
    members.push(server);
    return server.port;
  };
  let dataPorts: [number, number];
  const sentinelPorts: number[] = [];
  try {
    const primary = await add("primary", 0);
    dataPorts = [primary, await add("replica", primary)];
    for (let i = 0; i < 3; i++) sentinelPorts.push(await add("sentinel", primary));
    await waitForTopology(sentinelPorts);
  } catch (error) {
    await stop();
    throw error;
  }
  const at = (port: number) => members.find((server) => server.port === port);
  const sentinels = sentinelPorts.map((port) => ({ host: "127.0.0.1", port }));
  return {
    masterName: MASTER_NAME,
    sentinels,
    dataPorts,
    primary: () => askForPrimary(sentinels),
    crash: async (port) => at(port)?.crash(),
    start: async (port) => at(port)?.start(),
    freeze: (port) => at(port)?.freeze(),
    thaw: (port) => at(port)?.thaw(),
    stop,
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
  const { masterName, sentinels } = configuredSentinels();
  const ask = () => askForPrimary(sentinels, masterName);
  const unanswered = `no sentinel there named a primary for "${masterName}"`;
  if (await fromEnvironment({ name: NAME, envVar: ENV_VAR, unanswered, ping: ask }, log)) {
    return { masterName, sentinels };
  }
  const started = await startBackgroundSentinels();
  const primary = await ask().catch((error: Error) => {
    throw new ServiceError(
      NAME,
      `${NAME}: the workshop's sentinels on ports ${BACKGROUND.sentinels.join(", ")} run, but ` +
        `${unanswered} (${error.message}). \`npm run services -- stop\`, then start the step again.`,
    );
  });
  log(
    `${NAME}: ${started ? "started" : "using"} the workshop's replicated Redis ` +
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
 * Starts, as processes that outlive this one, whichever of the five background processes does
 * not run (each under .workshop/sentinel/PORT). Resolves whether it started any.
 */
export async function startBackgroundSentinels(): Promise<boolean> {
  const { primary, replica, sentinels } = BACKGROUND;
  const roles: [Role, number][] = [
    ["primary", primary],
    ["replica", replica],
  ];
  for (const port of sentinels) roles.push(["sentinel", port]);
  const results = await Promise.all(
    roles.map(([role, port]) => ensureBackground(member(role, primary, `sentinel/${port}`), port)),
  );
  const started = results.some((result) => result.started);
  if (started) await waitForTopology(sentinels);
  return started;
}

/** The primary's address for MASTER, from the first sentinel that answers. */
export async function askForPrimary(
  sentinels: readonly Address[],
  masterName = MASTER_NAME,
): Promise<Address> {
  const reasons: string[] = [];
  for (const sentinel of sentinels) {
    try {
      const reply = (await withRedis(
        sentinel,
        (client) => client.sendCommand(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName]),
        1000,
      )) as [string, string] | null;
      if (reply) return { host: reply[0], port: Number(reply[1]) };
      reasons.push(`${sentinel.host}:${sentinel.port} knows no "${masterName}"`);
    } catch (error) {
      reasons.push(`${sentinel.host}:${sentinel.port}: ${(error as Error).message}`);
    }
  }
  throw new Error(reasons.join("; "));
}

/** The ROLE of the node on PORT: "master", "slave" (a replica), or "sentinel". */
export async function roleOf(port: number): Promise<string> {
  const reply = (await withRedis(
    { host: "127.0.0.1", port },
    (client) => client.sendCommand(["ROLE"]),
    1000,
  )) as unknown[];
  return String(reply[0]);
}

function parseAddresses(list: string): Address[] {
  return list.split(",").map((entry) => {
    const match = /^\s*\[?([^\]]+?)\]?:(\d+)\s*$/.exec(entry);
    if (!match?.[1] || !match[2]) {
      throw new ServiceError(
        NAME,
        `${NAME}: REDIS_SENTINELS must be host:port pairs separated by commas, not "${list}".`,
      );
    }
    return { host: match[1], port: Number(match[2]) };
  });
}

/**
 * Ready for a failover: every sentinel sees the replica and the two other sentinels, and the
 * primary streams to the replica. Before that, killing the primary would leave them nothing to
 * promote, or nobody to vote with.
 */
async function waitForTopology(sentinels: readonly number[]): Promise<void> {
  const ready = async (port: number) => {
    const master = (await withRedis(
      { host: "127.0.0.1", port },
      (client) => client.sendCommand(["SENTINEL", "MASTER", MASTER_NAME]),
      1000,
    )) as string[];
    const field = (name: string) => Number(master[master.indexOf(name) + 1]);
    if (field("num-slaves") < 1 || field("num-other-sentinels") < sentinels.length - 1) {
      return false;
    }
    // The sentinels count a replica from its first contact; the primary lists it (and streams
    // writes to it) only once its first sync is over.
    const role = (await withRedis(
      { host: "127.0.0.1", port: field("port") },
      (client) => client.sendCommand(["ROLE"]),
      1000,
    )) as [string, number, unknown[]];
    return role[0] === "master" && role[2].length > 0;
  };
  await waitUntil(
    "the sentinels to see the replica and each other",
    async () => {
      for (const port of sentinels) if (!(await ready(port).catch(() => false))) return false;
      return true;
    },
    { timeoutMs: 60_000, everyMs: 200 },
  );
}
