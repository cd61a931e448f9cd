/**
 * Exercise 08: a download quota (3 per visitor in a 10-minute window from the first download)
 * that holds when requests arrive at the same time, in one process or in two, with a window
 * that neither lasts for ever nor moves with every attempt, a Retry-After that tells the truth,
 * and a 503 when Redis cannot count.
 *
 * A differential check (test/checks/differential.ts, test/checks/redis-probe.ts): scenarios of
 * three visitors, drawn at random, run on your app and on the reference side by side. Each side
 * runs as TWO processes (two copies of app.ts, each with its own memory, Redis connection and
 * process id, process.pid)
 * over one Redis database of its own; a request goes to one of them. After every request the
 * two sides must look the same to a visitor (status, downloadsLeft, Retry-After, cookies) and
 * to an operator (the sessions, the windows Redis holds and how long each has left, whether a
 * request scanned the keyspace or wrote the session).
 *
 * - Bursts: many downloads sent at once (Promise.all), from one visitor or several, to one
 *   process or to both.
 * - Time: the window is the time to live of the count in Redis. Ten minutes are never waited
 *   for: "5 minutes pass" (or 2 minutes 10 s) shortens every window's time to live by as much
 *   (or ends it), as Redis itself would have by then, and moves the app's clock (Date.now(),
 *   new Date()) on as much (test/checks/app-clock.ts). That clock starts 20 s before a
 *   midnight, so a window that follows the clock's ten minutes is seen (Redis's own clock,
 *   TIME, cannot be moved).
 *   TTLs are compared to the nearest 30 s; Retry-After to within 3 s of the reference's.
 * - What clients send: one more cookie, an X-Forwarded-For header, the session cookie spelled
 *   another way (s: unencoded, %73%3A, s%3a: express-session reads the same session), a session
 *   id that begins as another visitor's does (the check stores a session under such an id and
 *   signs its cookie).
 * - Faults: Redis goes down, or stops answering, just after a visitor's session was read (so
 *   that what fails is your count, not the session): the visitor must get a 503, quickly (at
 *   most SLOWER_MS later than the reference's). A Redis that stops answering ends, FREEZE_MS
 *   later, in the app's client timing out (SocketTimeoutError, as createRedisClient's socket
 *   timeout ends a hung connection). Or the app loses Redis after its first, second or third
 *   command that writes for the count reached it (a process that dies mid-request): what
 *   reached Redis must not leave a count that never expires; in a classic scenario, Redis is
 *   back at once (a blip): the count ran, and sent again it counts the download twice. Or
 *   Redis refuses every write for one download (out of memory: OOM; in a classic scenario, a
 *   read-only replica: READONLY; both sides' databases are on one redis-server, so it is set
 *   once both sides are ready and lifted once both have their answer): a 503 too.
 * - A key of the quota's under the session store's prefix (sess:) is seen as such.
 *
 * Runs: the 13 classic scenarios below, then 7 drawn ones of up to 6 steps (CHECK_DRAW, CHECK_RUNS
 * to draw others).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createHmac } from "node:crypto";
import { subscribe } from "node:diagnostics_channel";
import type { Socket } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import express, { type Express } from "express";
import type session from "express-session";
import fc from "fast-check";
import { SocketTimeoutError } from "redis";
import { redisClient } from "../../lib/services/redis.ts";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { COOKIE_NAME, sessionSecrets } from "../../steps/shared/session-secret.ts";
import { type AppClock, withClock } from "../../test/checks/app-clock.ts";
import {
  type Answer,
  differential,
  type Model,
  type Observation,
  type Side,
  type Step,
} from "../../test/checks/differential.ts";
import { type CheckContext, defineCheck, SLOWER_MS } from "../../test/checks/kit.ts";
import { RedisSides, SCRIPT_WITHOUT_KEYS } from "../../test/checks/redis-probe.ts";
import { READS, Relay } from "../../test/checks/relay.ts";
import { StoreProbe } from "../../test/checks/store-probe.ts";
import * as reference from "./solution/app.ts";

type Module = typeof import("./solution/app.ts");

// ---- Two processes in one: each copy of app.ts sees a process id of its own (process.pid), as
// two processes of a cluster do, while it loads and while it answers a request.
const realPid = process.pid;
const processIndex = new AsyncLocalStorage<number>();
Object.defineProperty(process, "pid", {
  configurable: true,
  enumerable: true,
  get: () => realPid + (processIndex.getStore() ?? 0),
});

/**
 * The client sockets this process opens (node:net's "net.client.socket" channel): a frozen
 * Redis ends in the app's client timing out on those connected to a tap's relay.
 */
const clientSockets = new Set<Socket>();
subscribe("net.client.socket", (message) => {
  const { socket } = message as { socket: Socket };
  clientSockets.add(socket);
  socket.once("close", () => clientSockets.delete(socket));
});

const QUOTA = 3;
const VISITORS = 3;
/** How long a frozen Redis keeps a connection open without answering before it is cut. */
const FREEZE_MS = 300;
/** TTLs are compared to the nearest this many seconds. */
const GRAIN_S = 30;
/** Which of the two processes of a side gets the request. */
const PROCESS_HEADER = "x-check-process";
/**
 * How far (s) Retry-After may be from the reference's, both read at about the same moment
 * (a window's end as PTTL, TTL or the app's clock sees it, rounded up or down).
 */
const RETRY_AFTER_S = 3;

/**
 * FULL: the Redis server refuses writes (out of memory: OOM), as a running Redis can for now;
 * READONLY: it refuses them as a replica does (READONLY), as during a failover. BLIP: a cut after
 * the first write, with Redis back at once (the connection lost, not Redis).
 */
type Fault = "down" | "frozen" | "cut" | "blip" | "full" | "readonly";
/** How a browser may spell the same signed session cookie: the value express-session reads is the same. */
type Spelling = "s:" | "%73%3A" | "s%3a";
type Action =
  | { do: "visit"; who: number }
  | { do: "download"; who: number; on: 1 | 2; proxied: boolean }
  | { do: "burst"; from: readonly number[]; n: number; both: boolean }
  | { do: "time"; seconds: number }
  | { do: "other-cookie"; who: number }
  | { do: "twin"; who: number; of: number }
  | { do: "respell"; who: number; as: Spelling }
  /** NTH: for a cut, after which of the download's commands that write (1st, 2nd, 3rd). */
  | { do: "fault"; who: number; kind: Fault; nth: 1 | 2 | 3 }
  | { do: "forget-scripts" };

const name = (i: number) => "ABC"[i] ?? "?";
const JSON_CLIENT = { accept: "application/json" };

// ---- The network between one side's two processes and Redis: passes bytes, or fails as a
// Redis that is down (connections cut, new ones refused) or frozen (silence, then cut) would.
// (Redis itself is shared by both sides: a fault of the server would hit both.)

/**
 * A client as createRedisClient (steps/shared/redis-client.ts) makes it, failing at once while
 * disconnected, but without its PINGs and 1.5 s socket timeout: on a busy machine a pause of
 * the event loop longer than that cuts healthy connections (and a reconnected client of the
 * check's own gets a new address, which RedisSides no longer knows as the check's). A Redis
 * that stops answering is the Tap's to simulate.
 */
function steadyClient(url: string): RedisClient {
  const client: RedisClient = redisClient({
    url,
    RESP: 2,
    disableOfflineQueue: true,
    commandOptions: { timeout: 2000 },
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 1000),
    },
  });
  client.on("error", () => {});
  return client;
}

