/**
 * Exercise 03: the sessions move to the Redis the app is given, under workshop:sess:<id>, and
 * live 45 minutes after the last request, in the cookie and in Redis alike; while Redis fails
 * a page is a quick 503, and the app recovers by itself when Redis is back.
 *
 * A differential check (test/checks/differential.ts): fast-check draws scenarios of three
 * visitors (visits as JSON or as the page, or GET /favicon.ico: a request that leaves the
 * session unchanged, on either of two processes of the app, processes restarting, everyone
 * away for a while, Redis going down or refusing writes, and coming back), runs each one on
 * your app and on the reference side by side, each with a Redis database of its own
 * (test/checks/redis-probe.ts) that also holds other apps' keys, and after every request
 * compares what a visitor sees (status, body, the cookie and its lifetime) and what an
 * operator sees (the sessions' keys, their TTLs in minutes, the other keys, the commands Redis
 * received, those it refused the app's Redis user, which may not change the server's settings
 * (ACL), the connections opened, how long a failure took).
 *
 * Time: "away N minutes" moves every key's TTL and every cookie's expiry N minutes on, so that
 * 45 minutes pass in no time; each app is built as if its process had started an hour ago.
 * Faults: each app reaches Redis through a relay of the check's own (test/checks/relay.ts) that
 * the scenario cuts (new connections wait), cuts just after the next command that writes
 * reached Redis (a process that dies mid-request), and mends; "full" makes the shared
 * redis-server refuse writes (maxmemory: OOM), "read-only" makes it a replica of a server that
 * never answers (READONLY; lifted while the check itself ages the keys); in one example, a gate
 * of the check's own between the relay and Redis answers every command LOADING (a Redis
 * restarting), then BUSY (a long script), then every write MISCONF (a snapshot it failed to save
 * to disk). The page's record is compared too, and TTLs to 5 s.
 * Runs: the 14 examples, then 9 drawn scenarios of up to 6 steps.
 */
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import express, { type Express } from "express";
import type { Store } from "express-session";
import fc from "fast-check";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import {
  type Answer,
  differential,
  type Model,
  type Observation,
  type Side,
  type Step,
  setCookieParts,
} from "../../test/checks/differential.ts";
import {
  appRedisClient,
  type CheckRedis,
  defineCheck,
  SLOWER_MS,
  Wrong,
} from "../../test/checks/kit.ts";
import { type HeldSession, RedisSides } from "../../test/checks/redis-probe.ts";
import { Relay, startsWithRead } from "../../test/checks/relay.ts";
import * as reference from "./solution/app.ts";

type Module = typeof import("./solution/app.ts");

const PREFIX = "workshop:sess:";
const LIFETIME_MINUTES = 45;
const VISITORS = 3;
const PROCESSES = 2;

type Action =
  | { do: "visit"; who: number; process: number; page: boolean }
  /** GET /favicon.ico: no route of the app's, but a request with the session's cookie. */
  | { do: "asset"; who: number; process: number }
  | { do: "away"; minutes: number }
  | { do: "restart"; process: number }
  | { do: "fault"; fault: Fault; on: boolean };

/**
 * Redis down (nothing answers), full (out of memory: it refuses every write), read-only (made a
 * replica: it refuses every write, READONLY), or lost just after the next command that writes
 * reached it (a process that dies mid-request): then down.
 */
type Fault = "down" | "full" | "readonly" | "cut" | Busy;
/**
 * How a running Redis refuses commands for now, with an error reply that names why: restarted
 * and still loading its data (LOADING), running a long script (BUSY): every command; unable to
 * save its snapshot to disk (MISCONF): every write (and PING). Played by the side's gate
 * (below): the redis-server itself, shared with the check, stays as it is.
 */
type Busy = "loading" | "busy" | "misconf";
/** How a running Redis refuses writes (or every command) for now. */
type Refusal = "full" | "readonly" | Busy;

/** The error replies of a Redis that refuses commands for now (Busy). */
const BUSY_REPLIES: Record<Busy, string> = {
  loading: "LOADING Redis is loading the dataset in memory",
  busy: "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
  misconf:
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.",
};

/** The commands a Redis that cannot save to disk refuses (MISCONF): those that write, and PING. */
const MISCONF_REFUSES = new Set(
  (
    "SET SETEX PSETEX SETNX SETRANGE GETSET GETDEL GETEX MSET MSETNX APPEND INCR INCRBY DECR " +
    "DECRBY DEL UNLINK EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST RENAME RENAMENX COPY MOVE " +
    "HSET HSETNX HMSET HDEL HINCRBY SADD SREM ZADD ZREM LPUSH RPUSH LPOP RPOP FLUSHDB FLUSHALL " +
    "EVAL EVALSHA FCALL PING"
  ).split(" "),
);

/** The name of the command (RESP, or inline) in BUFFER, upper case. */
function commandName(command: Buffer): string {
  const text = command.toString("latin1");
  const name = text.startsWith("*") ? text.split("\r\n")[2] : text.trim().split(/\s+/)[0];
  return (name ?? "").toUpperCase();
}

/**
 * Where the RESP value (a command, or a reply) that starts at AT in BUFFER ends; -1: not all
 * there yet. RESP2, and RESP3's types; a line that starts otherwise is an inline command.
 */
function respEnd(buffer: Buffer, at: number): number {
  const line = buffer.indexOf("\r\n", at);
  if (at >= buffer.length || line < 0) return -1;
  const type = String.fromCharCode(buffer[at] ?? 0);
  const n = Number(buffer.toString("latin1", at + 1, line));
  if ("$=!".includes(type)) {
    const end = n < 0 ? line + 2 : line + 2 + n + 2;
    return end <= buffer.length ? end : -1;
  }
  if ("*~>%".includes(type)) {
    let end = line + 2;
    for (let i = 0; i < (type === "%" ? 2 * n : n) && end >= 0; i++) end = respEnd(buffer, end);
    return end;
  }
  return line + 2;
}

/**
 * A TCP gate between a side's relay and the redis-server: it passes every command through, or,
 * while REFUSING, answers each one (only the writes, for "misconf") itself with the error reply
 * of a Redis that refuses it for now (BUSY_REPLIES). Answers keep the order of the commands, as
 * Redis's do.
 */
class Gate {
  refusing: Busy | undefined;
  /** Commands passed on to Redis and not answered yet, on the connections still open. */
  private inFlight = 0;
  private readonly server: Server;
  private readonly target: URL;
  private readonly sockets = new Set<Socket>();

  private constructor(server: Server, target: URL) {
    this.server = server;
    this.target = target;
    server.on("connection", (socket) => this.accept(socket));
  }

  static async open(url: string): Promise<Gate> {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return new Gate(server, new URL(url));
  }

