/**
 * The Redis side of a differential check (test/checks/differential.ts). Each app under
 * comparison gets a logical database of its own on the folder's redis-server (yours: 1, the
 * reference: 2), emptied before every scenario. One MONITOR connection sees every command
 * Redis runs, in order, and counts each app's into its probe by database: "GET", "SET"…, and
 * for a script, "EVAL" (or "EVALSHA", "FCALL") once, then each command it runs with a "lua:"
 * prefix ("lua:INCR"), so that a check judges what the script did, not that it was a script.
 *
 *   const sides = await RedisSides.start(await redis());
 *   model.probe = (name) => sides.probe(name);
 *   model.createApp = async (side) => module.createApp(await sides.client(side));
 */
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import type { Side } from "./differential.ts";
import { appRedisClient, type CheckRedis } from "./kit.ts";
import { StoreProbe } from "./store-probe.ts";

const DATABASE = { yours: 1, reference: 2 } as const;
/**
 * A client's own bookkeeping, not the app's work: left out of the traffic. PING too, unless the
 * check says the app's client sends none by itself (the workshop's client sends one every
 * 0.5 s: steps/shared/redis-client.ts).
 */
const IGNORED = new Set(["HELLO", "CLIENT", "SELECT", "AUTH", "QUIT", "ECHO", "INFO"]);

/** Counted for each EVAL whose script declares no KEYS (numkeys 0): its keys are in its text. */
export const SCRIPT_WITHOUT_KEYS = "scripts without KEYS";

/** One line of MONITOR: `1712345678.123456 [1 127.0.0.1:50000] "SET" "sess:x" "…"`. */
const LINE = /^\S+ \[(\d+) ([^\]]+)\] (.*)$/;
const ARG = /"((?:[^"\\]|\\.)*)"/g;

/** A session as Redis holds it: the value connect-redis stored, and its time to live. */
export interface HeldSession {
  session: unknown;
  /** Milliseconds left (PTTL): -1 for a key that never expires. */
  ttlMs: number;
}

export class RedisSides {
  private readonly serverUrl: string;
  private readonly admins: Record<Side["name"], RedisClient>;
  private readonly marker: RedisClient;
  /** Addresses of the check's own connections: what they send is not the apps' traffic. */
  private readonly own = new Set<string>();
  private readonly probes = new Map<number, StoreProbe>();
  private readonly waiting = new Map<string, () => void>();
  private markers = 0;
  private countPings = false;

  private constructor(url: string, admins: Record<Side["name"], RedisClient>, marker: RedisClient) {
    this.serverUrl = url;
    this.admins = admins;
    this.marker = marker;
  }

  /**
   * Starts watching REDIS (the folder's own redis-server, from the check's context). PINGS:
   * count each PING as the app's traffic (its client, made by the check, sends none by itself).
   */
  static async start(redis: CheckRedis, { pings = false } = {}): Promise<RedisSides> {
    const [yours, reference, marker, monitor] = await Promise.all([
      redis.client(),
      redis.client(),
      redis.client(),
      redis.client(),
    ]);
    const sides = new RedisSides(redis.url, { yours, reference }, marker);
    sides.countPings = pings;
    for (const client of [yours, reference, marker, monitor]) {
      const info = String(await client.sendCommand(["CLIENT", "INFO"]));
      const addr = /\baddr=(\S+)/.exec(info)?.[1];
      if (addr) sides.own.add(addr);
    }
    await yours.select(DATABASE.yours);
    await reference.select(DATABASE.reference);
    await monitor.monitor((line) => sides.heard(String(line)));
    return sides;
  }

  private heard(line: string): void {
    const match = LINE.exec(line);
    if (!match) return;
    const [, db, source = "", rest = ""] = match;
    const args = [...rest.matchAll(ARG)].map((m) => m[1] ?? "");
    if (this.own.has(source)) {
      const token = args[0]?.toUpperCase() === "ECHO" ? args[1] : undefined;
      if (token) this.waiting.get(token)?.();
      return;
    }
    const name = args[0]?.toUpperCase() ?? "";
    if (IGNORED.has(name) || (name === "PING" && !this.countPings)) return;
    const probe = this.probes.get(Number(db));
    probe?.count(source === "lua" ? `lua:${name}` : name);
    // EVAL script numkeys …: a script that declares no KEYS finds its keys in its own text.
    if ((name === "EVAL" || name === "EVAL_RO") && args[2] === "0")
      probe?.count(SCRIPT_WITHOUT_KEYS);
  }

  /** Resolves once MONITOR has shown every command Redis ran before this call. */
  private settle = async (): Promise<void> => {
    const token = `settled-${++this.markers}`;
    const seen = new Promise<void>((resolve) => this.waiting.set(token, resolve));
    await this.marker.echo(token);
    await seen;
    this.waiting.delete(token);
  };

  /**
   * A probe for NAME's app in the next scenario: its database emptied, its commands counted,
   * its sessions read as `{ id: { session, ttlMs } }` from the keys under PREFIX.
   */
  async probe(name: Side["name"], prefix = "sess:"): Promise<StoreProbe> {
    const admin = this.admins[name];
    await this.settle(); // the last scenario's stragglers are counted there, not here
    await admin.flushDb();
    const probe = new StoreProbe(() => this.held(admin, prefix), this.settle);
    this.probes.set(DATABASE[name], probe);
    return probe;
  }

  /** Every key under PREFIX in ADMIN's database, as sessions. */
  private async held(admin: RedisClient, prefix: string): Promise<Record<string, HeldSession>> {
    const keys: string[] = [];
    for await (const batch of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 }))
      keys.push(...batch);
    const held: Record<string, HeldSession> = {};
    for (const key of keys.sort()) {
      const [value, ttlMs] = await Promise.all([admin.get(key), admin.pTTL(key)]);
      if (value === null || ttlMs === -2) continue; // gone between SCAN and GET
      let session: unknown = value;
      try {
        session = JSON.parse(value);
      } catch {} // a store that does not write JSON: compared as text
      held[key.slice(prefix.length)] = { session, ttlMs };
    }
    return held;
  }

  /** The check's client on NAME's database (to read keys other than sessions). */
  admin(name: Side["name"]): RedisClient {
    return this.admins[name];
  }

  /** The URL of NAME's database, through PORT when given (a proxy the check puts in between). */
  url(name: Side["name"], port?: number): string {
    const url = new URL(this.serverUrl);
    if (port !== undefined) url.port = String(port);
    url.pathname = `/${DATABASE[name]}`;
    return url.href;
  }

  /** A client as the app gets it (createRedisClient), on SIDE's database, closed after. */
  async client(side: Side): Promise<RedisClient> {
    const client = appRedisClient(this.url(side.name));
    client.on("error", () => {}); // faults are what some scenarios are about
    await client.connect();
    side.after(() => (client.isOpen ? client.destroy() : undefined));
    return client;
  }
}