/**
 * Whether CHUNK, what an app sent in one write, begins with a command that only reads, or
 * with one of the session store's (on a key under sess:): neither writes for a download.
 */
function notTheDownloads(chunk: Buffer): boolean {
  const text = chunk.toString("latin1", 0, 96);
  const command = /^\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n(?:\$\d+\r\n([^\r]*))?/.exec(text);
  return READS.has(command?.[1]?.toUpperCase() ?? "") || !!command?.[2]?.startsWith("sess:");
}

/** One side's two processes' clients, through a relay (test/checks/relay.ts) to Redis. */
class Tap {
  private readonly relay: Relay;
  private readonly database: number;
  /** The two processes' clients, kept from one scenario to the next while nothing broke them. */
  private clients: RedisClient[] = [];
  /** A freeze's end, when a scenario froze Redis. */
  private thaw: NodeJS.Timeout | undefined;
  /** Watches for a blip's cut, to bring Redis back at once. */
  private back: NodeJS.Timeout | undefined;

  private constructor(relay: Relay, database: number) {
    this.relay = relay;
    this.database = database;
  }

  /** A tap in front of REDISURL, for clients on DATABASE. */
  static async open(redisUrl: string, database: number): Promise<Tap> {
    return new Tap(await Relay.open(redisUrl), database);
  }

  /** Two clients for the app (steadyClient), connected through the tap. */
  async twoClients(): Promise<RedisClient[]> {
    if (this.relay.state === "up" && this.clients.every((client) => client.isReady)) {
      if (this.clients.length === 2) return this.clients;
    }
    this.destroyClients();
    clearTimeout(this.thaw);
    clearInterval(this.back);
    this.relay.set("down"); // what a freeze held back is dropped, never sent late
    this.relay.set("up");
    this.clients = await Promise.all(
      [1, 2].map(async () => {
        const client = steadyClient(this.relay.url(this.database));
        await client.connect();
        return client;
      }),
    );
    return this.clients;
  }

  private destroyClients(): void {
    for (const client of this.clients) if (client.isOpen) client.destroy();
    this.clients = [];
  }

  /** Redis is down: every connection cut, new ones refused. */
  down(): void {
    this.relay.set("down");
  }

  /**
   * Redis runs the NTH command (or pipeline) sent that writes for a download (not a read, not
   * the session store's), then the connections drop before it answers.
   */
  cut(nth: number): void {
    let before = nth - 1;
    this.relay.downAfterNextRequest((chunk) => notTheDownloads(chunk) || before-- > 0);
  }

  /**
   * The connections are lost just after the first command that writes for a download reached
   * Redis, before it answers; Redis itself is back at once, and the app's clients reconnect.
   */
  blip(): void {
    this.cut(1);
    clearInterval(this.back);
    this.back = setInterval(() => {
      if (this.relay.state !== "down") return;
      clearInterval(this.back);
      this.relay.set("up");
    }, 5);
  }

  /**
   * Redis stops answering; FREEZE_MS later the app's clients give up waiting (a socket timeout,
   * as createRedisClient's socketTimeout ends a hung connection: SocketTimeoutError), and Redis
   * stays down.
   */
  freeze(): void {
    this.relay.set("frozen");
    this.thaw = setTimeout(() => {
      for (const socket of clientSockets)
        if (socket.remotePort === this.relay.port)
          socket.destroy(new SocketTimeoutError(FREEZE_MS));
      this.down();
    }, FREEZE_MS);
  }

  close(): Promise<void> {
    clearTimeout(this.thaw);
    clearInterval(this.back);
    this.destroyClients();
    return this.relay.close();
  }
}

/**
 * A Redis that refuses writes (maxmemory: OOM; or, made a replica of a primary it cannot reach,
 * READONLY) for both sides at once: the two sides' databases are on one redis-server (of this
 * check's own), so "full" is the server's, set once both sides are ready for the download
 * (their sessions made) and lifted once both have had their answer.
 */
class Full {
  private readonly admin: RedisClient;
  /** The side that came first, waiting for the other. */
  private waiting: (() => void) | undefined;
  /** Sides that have yet to hear their answer while Redis is full. */
  private pending = 0;
  /** Whether the server was made a replica (READONLY). */
  private replica = false;

  constructor(admin: RedisClient) {
    this.admin = admin;
  }

  /**
   * Redis refuses writes (HOW: out of memory, or a replica's READONLY), once both sides are
   * here (or MEET_MS later: the other side failed).
   */
  async fill(how: "full" | "readonly"): Promise<void> {
    const other = this.waiting;
    if (other) {
      this.waiting = undefined;
      if (how === "full") await this.admin.configSet("maxmemory", "1");
      else {
        // A replica of a primary that is not there (port 1): it keeps its data, answers reads,
        // and refuses writes.
        this.replica = true;
        await this.admin.sendCommand(["REPLICAOF", "127.0.0.1", "1"]);
      }
      this.pending = 2;
      other();
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve();
      }, MEET_MS);
      this.waiting = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** A side has its answer: once both have, Redis has room again. */
  async answered(): Promise<void> {
    if (--this.pending <= 0) await this.empty();
  }

  /** Redis has room (at the start of every scenario, whatever the last one left). */
  async empty(): Promise<void> {
    this.pending = 0;
    await this.admin.configSet("maxmemory", "0");
    if (this.replica) await this.admin.sendCommand(["REPLICAOF", "NO", "ONE"]);
    this.replica = false;
  }
}
/** How long a side waits for the other before Redis is full (it failed, or hangs). */
const MEET_MS = 5000;

// ---- What the check remembers of a side during a scenario (the same on both sides).

interface SideState {
  /** The fault to cause once the next session has been read (for a cut: after which write). */
  armed: { kind: Fault; nth: number } | undefined;
  /** Visitors who have downloaded in this scenario. */
  downloaded: Set<number>;
  /** Which processes (1, 2) each visitor's downloads went to. */
  processes: Map<number, Set<number>>;
  /** Visitors whose browser sends one more cookie since their last download. */
  newCookie: Set<number>;
  /** Visitors whose browser spells its session cookie another way. */
  respelled: Set<number>;
  /** Whether a connection was lost mid-request (a "cut" fault) in this scenario. */
  cut: boolean;
  /** Whether Redis forgot its scripts in this scenario. */
  scriptsForgotten: boolean;
  /** Whether time has passed in this scenario. */
  timePassed: boolean;
  /** X-Forwarded-For values sent so far. */
  forwarded: number;
  /** A burst's answers, by visitor. */
  burst: { who: number; answer: Answer }[];
  /** The app's clock: it moves with the time that passes for what Redis holds. */
  clock: AppClock;
  /** Seconds that passed in this scenario. */
  passedS: number;
  /** When the last action began (for a fault: when Redis began to fail). */
  started: number;
  /** What the last request's answers were, once they are all in (see Heard). */
  heard: Promise<Heard>;
}

/**
 * What one side's answers to the last action were, raw: how long they took, the worst status,
 * and each visitor's first Retry-After. The other side's body compares with the reference's.
 */
interface Heard {
  ms: number;
  status: number;
  retryAfter: Map<number, number>;
}
const NOTHING_HEARD: Heard = { ms: 0, status: 0, retryAfter: new Map() };

/**
 * Where the app's clock starts: 20 s before a midnight (UTC), so that the first minutes that
 * pass cross the end of a clock's minute, ten minutes, hour and day, as a window counted in
 * slots of the clock (`downloads:<id>:<Math.floor(now / WINDOW)>`) would notice.
 */