  /** The redis-server's URL, through the gate. */
  get url(): string {
    const address = this.server.address();
    const url = new URL(this.target);
    url.hostname = "127.0.0.1";
    url.port = String(typeof address === "object" && address ? address.port : 0);
    return url.href;
  }

  /**
   * Once the commands already sent through the gate have their answers from Redis (200 ms at
   * most): the hop through the gate adds no delay to what the check then sees in Redis.
   */
  async passed(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    for (const deadline = Date.now() + 200; this.inFlight > 0 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(app: Socket): void {
    const redis = connect(Number(this.target.port), this.target.hostname);
    // The answers owed, in the order of the commands: one of the gate's own, or Redis's to come.
    const owed: { answer?: Buffer }[] = [];
    for (const socket of [app, redis]) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on("error", () => {});
      socket.on("close", () => {
        this.sockets.delete(socket);
        app.destroy();
        redis.destroy();
        // Commands that will have no answer now: no longer in flight.
        const lost = owed.filter((entry) => !entry.answer).length;
        owed.splice(0);
        this.inFlight -= lost;
      });
    }
    let asked = Buffer.alloc(0);
    let answered = Buffer.alloc(0);
    const flush = () => {
      while (owed[0]?.answer) app.write(owed.shift()?.answer ?? "");
    };
    app.on("data", (chunk: Buffer) => {
      asked = Buffer.concat([asked, chunk]);
      for (let end = respEnd(asked, 0); end > 0; end = respEnd(asked, 0)) {
        const command = asked.subarray(0, end);
        asked = asked.subarray(end);
        const refused =
          this.refusing === "misconf" ? MISCONF_REFUSES.has(commandName(command)) : this.refusing;
        if (this.refusing && refused) {
          owed.push({ answer: Buffer.from(`-${BUSY_REPLIES[this.refusing]}\r\n`) });
        } else {
          owed.push({});
          this.inFlight++;
          redis.write(command);
        }
      }
      flush();
    });
    redis.on("data", (chunk: Buffer) => {
      answered = Buffer.concat([answered, chunk]);
      for (let end = respEnd(answered, 0); end > 0; end = respEnd(answered, 0)) {
        const slot = owed.find((entry) => !entry.answer);
        if (slot) {
          slot.answer = answered.subarray(0, end);
          this.inFlight--;
        }
        answered = answered.subarray(end);
      }
      flush();
    });
  }
}

/**
 * The redis-server both sides share, as the "read-only" fault leaves it: a replica of MASTER, a
 * server of the check's that never answers. ADMIN sends every REPLICAOF, in order; WRITERS: the
 * sides ageing keys meanwhile, for which the fault is lifted (LIFTED).
 */
interface Shared {
  admin: RedisClient;
  masterPort: number;
  replica: boolean;
  writers: number;
  lifted?: Promise<unknown>;
  /** The REPLICAOF NO ONE that ends a scenario's "read-only" fault. */
  primaryAgain?: Promise<unknown>;
}

const name = (i: number) => "ABC"[i] ?? "?";
/** The path a visitor's request asks for. */
const path = (a: Action) => (a.do === "asset" ? "/favicon.ico" : "/");

/** One side's app for a scenario: two processes (apps) behind a balancer, and their clients. */
interface Rig {
  /** A new app (a process starting) over CLIENT: yours or the reference. */
  build(client: RedisClient): Express;
  cable: Relay;
  /** Between the cable and the redis-server: it plays a Redis that refuses every command. */
  gate: Gate;
  admin: RedisClient;
  instances: Express[];
  clients: RedisClient[];
  /** Which process the next request goes to. */
  target: number;
  /** Requests each process has answered (its first one may open its connections). */
  served: number[];
  /** How far (ms) the scenario's clock is ahead of the real one: the minutes everyone was away. */
  aheadMs: number;
  /** When each visitor's session cookie expires, on the scenario's clock (none: a browser session). */
  cookieExpires: (number | undefined)[];
  /** Whether a process restarted earlier in the scenario. */
  restarted: boolean;
  /** Whether Redis failed earlier in the scenario. */
  hadOutage: boolean;
  /** Whether Redis refuses writes now because it is full (out of memory). */
  full: boolean;
  /** The redis-server both sides share. */
  shared: Shared;
  /** The commands the side's Redis user was denied before the scenario (ACL LOG). */
  deniedBefore: Record<string, number>;
  /** Connections opened through the cable while the last request was answered. */
  openedDuring: number;
  /** The clock's lead (aheadMs) at each visitor's last request; and how far it moved since. */
  leadAtRequest: number[];
  awayMs: number;
  /** How long the last request took to answer (in flight: not yet known). */
  elapsedMs: Promise<number>;
}
const rigs = new WeakMap<Side, Rig>();
/** Whether (and why) Redis refuses writes now: out of memory, or a replica. */
const refusal = (rig: Rig): Refusal | undefined =>
  rig.gate.refusing ?? (rig.full ? "full" : rig.shared.replica ? "readonly" : undefined);
const rigOf = (side: Side): Rig => {
  const rig = rigs.get(side);
  if (!rig) throw new Error("no rig for this side");
  return rig;
};

/** Other apps' keys in the same Redis: the policy's prefix is there to leave them alone. */
const NEIGHBOURS: [string, string, number | undefined][] = [
  ["sess:9aQ2-another-apps-session-id-x", '{"cookie":{},"user":"someone"}', 86_400],
  ["cache:home", "<html>the home page, cached</html>", 86_400],
  ["workshop:cart:42", '["a mug"]', undefined],
];

async function databaseOf(admin: RedisClient): Promise<number> {
  const info = String(await admin.sendCommand(["CLIENT", "INFO"]));
  return Number(/\bdb=(\d+)/.exec(info)?.[1] ?? 0);
}

/**
 * A client as server.ts gives one to the app (createRedisClient's options), through CABLE to
 * DATABASE. Without createRedisClient's messages: the check's own outages are not worth a line
 * of output each.
 */
async function appClient(cable: Relay, database: number, user: string) {
  const url = new URL(cable.url(database));
  url.username = user;
  url.password = APP_PASSWORD;
  const client = appRedisClient(url.href);
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** Waits (3 s at most) until every client in CLIENTS is READY (connected) or not. */
async function until(ready: boolean, clients: RedisClient[]): Promise<void> {
  const deadline = Date.now() + 3000;
  while (clients.some((client) => client.isOpen && client.isReady !== ready)) {
    if (Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Runs BUILD (an app starting) with the clock an hour behind, as if the process had started an
 * hour before the scenario: a lifetime computed once at startup is then already over. Date is
 * the process's own, but BUILD is synchronous: nothing else runs while it is changed.
 */
function anHourAgo<T>(build: () => T): T {
  const RealDate = Date;
  const ago = () => RealDate.now() - 60 * 60_000;
  globalThis.Date = class extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(ago());
      else super(...(args as ConstructorParameters<DateConstructor>));
    }
    static override now = ago;
  } as DateConstructor;
  try {
    return build();
  } finally {
    globalThis.Date = RealDate;
  }
}

/** Waits until what the apps sent Redis as they started is counted (not as a request's). */
async function started(side: Side): Promise<void> {
  // What a new app sends Redis at its start may come in turns (a SCAN, then a DEL of what it
  // found): settled until a round brings no new command, so that the next request comes after.
  const sent = () => Object.values(side.probe.traffic).reduce((sum, n) => sum + n, 0);
  for (let round = 0, before = -1; round < 20 && sent() !== before; round++) {
    before = sent();
    await new Promise((resolve) => setTimeout(resolve, 1));
    await side.probe.settle();
  }
}

// ---- What clients do.
const who = fc.constantFrom(0, 0, 0, 1, 1, 2);
const onProcess = fc.constantFrom(0, 0, 1);
const visitAction = fc.record({
  do: fc.constant("visit" as const),
  who,
  process: onProcess,
  page: fc.boolean(),
});
const actions: fc.Arbitrary<Action> = fc.oneof(
  {
    arbitrary: fc.record({
      do: fc.constant("fault" as const),
      fault: fc.constantFrom<Fault>("down", "full", "readonly", "cut"),
      on: fc.boolean(),
    }),
    weight: 2,
  },
  { arbitrary: visitAction, weight: 5 },
  {
    arbitrary: fc.record({ do: fc.constant("asset" as const), who, process: onProcess }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      do: fc.constant("away" as const),
      minutes: fc.constantFrom(50, 30, 44, 46, 20),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ do: fc.constant("restart" as const), process: onProcess }), weight: 1 },
);

/** What a fault looks like to the learner: as it starts, and as it ends. */
const FAULT_TEXT: Record<Fault, [on: string, off: string]> = {
  down: ["Redis goes down", "Redis is back"],
  cut: [
    "the next command that writes reaches Redis, and then Redis is gone (the connection lost mid-request)",
    "Redis is back",
  ],
  loading: [
    "Redis restarts, and is still loading its data (it answers every command LOADING)",
    "Redis has loaded its data",
  ],
  busy: ["Redis runs a long script (it answers every other command BUSY)", "the script is over"],
  misconf: [
    "Redis fails to save its snapshot to disk (it refuses every write: MISCONF)",
    "Redis saves to disk again",
  ],
  readonly: [
    "Redis is made a replica (read-only: it refuses every write)",
    "Redis takes writes again",
  ],
  full: ["Redis is full (out of memory: it refuses every write)", "Redis has room again"],
};

function describe(a: Action): string {
  switch (a.do) {
    case "visit":
      return `${name(a.who)}: GET / ${a.page ? "(the page)" : "(JSON)"} on process ${a.process + 1}`;
    case "asset":
      return `${name(a.who)}: GET /favicon.ico (a request that leaves the session unchanged) on process ${a.process + 1}`;
    case "away":
      return `everyone is away for ${a.minutes} minutes`;
    case "restart":
      return `process ${a.process + 1} restarts (a new app over the same Redis)`;
    case "fault": {
      const [on, off] = FAULT_TEXT[a.fault];
      return a.on ? on : off;
    }
  }
}

/** Makes the shared redis-server a replica (it refuses writes: READONLY), or a primary again. */
function replica(shared: Shared, on: boolean): Promise<unknown> {
  return shared.admin.sendCommand(
    on ? ["REPLICAOF", "127.0.0.1", String(shared.masterPort)] : ["REPLICAOF", "NO", "ONE"],
  );
}

/**
 * Runs FN, the check's own writes, on a Redis that takes them: the "read-only" fault is lifted
 * meanwhile (for both sides at once: they share the server), and put back when no side needs
 * it lifted. Only while everyone is away: no app sends Redis anything then.
 */
async function writable<T>(shared: Shared, fn: () => Promise<T>): Promise<T> {
  if (!shared.replica) return fn();
  shared.writers++;
  shared.lifted ??= replica(shared, false);
  try {
    await shared.lifted;
    return await fn();
  } finally {
    if (--shared.writers === 0) {
      shared.lifted = undefined;
      if (shared.replica) await replica(shared, true);
    }
  }
}

/** Moves every key's TTL MINUTES on (a key whose time is up is gone), as Redis would. */
async function age(admin: RedisClient, minutes: number): Promise<void> {
  for await (const batch of admin.scanIterator({ COUNT: 1000 })) {
    for (const key of batch) {
      const left = await admin.pTTL(key);
      if (left < 0) continue; // no TTL: it stays
      if (left <= minutes * 60_000) await admin.del(key);
      else await admin.pExpire(key, left - minutes * 60_000);
    }
  }
}

function keepCookieExpiry(rig: Rig, who: number, answer: Answer): void {
  for (const line of answer.setCookies) {
    if (!line.startsWith(`${COOKIE_NAME}=`)) continue;
    const expires = /;\s*expires=([^;]+)/i.exec(line)?.[1];
    rig.cookieExpires[who] = expires ? Date.parse(expires) + rig.aheadMs : undefined;
  }
}

async function perform(a: Action, side: Side): Promise<Answer | undefined> {
  const rig = rigOf(side);
  switch (a.do) {
    case "away": {
      rig.aheadMs += a.minutes * 60_000;
      await writable(rig.shared, () => age(rig.admin, a.minutes));
      return undefined;
    }
    case "fault": {
      if (a.on) rig.hadOutage = true;
      if (a.fault === "loading" || a.fault === "busy" || a.fault === "misconf") {
        rig.gate.refusing = a.on ? a.fault : undefined;
      } else if (a.fault === "full") {
        rig.full = a.on;
        // The same redis-server for both sides: both set it, the same way, at the same step.
        await rig.admin.configSet("maxmemory", a.on ? "1" : "0");
      } else if (a.fault === "readonly") {
        rig.shared.replica = a.on;
        await replica(rig.shared, a.on);
      } else if (a.on && a.fault === "cut") {
        rig.cable.downAfterNextRequest(startsWithRead);
      } else if (a.on) {
        rig.cable.set("down");
        await until(false, rig.clients); // the clients have seen their connections drop
      } else {
        rig.cable.set("up");
        await until(true, rig.clients);
      }
      return undefined;
    }
    case "restart": {
      const client = rig.clients[a.process];
      if (rig.cable.state === "down" || !client) return undefined; // a process cannot start without Redis
      rig.instances[a.process] = rig.build(client);
      await started(side);
      rig.served[a.process] = 0;
      rig.restarted = true;
      return undefined;
    }
    case "visit":
    case "asset": {
      const visitor = side.visitors[a.who];
      if (!visitor) return undefined;
      const expires = rig.cookieExpires[a.who];
      if (expires !== undefined && expires <= Date.now() + rig.aheadMs) {
        visitor.cookies.delete(COOKIE_NAME); // the browser drops an expired cookie
      }
      rig.target = a.process;
      rig.awayMs = rig.aheadMs - (rig.leadAtRequest[a.who] ?? rig.aheadMs);
      rig.leadAtRequest[a.who] = rig.aheadMs;
      const opened = rig.cable.opened;
      const started = Date.now();
      let took = (_ms: number) => {};
      rig.elapsedMs = new Promise((resolve) => {
        took = resolve;
      });
      let answer: Answer;
      try {
        answer =
          a.do === "asset"
            ? await visitor.send("GET", "/favicon.ico", { accept: "image/*" })
            : await visitor.send("GET", "/", {
                accept: a.page ? "text/html" : "application/json",
              });
      } catch (error) {
        const failing =
          rig.cable.state === "down" ? "was down" : refusal(rig) && "refused commands";
        if (error instanceof Wrong && failing) {
          throw new Wrong(
            `an outage of Redis is not a quick 503: GET ${path(a)} never answered while Redis ${failing}`,
            "a 503 at once (the client fails its commands while Redis is down, and Redis answers each one with an error while it refuses them)",
            "no answer: something waits for Redis to come back",
          );
        }
        throw error;
      } finally {
        took(Date.now() - started);
      }
      await rig.gate.passed();
      rig.openedDuring = (rig.served[a.process] ?? 0) > 0 ? rig.cable.opened - opened : 0;
      rig.served[a.process] = (rig.served[a.process] ?? 0) + 1;
      keepCookieExpiry(rig, a.who, answer);
      return answer;
    }
  }
}

// ---- What is compared.
const minutesUntil = (time: number) => Math.round((time - Date.now()) / 60_000);
/**
 * A TTL to the minute, and the seconds it is off a whole minute when over 5: the key and the
 * cookie end together, to the second (a request takes a few milliseconds, a busy machine more).
 */
function ttlShown(ttlMs: number): string {
  if (ttlMs < 0) return "never expires";
  const minutes = Math.round(ttlMs / 60_000);
  const off = Math.round(ttlMs / 1000 - minutes * 60);
  return Math.abs(off) <= 5
    ? `${minutes} min`
    : `${minutes} min ${off > 0 ? "+" : "−"} ${Math.abs(off)} s`;
}

/** A key as the check shows it: session ids replaced by their owner's name or their label ("#1"). */
function masked(key: string, side: Side): string {
  let shown = key;
  side.visitors.forEach((visitor, i) => {
    const id = idIn(visitor.cookie(COOKIE_NAME));
    if (id) shown = shown.replaceAll(id, `<${name(i)}'s session id>`);
  });
  for (const [id, label] of side.labels) shown = shown.replaceAll(id, label);
  return shown.replace(/[A-Za-z0-9_-]{32}/g, "<a session id>");
}

/** The session id inside a session cookie's value (s%3A<id>.<signature>). */
const idIn = (value: string | undefined) =>
  /^s:([^.]+)\./.exec(decodeURIComponent(value ?? ""))?.[1];

/** The keys outside workshop:sess: that are not the other apps': where else sessions went. */
async function keysElsewhere(side: Side): Promise<Record<string, string>> {
  const admin = rigOf(side).admin;
  const found: Record<string, string> = {};
  for await (const batch of admin.scanIterator({ COUNT: 1000 })) {
    for (const key of batch) {
      // workshop:sess:<id>, an id without a colon; or an other app's.
      if (/^workshop:sess:[^:]+$/.test(key) || NEIGHBOURS.some(([k]) => k === key)) continue;
      found[masked(key, side)] = ttlShown(await admin.pTTL(key));
    }
  }
  return found;
}

async function neighbours(side: Side): Promise<string> {
  const values = await rigOf(side).admin.mGet(NEIGHBOURS.map(([key]) => key));
  const gone = NEIGHBOURS.filter(([, value], i) => values[i] !== value).map(([key]) => key);
  return gone.length ? `changed or deleted: ${gone.join(", ")}` : "untouched";
}

/** The visit count in the record a page shows (HTML-escaped JSON), as the inspector read it. */
function visitsIn(record: string | undefined): unknown {
  const text = (record ?? "").replace(/&(quot|#34|amp|lt|gt|#39);/g, (_, entity: string) => {
    return ({ quot: '"', "#34": '"', amp: "&", lt: "<", gt: ">", "#39": "'" } as const)[
      entity as "quot"
    ];
  });
  try {
    return (JSON.parse(text) as { visits?: unknown }).visits ?? "(none)";
  } catch {
    return "(not a record)";
  }
}

/** The page as compared: the store it names, the cookie's expiry, the record it shows. */
function page(html: string, side: Side) {
  const field = (label: string) =>
    new RegExp(`<dt>${label}</dt><dd>([^<]*)</dd>`).exec(html)?.[1] ?? "(not shown)";
  const expires = field("Cookie expires");
  const where = /read back from ([^<]*?):<\/p>/.exec(html)?.[1];
  const record = /read back from [^<]*?:<\/p>\s*<pre>([^<]*)<\/pre>/.exec(html)?.[1];
  const forgets = /forgets it in <strong>(\d+) min (\d+) s/.exec(html);
  return {
    store: field("Store"),
    cookieExpires: Number.isNaN(Date.parse(expires))
      ? expires
      : `in ${minutesUntil(Date.parse(expires))} min`,
    record: where
      ? {
          where: masked(where, side),
          visits: visitsIn(record),
          forgets: forgets
            ? `in ${Math.round((Number(forgets[1]) * 60 + Number(forgets[2])) / 60)} min`
            : "never",
        }
      : "the store holds nothing for this session",
  };
}

async function body(a: Action, answer: Answer, side: Side, reference: Side) {
  const rig = rigOf(side);
  const failing = rig.cable.state === "down" || refusal(rig) !== undefined;
  const slower = (await rig.elapsedMs) - (await rigOf(reference).elapsedMs);
  const operator = {
    keysElsewhere: await keysElsewhere(side),
    otherApps: await neighbours(side),
    // Clients reconnecting while Redis is down open connections: only counted while it is up.
    newConnections: rig.cable.state === "down" ? 0 : rig.openedDuring,
    quick: !failing || slower <= SLOWER_MS,
    changedServer: since(await denied(rig.admin, side.name), rig.deniedBefore),
  };
  if (answer.status >= 400) return { answer: "(an error)", ...operator };
  if (answer.status !== 200 || a.do !== "visit")
    return { answer: `(a ${answer.status})`, ...operator };
  if (a.page) return { ...page(answer.text, side), ...operator };
  const json = JSON.parse(answer.text) as { visits?: unknown; sessionId?: string; store?: unknown };
  return {
    visits: json.visits,
    session: side.labels.get(json.sessionId ?? "") ?? "(a session not under workshop:sess:)",
    store: json.store,
    ...operator,
  };
}

function cookie(line: string) {
  const { pair, attributes } = setCookieParts(line);
  const expires = attributes.get("expires");
  const maxAge = attributes.get("max-age");
  const lifetime =
    maxAge !== undefined
      ? `${Math.round(Number(maxAge) / 60)} min`
      : expires
        ? `${minutesUntil(Date.parse(expires))} min`
        : "until the browser closes";
  return {
    name: pair.slice(0, pair.indexOf("=")),
    path: attributes.get("path") ?? "(none)",
    httpOnly: attributes.has("httponly"),
    sameSite: attributes.get("samesite")?.toLowerCase() ?? "(none)",
    lifetime,
  };
}

function session(data: unknown) {
  const { session: stored, ttlMs } = data as HeldSession;
  const { visits, cookie: sessionCookie } = (stored ?? {}) as {
    visits?: unknown;
    cookie?: { expires?: string | null };
  };
  return {
    visits,
    ttl: ttlShown(ttlMs),
    cookieExpires: sessionCookie?.expires
      ? `in ${minutesUntil(Date.parse(sessionCookie.expires))} min`
      : "never",
  };
}

/** A command as compared: what it does, not how it was spelled or grouped. */
function kind(command: string): string | undefined {
  // The Store API's calls (get, set, touch…): judged by the commands Redis received.
  if (command === command.toLowerCase()) return undefined;
  const bare = command.replace(/^lua:/, "");
  if (["GET", "TTL", "PTTL", "EXISTS", "TYPE"].includes(bare)) return undefined; // reads
  if (/^P?EXPIRE(AT)?$/.test(bare)) return undefined; // renewals: judged by the TTL they leave
  if (["MULTI", "EXEC", "EVAL", "EVALSHA", "EVAL_RO", "FCALL", "SCRIPT"].includes(bare)) {
    return undefined; // how commands are grouped: a script is judged by the commands it runs
  }
  if (["SET", "SETEX", "PSETEX"].includes(bare)) return "SET";
  if (bare === "UNLINK") return "DEL";
  return bare;
}

/**
 * Commands that change the whole redis-server, for every app that shares it (its settings, its
 * users, its role, every database): the apps' Redis users may not run them (as in a Redis
 * shared with others), and Redis logs each attempt (ACL LOG) by user. Not seen otherwise:
 * MONITOR does not show administrative commands such as CONFIG.
 */
const SERVER_WIDE = [
  "config",
  "acl",
  "replicaof",
  "slaveof",
  "module",
  "debug",
  "shutdown",
  "failover",
  "swapdb",
  "flushall",
];
/** The Redis user of SIDE's app (its clients log in as it, with APP_PASSWORD). */
const appUser = (side: Side["name"]) => `workshop-check-${side}`;
const APP_PASSWORD = "not-a-secret";

async function createAppUsers(admin: RedisClient): Promise<void> {
  for (const side of ["yours", "reference"] as const) {
    const denied = SERVER_WIDE.map((command) => `-${command}`);
    await admin.sendCommand(["ACL", "SETUSER", appUser(side), "reset", "on", `>${APP_PASSWORD}`]);
    await admin.sendCommand(["ACL", "SETUSER", appUser(side), "~*", "&*", "+@all", ...denied]);
  }
}

/** The commands SIDE's Redis user was denied so far, with how often: { "config|set": 1 }. */
async function denied(admin: RedisClient, side: Side["name"]): Promise<Record<string, number>> {
  const entries = (await admin.sendCommand(["ACL", "LOG", "128"])) as unknown[];
  const found: Record<string, number> = {};
  for (const entry of entries) {
    if (!Array.isArray(entry)) continue;
    const field = (name: string) => entry[entry.indexOf(name) + 1] as unknown;
    if (field("username") !== appUser(side) || field("reason") !== "command") continue;
    const command = String(field("object"));
    found[command] = (found[command] ?? 0) + Number(field("count"));
  }
  return found;
}

/** What NOW counts more than BEFORE, as "CONFIG SET×1". */
const since = (now: Record<string, number>, before: Record<string, number>) =>
  Object.entries(now)
    .filter(([command, n]) => n > (before[command] ?? 0))
    .map(
      ([command, n]) => `${command.replace("|", " ").toUpperCase()}×${n - (before[command] ?? 0)}`,
    );

// ---- Rules: what is wrong where your app and the reference differ, in words.
type S = Step<Action>;
type Body = Record<string, unknown>;
const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
const visitor = (a: Action) => (a.do === "visit" || a.do === "asset" ? name(a.who) : "");

function statusRule({ action: a, yours: y, reference: r, referenceSide }: S) {
  if (y.status === r.status) return undefined;
  const rig = rigOf(referenceSide);
  const down = rig.cable.state === "down";
  const refused = {
    full: "refused the write (out of memory: OOM)",
    readonly: "refused the write (a replica now: READONLY)",
    loading: "refused every command (restarted, still loading its data: LOADING)",
    busy: "refused every command (running a long script: BUSY)",
    misconf: "refused the write (unable to save its snapshot to disk: MISCONF)",
  };
  const get = `GET ${path(a)}`;
  const refuses = refusal(rig);
  if ((down || refuses) && y.status < 300) {
    return `claimed success while Redis ${refuses ? refused[refuses] : "was down"}: ${get} answered ${y.status}; the visit was kept nowhere the other processes can see, and the visitor must learn it did not work (a 503)`;
  }
  if ((refuses === "loading" || refuses === "busy") && y.status === 500) {
    return `an outage of Redis is not a 503: ${get} answered 500 while Redis ${refused[refuses]}; a running Redis that refuses commands for now (still loading its data after a restart, busy with a long script: LOADING, BUSY…) is out for a moment, as a Redis that is down, not a bug of the app's: a 503 says "try again in a moment"`;
  }
  if (refuses && y.status === 500) {
    return `an outage of Redis is not a 503: ${get} answered 500 while Redis ${refused[refuses]}; a running Redis that refuses writes for now (out of memory, a replica, a failed save: OOM, READONLY, MISCONF…) is an outage too, not a bug of the app's: a 503 says "try again in a moment"`;
  }
  if (down || refuses) {
    return `an outage of Redis is not a 503: ${get} answered ${y.status} (a 503 says "try again in a moment"; pass the store's error on to the error handler that says so)`;
  }
  if (y.status >= 500 && rigOf(referenceSide).hadOutage) {
    return `the app does not recover when Redis is back: ${get} answered ${y.status} where the reference answered ${r.status}`;
  }
  if (y.status >= 500)
    return `${visitor(a)}'s ${get} answered ${y.status} where ${r.status} was expected, with Redis up: the store failed to save or touch the session (what your app printed, below, says why; "ERR value is not an integer or out of range" is Redis refusing a time to live that is not a whole number of seconds)`;
  return `${visitor(a)}'s ${get} answered ${y.status} where ${r.status} was expected`;
}

function keysRule({ yours: y, reference: r }: S) {
  const said: string[] = [];
  const mine = y.body as Body;
  const theirs = r.body as Body;
  if (mine.otherApps !== theirs.otherApps) {
    said.push(
      `deleted other apps' keys: the Redis is shared, and after this request the keys of others are ${String(mine.otherApps)}; touch only your own keys (workshop:sess:*)`,
    );
  }
  const extra = Object.entries((mine.keysElsewhere ?? {}) as Record<string, string>).filter(
    ([key]) => !(key in ((theirs.keysElsewhere ?? {}) as object)),
  );
  const lost = Object.keys(r.store).filter((label) => !(label in y.store));
  if (extra.length && lost.length) {
    said.push(
      `the session is not in Redis under workshop:sess:<id>: your app wrote ${extra.map(([k]) => k).join(", ")}`,
    );
  } else if (extra.some(([, ttl]) => ttl === "never expires")) {
    said.push(
      `left a key that never expires: ${extra.map(([k, ttl]) => `${k} (${ttl})`).join(", ")}; in a Redis shared for months, a key without a TTL is kept for ever`,
    );
  } else if (extra.length) {
    said.push(`wrote keys the reference does not: ${extra.map(([k]) => k).join(", ")}`);
  }
  if (mine.newConnections !== theirs.newConnections && Number(mine.newConnections) > 0) {
    said.push(
      `a new connection to Redis on every request: answering this one opened ${String(mine.newConnections)}; use the client the app was given, connected once`,
    );
  }
  if (mine.quick === false && theirs.quick === true) {
    said.push(
      `an outage of Redis is not a quick 503: the answer took more than ${SLOWER_MS / 1000} s longer than the reference's while Redis failed (it waited for Redis instead of failing at once)`,
    );
  }
  const changed = (mine.changedServer ?? []) as string[];
  if (changed.length && !same(mine.changedServer, theirs.changedServer)) {
    said.push(
      `changed the settings of a Redis shared with other apps (${changed.join(" ")}, refused here: the app's Redis user may not): a server's settings hold for every app on it (an eviction policy, say, makes a full Redis delete other apps' keys instead of refusing writes); they are its operator's, not one app's`,
    );
  }
  return said.join("\n") || undefined;
}

/**
 * On a request that leaves the session unchanged (GET /favicon.ico with the session's cookie):
 * what is wrong with the cookie and the key, which both start their 45 minutes again.
 */
function unchangedSays({ action: a, yours: y, reference: r, referenceSide }: S) {
  if (a.do !== "asset" || y.status !== r.status || y.status >= 500) return undefined;
  type C = ReturnType<typeof cookie>;
  const theirs = (r.cookies as C[]).find((c) => c.name === COOKIE_NAME);
  if (!theirs) return undefined;
  const mine = (y.cookies as C[]).find((c) => c.name === COOKIE_NAME);
  const id = idIn(referenceSide.visitors[a.who]?.cookie(COOKIE_NAME));
  const label = referenceSide.labels.get(id ?? "") ?? "";
  type H = ReturnType<typeof session>;
  const mineTtl = (y.store[label] as H | undefined)?.ttl;
  const theirTtl = (r.store[label] as H | undefined)?.ttl;
  if (!mineTtl || !theirTtl) return undefined;
  // Whether the key's TTL moved shows only if time passed since the visitor's last request.
  const shows = rigOf(referenceSide).awayMs > 0;
  const key = `${PREFIX}${label}`;
  const who = `${name(a.who)}'s`;
  if (mine?.lifetime === theirs.lifetime && mineTtl !== theirTtl) {
    return `the cookie outlives the key: GET /favicon.ico, a request that leaves the session unchanged, sent ${who} cookie again for ${theirs.lifetime}, but left the key's TTL as it was (${key} expires in ${mineTtl}); a request that changes nothing must move the key's TTL along with the cookie (the store's touch)`;
  }
  if (mine) return undefined;
  const keyToo = !shows
    ? ""
    : mineTtl === theirTtl
      ? `; yet it moved the key's TTL to ${theirTtl} (${key}): the key outlives the cookie`
      : `, nor the key's TTL: ${who} session still ends in ${mineTtl}, cookie and key (${key})`;
  return `a request that leaves the session unchanged did not renew the cookie: GET /favicon.ico sent no cookie, so ${who} cookie still expires ${LIFETIME_MINUTES} minutes after the last request that changed the session${keyToo}. The policy: a session ends ${LIFETIME_MINUTES} minutes after the last request, whatever the request, in the cookie and in the key alike; so the cookie is sent again with every answer (a rolling cookie), and the key's TTL moves with it`;
}

function storeRule(step: S) {
  const { action: a, yours: y, reference: r, before, referenceSide } = step;
  const unchanged = unchangedSays(step);
  const said: string[] = unchanged ? [unchanged] : [];
  const rig = rigOf(referenceSide);
  const lost = Object.keys(r.store).filter((label) => !(label in y.store));
  const elsewhere = Object.keys(((y.body as Body).keysElsewhere ?? {}) as object).length > 0;
  if (lost.length && !elsewhere) {
    said.push(
      rig.restarted
        ? `sessions are lost when the app restarts: after the restart, Redis no longer holds ${lost.join(", ")}, so its visitor starts again at 1`
        : `the session is not in Redis under workshop:sess:<id>: Redis holds no key for ${lost.join(", ")} in the database the app was given`,
    );
  }
  for (const label of Object.keys(y.store)) {
    if (!(label in r.store)) {
      // A session the reference no longer holds (its time was up); a new one is said above.
      if (label in before) {
        said.push(
          `Redis still holds ${label} where it should be gone: its key outlived the ${LIFETIME_MINUTES} minutes since its last request`,
        );
      }
      continue;
    }
    const mine = y.store[label] as ReturnType<typeof session>;
    const theirs = r.store[label] as ReturnType<typeof session>;
    if (mine.ttl !== theirs.ttl && !unchanged) {
      said.push(
        mine.ttl === "never expires"
          ? `the session's key never expires: ${PREFIX}${label} has no TTL, so Redis keeps it for ever`
          : `the key's TTL does not follow the cookie: ${PREFIX}${label} expires in ${mine.ttl}, where the session ends (and its cookie expires) in ${theirs.ttl}`,
      );
    }
    // Counted from 1 again: a session unknown to this process, which the page's rule says.
    const restarted = (y.body as { visits?: unknown } | undefined)?.visits === 1;
    if (!same(mine.visits, theirs.visits) && a.do === "visit" && !restarted) {
      said.push(
        `another process answered with an old count: ${label} holds ${String(mine.visits)} visits where ${String(theirs.visits)} were counted`,
      );
    }
  }
  return said.join("\n") || undefined;
}

function cookieRule(step: S) {
  const { yours: y, reference: r } = step;
  if (same(y.cookies, r.cookies) || y.status !== r.status || unchangedSays(step)) return undefined;
  type C = ReturnType<typeof cookie>;
  const mine = (y.cookies as C[]).find((c) => c.name === COOKIE_NAME);
  const theirs = (r.cookies as C[]).find((c) => c.name === COOKIE_NAME);
  if (y.status >= 500 && mine && !theirs)
    return `a session Redis could not read was taken for no session: GET / answered ${y.status} with a new session cookie, which replaces the visitor's own, so their session is lost once Redis is back; a read error is an error (pass it on), not "no session"`;
  if (y.status >= 500) return undefined;
  if (mine && theirs && mine.lifetime !== theirs.lifetime) {
    return mine.lifetime === "until the browser closes"
      ? `the cookie has no expiry: it lives until the browser closes, where the policy says ${LIFETIME_MINUTES} minutes after the last request`
      : `the cookie does not live ${LIFETIME_MINUTES} minutes: it expires in ${mine.lifetime}`;
  }
  return `GET ${path(step.action)} sets cookies differently: ${JSON.stringify(y.cookies)} where ${JSON.stringify(r.cookies)} was expected`;
}

function bodyRule({ action: a, yours: y, reference: r, referenceSide }: S) {
  if (y.status !== r.status || a.do !== "visit") return undefined;
  const mine = y.body as Body;
  const theirs = r.body as Body;
  const said: string[] = [];
  if (mine.store !== theirs.store) {
    said.push(
      `the page names the wrong store: "${String(mine.store)}" where the sessions are in Redis`,
    );
  }
  if (!same(mine.record, theirs.record)) {
    said.push(
      `the page's inspector does not show the session's record: it shows ${JSON.stringify(mine.record)} where ${JSON.stringify(theirs.record)} was expected (the inspector must read the keys the store writes)`,
    );
  }
  if (!same(mine.cookieExpires, theirs.cookieExpires) && !same(mine.record, theirs.record)) {
    // already said
  } else if (!same(mine.cookieExpires, theirs.cookieExpires)) {
    said.push(
      `the cookie does not live ${LIFETIME_MINUTES} minutes: the page says it expires ${String(mine.cookieExpires)}`,
    );
  }
  if (!same(mine.visits, theirs.visits)) {
    const moved = rigOf(referenceSide).target;
    said.push(
      Number(mine.visits) === 1
        ? `a session started in one process is unknown to another, or a read of it that failed was taken for "no session": ${name(a.who)} is counted from 1 again on process ${moved + 1}, though the session its cookie names is in Redis (does every process sign cookies with the same secret?)`
        : `${name(a.who)} was told ${String(mine.visits)} visits where ${String(theirs.visits)} were expected`,
    );
  }
  return said.join("\n") || undefined;
}

function trafficRule({ yours: y, reference: r }: S) {
  if (same(y.traffic, r.traffic)) return undefined;
  const said: string[] = [];
  const scans = ["KEYS", "SCAN"].filter((c) => (y.traffic[c] ?? 0) > (r.traffic[c] ?? 0));
  if (scans.length) {
    said.push(
      `read every key in Redis to answer one visitor (${scans.join(", ")}): Redis runs one command at a time, so on a Redis shared by millions of keys every visitor waits; read the visitor's own key`,
    );
  }
  if (["FLUSHDB", "FLUSHALL"].some((c) => y.traffic[c])) {
    said.push("deleted other apps' keys: FLUSHDB empties the whole database, which others share");
  }
  if ((y.traffic.SET ?? 0) > (r.traffic.SET ?? 0)) {
    said.push(
      `wrote the session ${y.traffic.SET} times where ${r.traffic.SET ?? 0} writes were expected`,
    );
  }
  const others = Object.keys(y.traffic).filter(
    (c) => !["KEYS", "SCAN", "FLUSHDB", "FLUSHALL", "SET"].includes(c) && !(c in r.traffic),
  );
  if (others.length && !said.length) {
    said.push(
      `sent Redis commands the reference does not: ${others.map((c) => `${c}×${y.traffic[c]}`).join(" ")}`,
    );
  }
  return said.join("\n") || undefined;
}

// ---- The two apps of a scenario.
/**
 * SIDE's app for a scenario: its database filled with the other apps' keys, two processes
 * (apps from BUILD, each with its own client of CLIENTS, connected through the side's cable)
 * behind a balancer that sends each request to the process the scenario names.
 */
async function rigFor(
  side: Side,
  admin: RedisClient,
  cable: Relay,
  gate: Gate,
  clients: RedisClient[],
  shared: Shared,
  build: (client: RedisClient) => Express,
): Promise<Express> {
  cable.set("up");
  gate.refusing = undefined;
  await admin.configSet("maxmemory", "0");
  // A read-only Redis is a primary again when the scenario ends (before the next one empties
  // the databases): both sides say so, the same way.
  side.after(async () => {
    if (shared.replica) {
      shared.replica = false;
      shared.primaryAgain = replica(shared, false);
    }
    await shared.primaryAgain; // the other side's cleanup may have sent it
  });
  await until(true, clients);
  for (const [key, value, seconds] of NEIGHBOURS) {
    await admin.set(key, value, seconds ? { EX: seconds } : {});
  }
  const deniedBefore = await denied(admin, side.name); // before the apps are built
  const rig: Rig = {
    build,
    cable,
    gate,
    admin,
    instances: clients.map(build),
    clients,
    target: 0,
    served: clients.map(() => 0),
    aheadMs: 0,
    cookieExpires: [],
    restarted: false,
    hadOutage: false,
    full: false,
    shared,
    deniedBefore,
    openedDuring: 0,
    leadAtRequest: [],
    awayMs: 0,
    elapsedMs: Promise.resolve(0),
  };
  rigs.set(side, rig);
  await started(side);
  const balancer = express();
  balancer.use((req, res, next) => {
    const app = rig.instances[rig.target];
    if (app) app(req, res, next);
    else next();
  });
  return balancer;
}

/**
 * Each side's clients, one per process, made once for all scenarios (a client costs more to
 * make than a scenario to run); one the app closed is made again.
 */
async function clientsOf(
  clients: RedisClient[],
  cable: Relay,
  admin: RedisClient,
  user: string,
): Promise<RedisClient[]> {
  const database = await databaseOf(admin);
  for (let i = 0; i < PROCESSES; i++) {
    if (!clients[i]?.isOpen) clients[i] = await appClient(cable, database, user);
  }
  return clients;
}

async function model(
  module: Module,
  redis: CheckRedis,
  after: (fn: () => unknown) => void,
): Promise<Model<Action>> {
  const sides = await RedisSides.start(redis);
  // While Redis is down, new connections wait, unanswered, as a SYN to a dead host would.
  const HOLD = { whileDown: "hold" } as const;
  const gates = { yours: await Gate.open(redis.url), reference: await Gate.open(redis.url) };
  const cables = {
    yours: await Relay.open(gates.yours.url, HOLD),
    reference: await Relay.open(gates.reference.url, HOLD),
  };
  const clients: Record<Side["name"], RedisClient[]> = { yours: [], reference: [] };
  // The "read-only" fault's primary: a server that takes connections and closes them at once.
  const master = createServer((socket) => socket.destroy());
  master.listen(0, "127.0.0.1");
  await once(master, "listening");
  const address = master.address();
  const shared: Shared = {
    admin: sides.admin("yours"),
    masterPort: typeof address === "object" && address ? address.port : 1,
    replica: false,
    writers: 0,
  };
  await createAppUsers(shared.admin);
  after(async () => {
    master.close();
    for (const client of [...clients.yours, ...clients.reference])
      if (client.isOpen) client.destroy();
    await Promise.all([cables.yours.close(), cables.reference.close()]);
    await Promise.all([gates.yours.close(), gates.reference.close()]);
  });
  const rig = async (side: Side, build: (client: RedisClient) => Express) => {
    const admin = sides.admin(side.name);
    const cable = cables[side.name];
    const own = await clientsOf(clients[side.name], cable, admin, appUser(side.name));
    return rigFor(side, admin, cable, gates[side.name], own, shared, build);
  };
  return {
    visitors: VISITORS,
    action: actions,
    examples: EXAMPLES,
    describe,
    actor: (a) => (a.do === "visit" || a.do === "asset" ? a.who : undefined),
    perform,
    body,
    cookie,
    session,
    allowed: [
      {
        name: "what a failure's page says",
        apply: (o) => (o.status >= 500 ? { ...o, cookies: [] } : o),
      },
      {
        name: "reads of the visitor's own key, renewals of its TTL, commands grouped in a transaction or a script",
        apply: (o) => {
          const traffic: Observation["traffic"] = {};
          for (const [command, n] of Object.entries(o.traffic)) {
            const k = kind(command);
            if (k) traffic[k] = (traffic[k] ?? 0) + n;
          }
          return { ...o, traffic };
        },
      },
      {
        name: "while Redis is down, a 503 for a request that needs no session (GET /favicon.ico without a cookie) too",
        apply: (o, a, side) =>
          a.do === "asset" && o.status === 404 && rigOf(side).cable.state === "down"
            ? { ...o, status: 503, cookies: [] }
            : o,
      },
      {
        name: "on a request that leaves the session unchanged, moving the key's TTL by writing the session again, answering before that is done",
        apply: (o, a) => {
          if (a.do !== "asset") return o;
          const { SET: _set, ...traffic } = o.traffic;
          // Nothing changed in the session: a 404 sent before its unchanged copy is written
          // again is no promise broken.
          return { ...o, traffic, early: false };
        },
      },
    ],
    rules: [statusRule, cookieRule, keysRule, storeRule, bodyRule, trafficRule],
    probe: async (side) => {
      const probe = await sides.probe(side, PREFIX);
      const attach = probe.attach.bind(probe);
      probe.attach = (store) => {
        takesTime(store);
        attach(store);
      };
      return probe;
    },
    createApp: (side) => rig(side, (client) => anHourAgo(() => module.createApp(client))),
    createReference: (side) => rig(side, (client) => anHourAgo(() => reference.createApp(client))),
  };
}

/**
 * A request takes time: a millisecond or more passes between the session's load and its
 * save (or touch), as on any server. A time to live worked out from the cookie's expiry is
 * then not a whole number of seconds, which Redis refuses.
 */
const slowed = new WeakSet<object>();
function takesTime(store: Store): void {
  if (slowed.has(store)) return;
  slowed.add(store);
  for (const op of ["set", "touch"] as const) {
    const real = store[op]?.bind(store) as ((...args: unknown[]) => void) | undefined;
    if (!real) continue;
    (store as unknown as Record<string, unknown>)[op] = (...args: unknown[]) =>
      void setTimeout(() => real(...args), 1);
  }
}

const A = 0;
const B = 1;
const json = (who: number, process = 0): Action => ({ do: "visit", who, process, page: false });
const pageOf = (who: number, process = 0): Action => ({ do: "visit", who, process, page: true });
const fault = (kind: Fault, on: boolean): Action => ({ do: "fault", fault: kind, on });
const asset = (who: number, process = 0): Action => ({ do: "asset", who, process });
const away = (minutes: number): Action => ({ do: "away", minutes });

/** The lesson's classic scenarios, tried first. */
const EXAMPLES: Action[][] = [
  [json(A), pageOf(A)],
  [json(A), json(A, 1), json(A), json(A, 1)],
  [json(A), json(B, 1), pageOf(B)],
  [json(A), { do: "restart", process: 0 }, json(A)],
  [json(A), { do: "away", minutes: 44 }, json(A), { do: "away", minutes: 46 }, json(A)],
  [json(A), fault("down", true), json(A), json(B), fault("down", false), json(A), json(A, 1)],
  [json(A), fault("full", true), json(A), fault("full", false), json(A, 1)],
  // The page, not only the JSON: a 503 while Redis fails; the record as Redis holds it now.
  [json(A), fault("down", true), pageOf(A), fault("down", false), fault("full", true), pageOf(B)],
  [pageOf(A), json(A), pageOf(A), json(A, 1), pageOf(A, 1)],
  // What reached Redis when the connection was lost mid-request still expires.
  [json(A), fault("cut", true), json(A), fault("cut", false), json(B), fault("cut", true), json(B)],
  // A request that changes nothing is a request too: the cookie and the key start again.
  [json(A), away(30), asset(A), away(20), json(A, 1)],
  // Soon after: the key starts again at 45 minutes too, not only once most of it has gone.
  [json(A), away(0.75), asset(A), json(A)],
  // A Redis that refuses writes another way (a replica), while time passes.
  [
    json(A),
    fault("readonly", true),
    json(A),
    away(46),
    json(B, 1),
    fault("readonly", false),
    json(A),
  ],
  // A Redis that refuses every command for a moment (restarting, a long script), or every
  // write (a snapshot it cannot save to disk): a 503 too.
  [
    json(A),
    fault("loading", true),
    json(A),
    fault("loading", false),
    fault("busy", true),
    pageOf(B, 1),
    fault("busy", false),
    fault("misconf", true),
    json(A, 1),
    fault("misconf", false),
    json(A),
  ],
];

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "sessions in Redis as workshop:sess:<id>, 45 minutes in cookie and TTL alike, shared by every process; a quick 503 while Redis fails, then recovery",
      timeoutMs: 30_000,
      run: async ({ module, redis, after }) =>
        differential(await model(module, await redis(), after), { runs: 9, maxActions: 6 }),
    },
  ],
});