function clockBeforeMidnight(): AppClock {
  const day = 24 * 60 * 60 * 1000;
  const now = Date.now();
  return { aheadMs: Math.ceil(now / day) * day - 20_000 - now };
}
const states = new WeakMap<Side, SideState>();
const stateOf = (side: Side) => states.get(side) as SideState;

/**
 * One side's app: two processes behind one address (the check's header picks one), each a
 * copy of app.ts of its own with a Redis client of its own, both through the side's Tap.
 */
async function twoProcesses(
  side: Side,
  copies: [Module, Module],
  tap: Tap,
  full: Full,
): Promise<Express> {
  await full.empty();
  const state: SideState = {
    armed: undefined,
    downloaded: new Set(),
    processes: new Map(),
    newCookie: new Set(),
    respelled: new Set(),
    cut: false,
    scriptsForgotten: false,
    timePassed: false,
    forwarded: 0,
    burst: [],
    clock: clockBeforeMidnight(),
    passedS: 0,
    started: 0,
    heard: Promise.resolve(NOTHING_HEARD),
  };
  states.set(side, state);
  const clients = await tap.twoClients();
  const apps = copies.map((copy, i) => copy.createApp(clients[i] as RedisClient));
  // The second process's session store is counted by a probe of its own, into the side's.
  const second = new StoreProbe();
  second.count = (op: string, n?: number) => side.probe.count(op, n);
  const hooked = new WeakSet<object>();
  const front = express();
  front.use((req, res, next) => {
    const index = req.get(PROCESS_HEADER) === "2" ? 1 : 0;
    // One connection per request: once Redis fails, express-session's touch fails after the
    // answer and Express cuts the connection, and a busy machine can let a kept-alive one go
    // idle long enough for the server to close it as the client reuses it.
    res.set("connection", "close");
    const outer = Object.getOwnPropertyDescriptor(req, "sessionStore");
    let store: session.Store | undefined;
    Object.defineProperty(req, "sessionStore", {
      configurable: true,
      get: () => store,
      set(value: session.Store) {
        store = value;
        if (index === 0) outer?.set?.call(req, value);
        else second.attach(value);
        if (hooked.has(value)) return;
        hooked.add(value);
        // A fault armed by the scenario strikes once the session has been read.
        const get = value.get;
        value.get = (sid, callback) =>
          get.call(value, sid, (error, data) => {
            const fault = state.armed;
            state.armed = undefined;
            if (fault?.kind === "down") tap.down();
            if (fault?.kind === "frozen") tap.freeze();
            if (fault?.kind === "cut") tap.cut(fault.nth);
            if (fault?.kind === "blip") tap.blip();
            callback(error, data);
          });
      },
    });
    processIndex.run(index, () =>
      withClock(state.clock, () => (apps[index] as Express)(req, res, next)),
    );
  });
  return front;
}

// ---- Time, and the windows Redis holds.

/** Whether VALUE, what a key under sess: holds, is a session as express-session stores it. */
function isSession(value: string | null): boolean {
  try {
    const data = JSON.parse(value ?? "") as unknown;
    return typeof data === "object" && data !== null && "cookie" in data;
  } catch {
    return false;
  }
}

/**
 * Every key but the sessions, with its time to live in ms (-1: none); a key under the session
 * store's prefix (sess:) that holds no session is one of them. The check's own client may list
 * all keys: its database holds a few dozen, and its commands are not the app's traffic (no
 * script: MONITOR would count what a script runs as the app's).
 */
async function windowKeys(admin: RedisClient): Promise<[string, number][]> {
  const all = await admin.keys("*");
  const underSess = all.filter((key) => key.startsWith("sess:"));
  const types = await Promise.all(underSess.map((key) => admin.type(key)));
  const values = await Promise.all(
    underSess.map((key, i) => (types[i] === "string" ? admin.get(key) : null)),
  );
  const strays = new Set(underSess.filter((_key, i) => !isSession(values[i] ?? null)));
  const keys = all.filter((key) => !key.startsWith("sess:") || strays.has(key));
  const ttls = await Promise.all(keys.map((key) => admin.pTTL(key)));
  return keys.map((key, i) => [key, ttls[i] as number]);
}

/** SECONDS pass for every window: each key but the sessions lives that much less, or ends. */
async function pass(admin: RedisClient, seconds: number): Promise<void> {
  const ms = seconds * 1000;
  await Promise.all(
    (await windowKeys(admin))
      .filter(([, left]) => left >= 0)
      .map(([key, left]) => (left <= ms ? admin.del(key) : admin.pExpire(key, left - ms))),
  );
}

const rounded = (seconds: number) => Math.round(seconds / GRAIN_S) * GRAIN_S;
const NEVER = "never expires";
/** Said of a window whose key is under the session store's prefix. */
const UNDER_SESS = ", under sess:";

/**
 * The windows Redis holds besides the sessions, as "600 s left" (or "never expires"): one per
 * visitor whose session id a key names (however many keys), one per key naming no session.
 */
async function windows(admin: RedisClient, side: Side): Promise<string[]> {
  const ids = [...side.labels.keys()];
  const seen = new Map<string, string>();
  for (const [key, ms] of await windowKeys(admin)) {
    if (ms === -2) continue;
    const owner = ids.find((id) => key.includes(id)) ?? key;
    const left = `${ms === -1 ? NEVER : `${rounded(ms / 1000)} s left`}${key.startsWith("sess:") ? UNDER_SESS : ""}`;
    const before = seen.get(owner);
    // Two windows of one visitor at once: a second began before the first ended.
    seen.set(owner, before && before !== left ? [before, left].sort().join(" and ") : left);
  }
  return [...seen.values()].sort();
}

// ---- What clients do.

async function withSession(side: Side, who: number): Promise<void> {
  const visitor = side.visitors[who];
  if (visitor && !visitor.cookie(COOKIE_NAME)) await visitor.send("GET", "/", JSON_CLIENT);
}

/** The session id in a session cookie's value (s%3A<id>.<signature>). */
const idIn = (value: string | undefined) =>
  /^s:([^.]+)\./.exec(decodeURIComponent(value ?? ""))?.[1];

/**
 * Gives WHO a session of its own whose id is OF's with the last character changed: a copy of
 * OF's session stored under that id, and a cookie signed as express-session signs it.
 */
async function twin(side: Side, admin: RedisClient, who: number, of: number): Promise<void> {
  const id = idIn(side.visitors[of]?.cookie(COOKIE_NAME));
  const jar = side.visitors[who]?.cookies;
  if (!id || !jar) return;
  const other = `${id.slice(0, -1)}${id.endsWith("a") ? "b" : "a"}`;
  const [data, ms] = await Promise.all([admin.get(`sess:${id}`), admin.pTTL(`sess:${id}`)]);
  if (data === null || ms <= 0) return;
  await admin.set(`sess:${other}`, data, { PX: ms });
  const secret = sessionSecrets()[0] ?? "";
  const signature = createHmac("sha256", secret).update(other).digest("base64").replace(/=+$/, "");
  jar.set(COOKIE_NAME, encodeURIComponent(`s:${other}.${signature}`));
}

function download(side: Side, who: number, on: 1 | 2, proxied = false): Promise<Answer> {
  const headers: Record<string, string> = { ...JSON_CLIENT, [PROCESS_HEADER]: String(on) };
  const state = stateOf(side);
  if (proxied) headers["x-forwarded-for"] = `203.0.113.${++state.forwarded}`;
  state.processes.set(who, (state.processes.get(who) ?? new Set()).add(on));
  const visitor = side.visitors[who];
  if (!visitor) throw new Error(`no visitor ${who}`);
  return visitor.send("POST", "/download", headers);
}

/** SECONDS as "2 minutes 10 s", "5 minutes" or "45 s". */
function duration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return [m ? `${m} minute${m > 1 ? "s" : ""}` : "", s ? `${s} s` : ""].filter(Boolean).join(" ");
}

function describe(a: Action): string {
  switch (a.do) {
    case "visit":
      return `${name(a.who)}: GET /`;
    case "download":
      return `${name(a.who)}: POST /download (to process ${a.on}${a.proxied ? ", through a proxy that adds X-Forwarded-For" : ""})`;
    case "burst": {
      const each = a.from.map((who) => name(who)).join(" and ");
      return `${each}: ${a.n} × POST /download at the same time${a.from.length > 1 ? `, shared between them` : ""} (to ${a.both ? "both processes, in turn" : "process 1"})`;
    }
    case "time":
      return `${duration(a.seconds)} pass`;
    case "forget-scripts":
      return "Redis forgets the scripts it was given (SCRIPT FLUSH: as after a restart, or a failover to a replica)";
    case "other-cookie":
      return `${name(a.who)}'s browser now also sends another cookie (theme=dark), before the session cookie`;
    case "respell":
      return `${name(a.who)}'s browser now sends its session cookie spelled another way: ${a.as === "s:" ? "unencoded (s:… instead of s%3A…)" : a.as === "%73%3A" ? "with its s percent-encoded too (%73%3A… instead of s%3A…)" : "with lowercase percent-encoding (s%3a… instead of s%3A…)"}, the same signed cookie, which express-session reads as the same session`;
    case "twin":
      return `${name(a.who)}'s browser holds a session whose id is ${name(a.of)}'s but for its last character (ids are random: two may share any beginning)`;
    case "fault":
      if (a.kind === "full")
        return `${name(a.who)}: POST /download while Redis refuses every write (it is out of memory: OOM), though it answers reads; then it has room again`;
      if (a.kind === "readonly")
        return `${name(a.who)}: POST /download while Redis refuses every write as a read-only replica does (READONLY: during a failover, the old primary is now a replica), though it answers reads; then it is a primary again`;
      if (a.kind === "blip")
        return `${name(a.who)}: POST /download; once ${name(a.who)}'s session was read, the first command the app sends that writes for the download reaches Redis, then the connection is lost before Redis answers; Redis itself is back at once (a network blip: the app's client reconnects within 0.1 s), then goes down once the app has answered`;
      return a.kind === "cut"
        ? `${name(a.who)}: POST /download; once ${name(a.who)}'s session was read, the ${["first", "second", "third"][a.nth - 1]} command the app sends that writes for the download reaches Redis, then the connection is lost before Redis answers (as when the app's process dies; if the app writes fewer, once it has answered)`
        : `${name(a.who)}: POST /download, and ${a.kind === "down" ? "Redis goes down" : "Redis stops answering (0.3 s later the app's client gives up waiting: a socket timeout, SocketTimeoutError; then Redis is down)"} just after ${name(a.who)}'s session was read`;
  }
}

/**
 * Does A on SIDE, and tells what its answers were (state.heard) once they are in: the other
 * side's body waits for the reference's.
 */
async function perform(a: Action, side: Side, sides: RedisSides, tap: Tap, full: Full) {
  const state = stateOf(side);
  let heard = (_heard: Heard) => {};
  state.heard = new Promise((resolve) => {
    heard = resolve;
  });
  state.started = Date.now();
  let answer: Answer | undefined;
  try {
    answer = await act(a, side, sides, tap, full);
  } finally {
    const retryAfter = new Map<number, number>();
    const answers =
      a.do === "burst" ? state.burst : answer && "who" in a ? [{ who: a.who, answer }] : [];
    for (const { who, answer: one } of answers) {
      const value = Number(one.header("retry-after"));
      if (one.status === 429 && !retryAfter.has(who) && Number.isFinite(value))
        retryAfter.set(who, value);
    }
    heard({ ms: Date.now() - state.started, status: answer?.status ?? 0, retryAfter });
  }
  return answer;
}

async function act(
  a: Action,
  side: Side,
  sides: RedisSides,
  tap: Tap,
  full: Full,
): Promise<Answer | undefined> {
  const state = stateOf(side);
  switch (a.do) {
    case "time":
      await pass(sides.admin(side.name), a.seconds);
      state.clock.aheadMs += a.seconds * 1000;
      state.timePassed = true;
      state.passedS += a.seconds;
      return undefined;
    case "forget-scripts":
      await sides.admin(side.name).sendCommand(["SCRIPT", "FLUSH"]);
      state.scriptsForgotten = true;
      return undefined;
    case "other-cookie": {
      const jar = side.visitors[a.who]?.cookies;
      if (!jar) return undefined;
      const kept = [...jar].filter(([key]) => key !== "theme");
      jar.clear();
      jar.set("theme", "dark");
      for (const [key, value] of kept) jar.set(key, value);
      state.newCookie.add(a.who);
      return undefined;
    }
    case "respell": {
      await withSession(side, a.who);
      const jar = side.visitors[a.who]?.cookies;
      const value = jar?.get(COOKIE_NAME);
      if (!jar || !value) return undefined;
      const signed = decodeURIComponent(value); // s:<id>.<signature>
      const rest = encodeURIComponent(signed.slice(2));
      jar.set(COOKIE_NAME, a.as === "s:" ? signed : `${a.as}${rest}`);
      state.respelled.add(a.who);
      return undefined;
    }
    case "twin":
      await withSession(side, a.of);
      await twin(side, sides.admin(side.name), a.who, a.of);
      return undefined;
    case "visit":
      return side.visitors[a.who]?.send("GET", "/", JSON_CLIENT);
    case "download": {
      await withSession(side, a.who);
      const answer = await download(side, a.who, a.on, a.proxied);
      state.downloaded.add(a.who);
      return answer;
    }
    case "fault": {
      await withSession(side, a.who);
      if (a.kind === "full" || a.kind === "readonly") {
        await full.fill(a.kind);
        state.started = Date.now(); // the wait for the other side is not the app's
        return await download(side, a.who, 1).finally(() => full.answered());
      }
      state.armed = { kind: a.kind, nth: a.nth };
      if (a.kind === "cut" || a.kind === "blip") state.cut = true;
      const answer = await download(side, a.who, 1).finally(() => {
        state.armed = undefined;
        // The process is gone (or Redis is): nothing more reaches Redis in this scenario. After
        // a blip, whether the lost download was counted is the app's choice: Redis goes down too.
        if (a.kind === "cut" || a.kind === "blip") tap.down();
      });
      return answer;
    }
    case "burst": {
      for (const who of a.from) await withSession(side, who);
      const sent = Array.from({ length: a.n }, (_, i) => {
        const who = a.from[i % a.from.length] as number;
        const on = a.both && i % 2 === 1 ? 2 : 1;
        return download(side, who, on).then((answer) => ({ who, answer }));
      });
      state.burst = await Promise.all(sent);
      for (const who of a.from) state.downloaded.add(who);
      const odd = state.burst
        .map(({ answer }) => answer.status)
        .filter((s) => s !== 200 && s !== 429);
      return {
        status: odd.length ? Math.max(...odd) : 200,
        text: "",
        header: () => undefined,
        setCookies: state.burst.flatMap(({ answer }) => answer.setCookies),
      };
    }
  }
}

// ---- What is compared.

/**
 * Retry-After as compared: whole seconds, as "≈NEAR s" when within RETRY_AFTER_S of NEAR (the
 * reference's at about the same moment).
 */
function retryAfter(value: string | undefined, near: number | undefined): string {
  if (value === undefined) return "(none)";
  if (!/^\d+$/.test(value.trim())) return `${JSON.stringify(value)} (not whole seconds)`;
  const seconds = Number(value);
  if (near !== undefined && Math.abs(seconds - near) <= RETRY_AFTER_S) return `≈${near} s`;
  return `${seconds} s`;
}

function downloadAnswer(answer: Answer, near: number | undefined): unknown {
  if (answer.status === 429) return { retryAfter: retryAfter(answer.header("retry-after"), near) };
  if (answer.status !== 200) return "(an error)";
  try {
    return {
      downloadsLeft: (JSON.parse(answer.text) as { downloadsLeft?: unknown }).downloadsLeft,
    };
  } catch {
    return { notJson: answer.text.slice(0, 60) };
  }
}

interface Burst {
  granted: number;
  downloadsLeft: unknown[];
  refused: number;
  retryAfter: string[];
  other: number[];
}

async function body(a: Action, answer: Answer, side: Side, reference: Side, sides: RedisSides) {
  const held = await windows(sides.admin(side.name), side);
  const mine = await stateOf(side).heard;
  const theirs = await stateOf(reference).heard;
  // While Redis fails (the reference answers 5xx), yours answers about as quickly.
  const late = mine.ms - theirs.ms;
  const slow = theirs.status >= 500 && late > SLOWER_MS ? { slow: `${late} ms later` } : {};
  if (a.do === "visit") {
    const visits =
      answer.status === 200 ? (JSON.parse(answer.text) as { visits: number }).visits : "(an error)";
    return { answer: { visits }, windows: held, ...slow };
  }
  if (a.do !== "burst") {
    const near = "who" in a ? theirs.retryAfter.get(a.who) : undefined;
    return { answer: downloadAnswer(answer, near), windows: held, ...slow };
  }
  const byVisitor: Record<string, Burst> = {};
  for (const { who, answer: one } of stateOf(side).burst) {
    const b = byVisitor[name(who)] ?? {
      granted: 0,
      downloadsLeft: [],
      refused: 0,
      retryAfter: [],
      other: [],
    };
    byVisitor[name(who)] = b;
    const seen = downloadAnswer(one, theirs.retryAfter.get(who)) as {
      downloadsLeft?: unknown;
      retryAfter?: string;
    };
    if (one.status === 200) {
      b.granted++;
      b.downloadsLeft.push(seen.downloadsLeft);
    } else if (one.status === 429) {
      b.refused++;
      if (!b.retryAfter.includes(seen.retryAfter as string))
        b.retryAfter.push(seen.retryAfter as string);
    } else b.other.push(one.status);
  }
  for (const b of Object.values(byVisitor)) {
    b.downloadsLeft.sort((x, y) => String(y).localeCompare(String(x)));
    b.retryAfter.sort();
    b.other.sort();
  }
  return { answer: byVisitor, windows: held, ...slow };
}

function cookie(line: string) {
  const [pair = "", ...parts] = line.split(";").map((part) => part.trim());
  const attributes = parts.map((part) => part.split("=")[0]?.toLowerCase()).sort();
  return { name: pair.slice(0, pair.indexOf("=")), attributes };
}

// ---- Rules: what is wrong at a step where your app and the reference differ, in words.

type S = Step<Action>;
type Seen = { answer: unknown; windows: string[]; slow?: string };
/** JSON with object keys in order, so that two equal values compare equal. */
const json = (value: unknown) =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => x.localeCompare(y)))
      : v,
  );
const same = (x: unknown, y: unknown) => json(x) === json(y);
const who = (a: Action) => ("who" in a ? name(a.who) : "");
/** The number of seconds in a Retry-After as compared ("≈470 s", "480 s"). */
const secondsOf = (retryAfter: string | undefined) =>
  Number(/\d+/.exec(retryAfter ?? "")?.[0] ?? Number.NaN);
const secondsIn = (window: string) => Number(/^(\d+) s left$/.exec(window)?.[1] ?? Number.NaN);

/** Said when time has passed: how the check moves it. */
const byRedisClock = (state: SideState) =>
  state.timePassed
    ? " (time passed here for Redis and for the app alike: each window's time to live was shortened, and the app's clock moved on as much; the window is the one Redis holds, which every process sees and which ends by itself, not one the app keeps by its own clock)"
    : "";

function statusRule({ action: a, yours: y, reference: r, referenceSide }: S) {
  if (y.status === r.status) return undefined;
  if (a.do === "fault" && a.kind === "full") {
    if (y.status < 400)
      return `a download was let through though Redis refused to count it (it answered ${y.status}): Redis was out of memory and answered the count with an error (OOM). An error reply is Redis failing as surely as no reply: nothing was counted, so the visitor must hear "not now" (503 Service Unavailable), not "here is your file"`;
    return `answered ${y.status} where Redis refused the write (out of memory: OOM): a running Redis that refuses writes for now (OOM, READONLY, MISCONF…) is an outage too, to be answered 503 Service Unavailable (try again later), not a crash of the app (500) nor anything else`;
  }
  if (a.do === "fault" && a.kind === "readonly") {
    if (y.status < 400)
      return `a download was let through though Redis refused to count it as a read-only replica (it answered ${y.status}): during a failover the old primary answers writes with READONLY, and what it still answers to reads is no count of this download. Nothing was counted, so the visitor must hear "not now" (503 Service Unavailable), not "here is your file"`;
    return `answered ${y.status} where Redis refused the write as a read-only replica (READONLY): a running Redis that refuses writes for now (OOM, READONLY, MISCONF…) is an outage too, to be answered 503 Service Unavailable (try again later), not a crash of the app (500) nor anything else`;
  }
  if (a.do === "fault" && a.kind === "blip" && y.status < 500 && r.status >= 500)
    return `the download was counted twice (it answered ${y.status}): the connection was lost just after the count reached Redis, which ran it, and the app sent it again once it had reconnected. When an answer is lost, the command may well have run: sent again, it counts the download a second time, and the visitor loses a download it never had. Answer 503 (the visitor can try again), rather than sending the count again`;
  if (a.do === "fault" && a.kind === "frozen" && y.status < 400)
    return `a download was let through though Redis failed (it answered ${y.status}): Redis stopped answering, and the app's client gave up waiting (a timeout), which says nothing of whether the count was made. Nothing is known to be counted, so the visitor must hear "not now" (503 Service Unavailable), not "here is your file"`;
  if (a.do === "fault" || (r.status === 503 && a.do !== "burst")) {
    if (y.status < 400)
      return `a download was let through though Redis failed (it answered ${y.status}): the quota could not be counted, so the visitor must hear "not now" (503 Service Unavailable), not "here is your file"`;
    return `answered ${y.status} where Redis was not answering: that is an outage, to be answered 503 Service Unavailable (try again later), not a crash of the app (500) nor anything else`;
  }
  if (r.status === 200 && y.status >= 500 && stateOf(referenceSide).scriptsForgotten)
    return `a download failed (${y.status}) once Redis had forgotten its scripts: after a restart or a failover the script cache is empty and EVALSHA answers NOSCRIPT; load the script again when it does (EVAL, or the client's defineScript), or count with MULTI`;
  if (r.status === 200 && a.do === "burst")
    return `some downloads sent at once were answered ${y.status}: each one must be let through (200) or refused (429)`;
  if (r.status === 429 && y.status === 200)
    return `a download past the quota was let through: ${who(a)} had used the ${QUOTA} downloads of the window${escaped(a, stateOf(referenceSide))}`;
  if (r.status === 429)
    return `a download past the quota was not refused with 429 (it answered ${y.status}): 429 Too Many Requests, with Retry-After, tells the client to come back later`;
  if (r.status === 200 && y.status === 429) {
    const state = stateOf(referenceSide);
    const others = [...state.downloaded].filter((v) => "who" in a && v !== a.who);
    const shared = others.length
      ? ` (${others.map(name).join(", ")} downloaded before: are another visitor's downloads counted against ${who(a)}? each visitor has a quota of their own)`
      : "";
    return `refused a download ${who(a)} still had (429 where the reference answered 200)${shared}${byRedisClock(state)}`;
  }
  return `POST /download answered ${y.status} where ${r.status} was expected`;
}

/** Why VISITOR (a letter) got more downloads than the reference, from the scenario so far. */
function escaped(a: Action, state: SideState): string {
  if ("who" in a && (state.processes.get(a.who)?.size ?? 0) > 1)
    return `: ${name(a.who)}'s downloads went to both processes of the app. ${ONCE_PER_PROCESS}`;
  if (a.do === "download" && a.proxied)
    return ": this request came with an X-Forwarded-For header, which any client can send with any value it likes; the quota must follow the visitor's session";
  if ("who" in a && state.respelled.has(a.who))
    return `: ${name(a.who)}'s browser now spells its session cookie another way (s: unencoded, or percent-encoded otherwise), and the quota started again. It is the same signed cookie, which express-session reads as the same session: the quota must follow the session (its id, as express-session found it), not the cookie's text`;
  if ("who" in a && state.newCookie.has(a.who))
    return `: ${name(a.who)}'s browser now sends one more cookie, and the quota started again; the quota must follow the visitor's session, not the Cookie header as a whole`;
  if (state.timePassed)
    return ": time passed, and the quota started again before the visitor's window was over (the app's clock began 20 s before a midnight, so it crossed the end of a minute, ten minutes, hour and day). A window begins at the visitor's first download and lasts 10 minutes; one that follows the clock (12:00 to 12:10, 12:10 to 12:20…) lets a visitor take 3 at 12:09 and 3 more at 12:10";
  return "";
}

const ONCE_PER_PROCESS =
  "If each process counts apart (in its memory, or under a key of its own: its process id…), a visitor gets the quota once per process: every process must count under the same key, one that names the visitor only";

function answerRule({ action: a, yours: y, reference: r, referenceSide }: S) {
  if (y.status !== r.status) return undefined;
  const mine = (y.body as Seen).answer;
  const theirs = (r.body as Seen).answer;
  if (same(mine, theirs)) return undefined;
  const state = stateOf(referenceSide);
  const said: string[] = [];
  if (a.do === "burst") {
    const m = mine as Record<string, Burst>;
    const t = theirs as Record<string, Burst>;
    for (const [visitor, tb] of Object.entries(t)) {
      const mb = m[visitor];
      if (!mb) continue;
      if (mb.granted !== tb.granted) {
        said.push(
          `${a.n} downloads sent at once let the wrong number through: ${visitor} got ${mb.granted} where ${tb.granted} ${tb.granted === 1 ? "was" : "were"} left in the window. Requests that overlap must not be able to undo each other's count: in one process or in two, each one's check and count must be one step that nobody else's can come between${a.both && mb.granted > tb.granted ? `. These went to both processes in turn. ${ONCE_PER_PROCESS}` : ""}`,
        );
      } else if (!same(mb.downloadsLeft, tb.downloadsLeft)) {
        said.push(
          `downloadsLeft does not count down in downloads sent at once: ${visitor}'s answers said ${JSON.stringify(mb.downloadsLeft)} where ${JSON.stringify(tb.downloadsLeft)} were expected (each answer tells what was left after its own download)`,
        );
      } else if (!same(mb.retryAfter, tb.retryAfter)) {
        const near = (x: string, y: string) =>
          Math.abs(secondsOf(x) - secondsOf(y)) <= RETRY_AFTER_S;
        const others = Object.entries(t)
          .filter(([v]) => v !== visitor)
          .flatMap(([, b]) => b.retryAfter);
        const borrowed = mb.retryAfter.find(
          (x) => !tb.retryAfter.some((y) => near(x, y)) && others.some((y) => near(x, y)),
        );
        if (borrowed)
          said.push(
            `Retry-After told another visitor's window: in downloads sent at once by ${a.from.map(name).join(" and ")}, ${visitor} was refused with ${borrowed}, the time left in another visitor's window, where ${tb.retryAfter.join(", ")} (${visitor}'s own). Requests at once share the process: while one waits for Redis, the next runs, so what a request works on (its visitor's key, its count) must be its own, not kept where the next request changes it`,
          );
        else
          said.push(
            `Retry-After does not say when the window ends: ${visitor}'s refusals said ${mb.retryAfter.join(", ")} where ${tb.retryAfter.join(", ")} (the seconds left in this visitor's window)${byRedisClock(state)}`,
          );
      }
    }
    return (
      said.join("\n") ||
      `the answers to downloads sent at once differ: ${JSON.stringify(mine)} where ${JSON.stringify(theirs)}`
    );
  }
  const m = mine as { downloadsLeft?: unknown; retryAfter?: string; visits?: unknown };
  const t = theirs as typeof m;
  if (t.retryAfter !== undefined && m.retryAfter !== t.retryAfter) {
    const lags =
      state.timePassed &&
      same((y.body as Seen).windows, (r.body as Seen).windows) &&
      Number(/\d+/.exec(m.retryAfter ?? "")?.[0]) > Number(/\d+/.exec(t.retryAfter)?.[0]);
    const [mineS, theirsS] = [secondsOf(m.retryAfter), secondsOf(t.retryAfter)];
    const wholeMinutes = mineS % 60 === 0 && mineS > theirsS && mineS - theirsS < 60;
    const why = wholeMinutes
      ? " (rounded up to whole minutes: Retry-After is the seconds left, to the second; rounded up, it sends the visitor back as much as a minute later than the window ends)"
      : lags
        ? ` (${duration(state.passedS)} passed here, and Redis holds the same window as the reference's, yet Retry-After did not count them down. The check makes time pass by shortening each window's time to live and moving the app's clock, Date.now(), on as much; it cannot move Redis's own clock (TIME), so a Retry-After computed from Redis's TIME is not the window's time left here: take the time from the app's Date.now(), or from the window's time to live, PTTL)`
        : byRedisClock(state);
    return `Retry-After does not say when the window ends: ${m.retryAfter} where ${t.retryAfter} was expected (the seconds left in ${who(a)}'s window, which started at ${who(a)}'s first download)${why}`;
  }
  if (typeof t.downloadsLeft === "number" && typeof m.downloadsLeft === "number") {
    if (m.downloadsLeft > t.downloadsLeft)
      return `${who(a)} was given more downloads than the quota leaves: downloadsLeft ${m.downloadsLeft} where ${t.downloadsLeft}${escaped(a, state)}`;
    const others = [...state.downloaded].filter((v) => "who" in a && v !== a.who);
    if (others.length)
      return `another visitor's downloads were counted against ${who(a)}: downloadsLeft ${m.downloadsLeft} where ${t.downloadsLeft} (${others.map(name).join(", ")} downloaded before; each visitor has a quota of their own)`;
  }
  return `${a.do === "visit" ? "GET /" : "POST /download"} answered ${JSON.stringify(mine)} where ${JSON.stringify(theirs)} was expected (downloadsLeft counts down from ${QUOTA - 1})`;
}

function windowRule({ yours: y, reference: r, referenceSide }: S) {
  const mine = (y.body as Seen).windows;
  const theirs = (r.body as Seen).windows;
  if (same(mine, theirs)) return undefined;
  const shown = (w: string[]) => (w.length ? w.join(", ") : "nothing");
  const detail = `(Redis holds ${shown(mine)}, where the reference's holds ${shown(theirs)})`;
  if (mine.some((w) => w.endsWith(UNDER_SESS)))
    return `the quota's key is under the session store's prefix (sess:): that namespace is the session store's, which reads every key in it as a session (the check's view of the sessions lists the count as one), and a store that lists, clears or counts its sessions takes the quota's keys with them. Give the quota's keys a prefix of their own, as step 03 gives the sessions theirs ${detail}`;
  if (mine.some((w) => w.includes(NEVER)) && stateOf(referenceSide).cut)
    return `the count never expires: the app lost Redis between the command that counts and the one that gives the count its time to live, so Redis holds a count that nothing will ever end. The count and its time to live must reach Redis together: in one MULTI/EXEC, in one script, or the window set first (SET NX EX) and counted after ${detail}`;
  if (mine.some((w) => w.includes(NEVER)))
    return `the count never expires: a key without a time to live keeps the visitor refused for ever, and stays in Redis for good ${detail}`;
  if (!mine.length)
    return `no window in Redis after a download: the count is not kept in Redis, where every process sees it and where its time to live ends the window, or the window is not 10 minutes and has already ended ${detail}`;
  const longest = Math.max(...mine.map(secondsIn));
  if (longest > 600 || mine.every((w) => secondsIn(w) < Math.min(...theirs.map(secondsIn))))
    return `the window is not 10 minutes (${WINDOW_TEXT}) ${detail}`;
  if (mine.length < theirs.length)
    return `a visitor has no window of its own: one window, started by whoever came first, is shared with others, so it ends for all of them at once ${detail}`;
  if (mine.length > theirs.length || mine.some((w) => w.includes(" and ")))
    return `a new window started while the visitor's window was still running ${detail}`;
  return `an attempt moved the end of the window: the window starts at the visitor's first download and ends 10 minutes later, whatever the visitor does in between (or a visitor who keeps trying is never let back) ${detail}`;
}
const WINDOW_TEXT = "600 s from the first download, as a time to live in seconds";

function quickRule({ action: a, yours: y, reference: r }: S) {
  const slow = (y.body as Seen).slow;
  if (!slow || (r.body as Seen).slow) return undefined;
  return `an outage of Redis is not a quick 503: ${a.do === "fault" && a.kind === "frozen" ? "Redis stopped answering and its connections were cut, and" : "Redis was failing, and"} the answer came ${slow} than the reference's, more than ${SLOWER_MS / 1000} s (it waited for Redis, or tried again, instead of failing at once: the visitor gets 503 quickly, and can try again later)`;
}

function storeRule({ action: a, yours: y, reference: r }: S) {
  const mine = (y.store.sessions ?? []) as unknown[];
  const theirs = (r.store.sessions ?? []) as unknown[];
  if (same(mine, theirs)) return undefined;
  const extra = mine.filter((data) => !theirs.some((other) => same(data, other)));
  const missing = theirs.filter((data) => !mine.some((other) => same(data, other)));
  if (extra.length && missing.length)
    return `the quota is kept in the session: after ${describe(a)}, a session holds ${json(extra[0])} where ${json(missing[0])}. A session is read when a request comes in and written when it ends, so requests at the same time each write back their own count over the others'`;
  return `the sessions in the store differ: ${json(mine)} where ${json(theirs)}`;
}

const SCANS = ["KEYS", "SCAN", "lua:KEYS", "lua:SCAN"];
function trafficRule({ yours: y, reference: r }: S) {
  const said: string[] = [];
  const scans = (o: Observation) => o.traffic["keyspace scans"] ?? 0;
  if (scans(y) > scans(r))
    said.push(
      `looked through the keyspace (KEYS or SCAN, ${scans(y)}×) to answer one request: its cost grows with every key in Redis, and Redis serves nobody else while a KEYS runs, whether it is sent by the app or by a script. Name the visitor's key instead`,
    );
  if ((y.traffic[SCRIPT_WITHOUT_KEYS] ?? 0) > 0)
    said.push(
      "a script names its key in its own text (EVAL with no KEYS): every visitor's script is a new one that Redis compiles and keeps in its script cache, and neither Redis Cluster nor an ACL key rule can see which key it touches. Pass the key in KEYS and the numbers in ARGV",
    );
  const writes = (o: Observation) => o.traffic.set ?? 0;
  if (writes(y) > writes(r))
    said.push(
      `the session was written ${writes(y)} times where ${writes(r)} (a download changes nothing in the session: the quota is kept in the session, or copied into it)`,
    );
  return said.join("\n") || undefined;
}

function cookieRule({ yours: y, reference: r }: S) {
  if (same(y.cookies, r.cookies)) return undefined;
  return `the cookies sent differ: ${JSON.stringify(y.cookies)} where ${JSON.stringify(r.cookies)} (a download changes nothing in the session, so it sets no cookie)`;
}

// ---- The model.

interface Setup {
  copies: [Module, Module];
  references: [Module, Module];
  sides: RedisSides;
  taps: Record<Side["name"], Tap>;
  full: Full;
}

function model(setup: Setup, action: fc.Arbitrary<Action>, examples: Action[][]): Model<Action> {
  const { sides, taps } = setup;
  return {
    visitors: VISITORS,
    action,
    examples,
    describe,
    actor: (a) => ("who" in a ? a.who : "from" in a ? a.from[0] : undefined),
    perform: (a, side) => perform(a, side, sides, taps[side.name], setup.full),
    body: (a, answer, side, reference) => body(a, answer, side, reference, sides),
    cookie,
    session: (held) => {
      const { cookie: _cookie, ...data } = (held as { session: Record<string, unknown> }).session;
      return data;
    },
    allowed: [
      {
        // Judged by what the visitor and the windows show: the commands that count and start
        // the window (INCR, SET NX, EXPIRE NX, DECR…), one by one, in MULTI/EXEC or in a script
        // (EVAL itself is not a write: what it runs is what counts), and reads (GET, PTTL, TTL).
        name: "which commands count, start the window and read it; MULTI/EXEC or a script",
        apply: (o) => {
          let scans = 0;
          for (const command of SCANS) scans += o.traffic[command] ?? 0;
          const traffic: Record<string, number> = {};
          if (scans) traffic["keyspace scans"] = scans;
          if (o.traffic[SCRIPT_WITHOUT_KEYS])
            traffic[SCRIPT_WITHOUT_KEYS] = o.traffic[SCRIPT_WITHOUT_KEYS];
          for (const op of ["set", "destroy"]) if (o.traffic[op]) traffic[op] = o.traffic[op];
          return { ...o, traffic };
        },
      },
      {
        // Sessions made in the same step (a burst of new visitors) are numbered in the order of
        // their random ids: compared as a set.
        name: "which session got which number",
        apply: (o) => ({
          ...o,
          store: {
            sessions: Object.values(o.store).sort((x, y) => json(x).localeCompare(json(y))),
          },
        }),
      },
      {
        // A request that lost Redis mid-way failed with a 503 whatever Redis ran of it: whether
        // the count of that failed download was kept is the app's choice. A count that never
        // expires is not.
        name: "whether a download that lost Redis mid-way was counted",
        apply: (o, _a, side) =>
          stateOf(side).cut
            ? {
                ...o,
                body: {
                  ...(o.body as Seen),
                  windows: (o.body as Seen).windows.filter((w) => w.includes(NEVER)),
                },
              }
            : o,
      },
      {
        // A process that dies after its second or third command that writes: the reference,
        // with fewer, may have answered (200 or 429) before that; whether the visitor heard an
        // answer or a 503 then depends on how many commands the app sends.
        name: "whether a download cut after its first write was answered",
        apply: (o, a) =>
          a.do === "fault" &&
          a.kind === "cut" &&
          a.nth > 1 &&
          (o.status === 200 || o.status === 429)
            ? { ...o, status: 503 }
            : o,
      },
      {
        name: "any body and cookies with a 5xx",
        apply: (o) =>
          o.status >= 500
            ? { ...o, body: { ...(o.body as Seen), answer: "(an error)" }, cookies: [] }
            : o,
      },
    ],
    rules: [statusRule, answerRule, quickRule, windowRule, storeRule, trafficRule, cookieRule],
    probe: (side) => sides.probe(side),
    createApp: (side) => twoProcesses(side, setup.copies, taps[side.name], setup.full),
    createReference: (side) => twoProcesses(side, setup.references, taps[side.name], setup.full),
  };
}

/** Both sides' Redis databases, MONITOR, taps and the second copies of both apps. */
async function setUp({ module, dir, redis, after }: CheckContext<Module>): Promise<Setup> {
  const server = await redis();
  const steady = async () => {
    const client = steadyClient(server.url);
    await client.connect();
    after(() => (client.isOpen ? client.destroy() : undefined));
    return client;
  };
  const sides = await RedisSides.start({ ...server, client: steady });
  const database = async (side: Side["name"]) => {
    const info = String(await sides.admin(side).sendCommand(["CLIENT", "INFO"]));
    return Number(/\bdb=(\d+)/.exec(info)?.[1]);
  };
  const [yours, theirs] = await Promise.all([
    Tap.open(server.url, await database("yours")),
    Tap.open(server.url, await database("reference")),
  ]);
  after(() => Promise.all([yours.close(), theirs.close()]));
  // The second process's copy loads as a process of its own: process.pid is another.
  const again = (file: string) =>
    processIndex.run(1, () => import(`${pathToFileURL(file).href}?second-process`));
  return {
    copies: [module, (await again(join(dir, "app.ts"))) as Module],
    references: [
      reference,
      (await again(join(import.meta.dirname, "solution", "app.ts"))) as Module,
    ],
    sides,
    taps: { yours, reference: theirs },
    full: new Full(sides.admin("reference")),
  };
}

const A = 0;
const B = 1;
const C = 2;
const dl = (who: number, on: 1 | 2 = 1, proxied = false): Action => ({
  do: "download",
  who,
  on,
  proxied,
});
const burst = (from: readonly number[], n: number, both = true): Action => ({
  do: "burst",
  from,
  n,
  both,
});
const minutes = (m: number): Action => ({ do: "time", seconds: m * 60 });
const passing = (s: number): Action => ({ do: "time", seconds: s });

const visitor = fc.constantFrom(A, A, A, B, B, C);
// Faults are rare: after one, Redis stays down for the rest of the scenario.
const action = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      do: fc.constant("download" as const),
      who: visitor,
      on: fc.constantFrom(1 as const, 2 as const),
      proxied: fc.constantFrom(false, false, false, true),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      do: fc.constant("burst" as const),
      from: fc.constantFrom([A], [A, B], [A, B, C]),
      n: fc.constantFrom(4, 7),
      both: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      do: fc.constant("time" as const),
      seconds: fc.constantFrom(300, 600, 570, 60, 130),
    }),
  },
  { weight: 2, arbitrary: fc.record({ do: fc.constant("visit" as const), who: visitor }) },
  { weight: 1, arbitrary: fc.constant({ do: "forget-scripts" as const }) },
  { weight: 2, arbitrary: fc.record({ do: fc.constant("other-cookie" as const), who: visitor }) },
  {
    weight: 1,
    arbitrary: fc.record({
      do: fc.constant("respell" as const),
      who: visitor,
      as: fc.constantFrom("s:" as const, "%73%3A" as const, "s%3a" as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ do: fc.constant("twin" as const), who: fc.constant(C), of: visitor }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      do: fc.constant("fault" as const),
      who: visitor,
      kind: fc.constantFrom("cut" as const, "down" as const, "frozen" as const, "full" as const),
      nth: fc.constantFrom(1 as const, 2 as const, 3 as const),
    }),
  },
);

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "downloads one by one and at once, from several visitors, on two processes, as time passes and Redis fails: like the reference",
      timeoutMs: 30_000,
      run: async (context) =>
        differential(
          model(await setUp(context), action, [
            // One at a time: 3 downloads each, then a refusal; a quota for each visitor, even
            // for one whose session id begins as A's does.
            [dl(A), dl(B), dl(A), dl(A), dl(A), { do: "twin", who: C, of: A }, dl(C)],
            // A download whose first command reaches Redis, and whose next never does.
            [{ do: "fault", who: A, kind: "cut", nth: 1 }],
            // The same, after its second command that writes (a lock taken first, say).
            [{ do: "fault", who: A, kind: "cut", nth: 2 }],
            // A download, then Redis stops answering just as the next one needs it. Before the
            // bursts: a slow Redis is what a busy machine looks like, and an app that gives up
            // waiting for it would fail them for that, and say less.
            [dl(A), { do: "fault", who: A, kind: "frozen", nth: 1 }],
            // A burst, to both processes.
            [burst([A], 6)],
            // The window: downloads and attempts do not move it, Retry-After says its end, then
            // a new quota, begun on the other process; then a refusal after an odd number of
            // seconds, on the first process: Retry-After is this window's seconds left, to the
            // second, whichever process answers.
            [
              dl(A, 2),
              minutes(5),
              dl(A, 2),
              dl(A, 2),
              dl(A, 2),
              minutes(5),
              dl(A),
              passing(130),
              dl(A),
              dl(A),
              dl(A, 2),
            ],
            // Downloads at once, to one process, from two visitors whose windows end at
            // different times (A's began 5 minutes before, B's begins in the burst): each
            // refusal tells its own visitor's window.
            [dl(A), minutes(5), burst([A, B], 8, false)],
            // Redis goes down just as a download needs it.
            [{ do: "fault", who: A, kind: "down", nth: 1 }],
            // Redis refuses the count with an error (out of memory) for one download.
            [{ do: "fault", who: A, kind: "full", nth: 1 }],
            // ...or as a read-only replica does (READONLY), as during a failover.
            [{ do: "fault", who: A, kind: "readonly", nth: 1 }],
            // A download's count reaches Redis, its answer is lost with the connection, and
            // Redis is back at once: the count ran, and must not run again.
            [dl(A), { do: "fault", who: A, kind: "blip", nth: 1 }],
            // A script Redis no longer holds: EVALSHA answers NOSCRIPT, and the app sends it again.
            [dl(A), { do: "forget-scripts" }, dl(A)],
            // What a client can send: one more cookie, an X-Forwarded-For header, the session
            // cookie spelled another way.
            [
              dl(A),
              { do: "other-cookie", who: A },
              dl(A, 2, true),
              { do: "respell", who: A, as: "s:" },
              dl(A),
            ],
          ]),
          { runs: 7, maxActions: 6, shrinkTries: 8 },
        ),
    },
  ],
});
