/**
 * Exercise 07: length(), all() and clear() of a session store on a Redis shared with other apps,
 * walking this store's keys a page at a time.
 *
 * A differential check (test/checks/differential.ts, test/checks/redis-probe.ts): scenarios of
 * visitors (who make sessions through express-session), of more sessions written under several
 * prefixes (some with characters a SCAN pattern, or a RegExp, reads as wildcards), of an admin
 * calling the Store API directly (with a callback, as express-session does, or awaiting it, as a
 * tool does; one store per prefix for the whole scenario, as an app keeps one; sometimes length()
 * and all() at the same time), and of Redis faults (it refuses writes, or it is down; in the
 * classic scenarios also: it refuses one key part-way through a walk, or it holds writes longer
 * than the app's client waits for an answer), run on your store and on the reference side by
 * side, each in a Redis database of its own that also holds other apps' keys. After every step
 * both must look the same to a visitor (status, body, cookie), to the admin (what each call
 * answered: the count, the sessions, or an error) and to the operator (every key of the database,
 * its value and TTL, a key under a prefix that holds no session aside; and what each call cost
 * Redis: no KEYS, no command over every key, no command per key, no other app's key touched, no
 * refused command sent again and again). The 23 classic scenarios (`examples`), then 6 drawn
 * ones; CHECK_RUNS and CHECK_DRAW draw more, or others.
 *
 * What a call cost is read from a MONITOR of the check's own that keeps each command's arguments
 * (RedisSides counts commands by name only); faults are ACL rules on a Redis user per side, and
 * the commands Redis refused a side are counted from its ACL LOG.
 */
import express, { type ErrorRequestHandler } from "express";
import type { SessionData } from "express-session";
import fc from "fast-check";
import "../../steps/shared/session-data.ts";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { workshopSession } from "../../steps/shared/workshop-session.ts";
import {
  type Answer,
  differential,
  type Model,
  type Side,
  type Step,
} from "../../test/checks/differential.ts";
import { appRedisClient, type CheckRedis, defineCheck, Wrong } from "../../test/checks/kit.ts";
import { RedisSides } from "../../test/checks/redis-probe.ts";
import * as reference from "./solution/paged-session-store.ts";

type Module = typeof import("./solution/paged-session-store.ts");
type StoreClass = Module["PagedSessionStore"];
type Store = InstanceType<StoreClass>;

/**
 * Prefixes an operator may configure. `[eu]`, `*` and `?` are wildcards to SCAN's MATCH, and `\`
 * escapes the character after it (`eu\west:` matches "euwest:").
 */
const PREFIXES = [
  "sess:",
  "shop[eu]:sess:",
  "v2*:sess:",
  "eu\\west:sess:",
  "app?:sess:",
  // Without a colon: the id is what follows the prefix, not what follows its last ':'.
  "sess-",
  // Two classes: every wildcard must be escaped, not only the first of its kind.
  "shop[eu][v2]:sess:",
  // No wildcard for MATCH, but "." is one to a RegExp: a prefix is text, not a pattern.
  "app.v2:sess:",
  // "+" and "(...)" mean something to a RegExp too: "a+b(1)" as a pattern matches "aab1".
  "a+b(1):sess:",
] as const;
/** The app's own prefix: the visitors' sessions. */
const APP_PREFIX = PREFIXES[0];
/**
 * Other apps' keys in the same database, several that look like sessions: what MATCH sess*,
 * *sess:*, shop[eu]:sess:*, v2*:sess:*, eu\west:sess:*, app?:sess:* or shop\[eu\][v2]:sess:*
 * would catch, or the RegExp ^app.v2:sess:, and none that starts with a prefix above.
 * (And a list, "queue:mail", written beside them.)
 */
const OTHERS: { key: string; value: string; ttl?: number }[] = [
  { key: "session:9f2c", value: '{"cookie":{},"user":"ann"}' },
  { key: "sess", value: "1" },
  { key: "Sess:ABC", value: "not ours: another case" },
  { key: "cache:sess:home", value: "<html>home</html>", ttl: 600 },
  { key: "shope:sess:1", value: '{"cookie":{},"cart":3}' },
  { key: "shopu:sess:2", value: '{"cookie":{},"cart":1}', ttl: 900 },
  { key: "v2-beta:sess:1", value: '{"cookie":{},"beta":true}' },
  { key: "jobs:sess:cleanup", value: "scheduled" },
  { key: "euwest:sess:3", value: '{"cookie":{},"region":"eu"}' },
  { key: "appX:sess:4", value: '{"cookie":{},"app":"x"}' },
  { key: "shop[eu]v:sess:cart-9", value: '{"cookie":{},"cart":9}' },
  { key: "shop[eu]2:sess:cart-8", value: '{"cookie":{},"cart":8}' },
  { key: "app-v2:sess:1", value: '{"cookie":{},"app":"v2"}' },
  { key: "aab1:sess:x", value: '{"cookie":{},"app":"aab1"}' },
];
/** Sessions written under one prefix at once: enough that a walk needs several pages. */
const MANY = 300;
/** About a page (the starter's PAGE is 100): any command carrying more keys is over everything. */
const MOST_KEYS_PER_COMMAND = 250;
/** A walk may send about a command per 4 keys of the database (SCAN COUNT 10 does), plus a few. */
const commandsAllowed = (keysInDatabase: number) => Math.ceil(keysInDatabase / 4) + 10;
/** How long an admin call may take before the check calls it hung. */
const ANSWER_WITHIN_MS = 2500;
/**
 * How long a "stalled" fault may hold writes: longer than the app's client waits for an answer
 * (its socket gives up after 1.5 s without a byte; 2 s with the ping it sends meanwhile), so that
 * a call whose writes are held fails, and a call that says "done" after waiting a second or so
 * lies. The check lifts it as soon as both sides' calls have answered.
 */
const STALL_MS = 5000;
/** How long a call in a "stalled" fault may take to answer: its client gives up within 2 s. */
const STALLED_ANSWER_WITHIN_MS = 4000;
/** Commands Redis may refuse in one call: the one that failed, and a few pages in flight. */
const MOST_REFUSED = 10;

/** "page": length() and all() at the same time on one store, as an admin page may ask. */
type Op = "length" | "all" | "clear" | "page";
type StoreOp = Exclude<Op, "page">;
type Fault = "read-only" | "down" | "stalled" | "midway";
type Action =
  | { do: "visit"; who: number }
  | { do: "sessions"; prefix: number; count: number }
  | { do: "leftover"; prefix: number }
  | { do: "admin"; op: Op; prefix: number; via: "callback" | "await" }
  | { do: "fault"; fault: Fault; prefix?: number };

const name = (i: number) => "ABC"[i] ?? "?";
const prefixOf = (a: { prefix: number }) => PREFIXES[a.prefix] ?? APP_PREFIX;

function describe(a: Action): string {
  switch (a.do) {
    case "visit":
      return `${name(a.who)}: GET /`;
    case "sessions":
      return `${a.count} more sessions under "${prefixOf(a)}" (written by another server of the app)`;
    case "leftover":
      return `a key "${prefixOf(a)}${LEFTOVER}" that holds no session (a hash an old tool left under the prefix, like a key that expires between SCAN and MGET)`;
    case "admin": {
      const at =
        a.op === "page" ? " (both at the same time, as an admin page showing both may)" : "";
      return `admin: ${how(a)}${at}, the store's prefix "${prefixOf(a)}"`;
    }
    case "fault":
      if (a.fault === "stalled") {
        return "Redis holds every write as the next call starts (CLIENT PAUSE … WRITE, as in a failover that drags on), longer than the app's client waits for an answer (1.5 s without a byte): the client gives up, and the writes fail";
      }
      if (a.fault === "midway") {
        return `Redis refuses the store one key under "${prefixOf({ prefix: a.prefix ?? 0 })}" from now on, the last one a walk reaches: a walk fails part-way, after its first pages worked`;
      }
      return a.fault === "down"
        ? "Redis is down from now on (the connection is lost)"
        : "Redis refuses writes from now on (a read-only replica after a failover)";
  }
}

// ---- What each side needs: its Redis user and client, the store class, its commands.

/** One MONITOR line: `1712345678.123456 [1 127.0.0.1:50000] "SET" "sess:x" "…"`. */
const LINE = /^\S+ \[(\d+) ([^\]]+)\] (.*)$/;
const ARG = /"((?:[^"\\]|\\.)*)"/g;
/** A client's bookkeeping, not the store's work. */
const BOOKKEEPING = new Set(["PING", "HELLO", "CLIENT", "SELECT", "AUTH", "INFO", "QUIT"]);

interface Command {
  name: string;
  args: string[];
  /** Run by a script (EVAL), not sent by the client. */
  lua: boolean;
}

/**
 * Every command the apps' clients send, with its arguments, by database: a MONITOR of the
 * check's own. (RedisSides counts commands by name; what a command carries is in its arguments.)
 */
class CommandLog {
  private readonly byDatabase = new Map<number, Command[]>();
  /** The addresses of the apps' clients: their commands are logged, nobody else's. */
  private readonly watched = new Set<string>();
  private readonly waiting = new Map<string, () => void>();
  private readonly marker: RedisClient;
  private markerAddress = "";
  private markers = 0;

  private constructor(marker: RedisClient) {
    this.marker = marker;
  }

  static async start(redis: CheckRedis): Promise<CommandLog> {
    const [marker, monitor] = await Promise.all([redis.client(), redis.client()]);
    const log = new CommandLog(marker);
    log.markerAddress = await addressOf(marker);
    await monitor.monitor((line) => log.heard(String(line)));
    return log;
  }

  private heard(line: string): void {
    const match = LINE.exec(line);
    if (!match) return;
    const [, db, source = "", rest = ""] = match;
    const mine = source === "lua" || this.watched.has(source);
    if (!mine && source !== this.markerAddress) return;
    const args = [...rest.matchAll(ARG)].map((m) => (m[1] ?? "").replace(/\\(.)/g, "$1"));
    if (source === this.markerAddress) {
      if (args[0]?.toUpperCase() === "ECHO") this.waiting.get(args[1] ?? "")?.();
      return;
    }
    const name = args.shift()?.toUpperCase() ?? "";
    if (BOOKKEEPING.has(name)) return;
    const log = this.byDatabase.get(Number(db)) ?? [];
    log.push({ name, args, lua: source === "lua" });
    this.byDatabase.set(Number(db), log);
  }

  watch(address: string): void {
    this.watched.add(address);
  }

  /** Where DB's log is now: pass it to `since` after a call. */
  mark(db: number): number {
    return this.byDatabase.get(db)?.length ?? 0;
  }

  /** The commands DB ran since MARK, once MONITOR has shown every command run so far. */
  async since(db: number, mark: number): Promise<Command[]> {
    const token = `log-${++this.markers}`;
    const seen = new Promise<void>((resolve) => this.waiting.set(token, resolve));
    await this.marker.echo(token);
    await seen;
    this.waiting.delete(token);
    return (this.byDatabase.get(db) ?? []).slice(mark);
  }
}

/** How many commands Redis refused USER so far (its ACL LOG: each entry counts its repeats). */
async function refusedSoFar(admin: RedisClient, user: string): Promise<number> {
  const entries = (await admin.sendCommand(["ACL", "LOG", "128"])) as unknown[][];
  let refused = 0;
  for (const entry of entries) {
    const field = (name: string) => entry[entry.indexOf(name) + 1];
    if (field("username") === user) refused += Number(field("count") ?? 0);
  }
  return refused;
}

async function addressOf(client: RedisClient): Promise<string> {
  const info = String(await client.sendCommand(["CLIENT", "INFO"]));
  return /\baddr=(\S+)/.exec(info)?.[1] ?? "";
}

async function databaseOf(client: RedisClient): Promise<number> {
  const info = String(await client.sendCommand(["CLIENT", "INFO"]));
  return Number(/\bdb=(\d+)/.exec(info)?.[1] ?? 0);
}

/** What the whole check shares: the folder's Redis, its two sides, the log, a user per side. */
interface Environment {
  url: string;
  sides: RedisSides;
  log: CommandLog;
  /** Admin calls so far: each marks its answer in the log. */
  answers: number;
  /** Each side's state in the current scenario (a check's folders run at the same time). */
  states: Map<Side["name"], SideState>;
  users: Record<Side["name"], { user: string; password: string; db: number; url: string }>;
  /**
   * Sides whose call has answered in a "stalled" fault: Redis holds writes until both have (a
   * side still waiting must not see its writes go through when the other's call has failed).
   */
  stalledAnswers: number;
}

/** One side during a scenario. */
interface SideState {
  Store: StoreClass;
  client: RedisClient;
  db: number;
  user: string;
  /** Sessions the check wrote so far (their ids: bulk-0000, bulk-0001…). */
  written: number;
  /**
   * The admin's store of each prefix, kept for the whole scenario as an app keeps one for the
   * process: its calls share it. (Not express-session's own: the harness wraps that one.)
   */
  stores: Map<string, Store>;
  /** Admin calls made so far on each prefix's store. */
  calls: Map<string, number>;
  /** A "stalled" fault: the next admin call starts as Redis holds writes. */
  stallNext: boolean;
}
/** SIDE's state in ENV's current scenario. */
const stateOf = (env: Environment, side: Side) => env.states.get(side.name) as SideState;

async function startEnvironment(redis: CheckRedis): Promise<Environment> {
  const [sides, log] = await Promise.all([RedisSides.start(redis), CommandLog.start(redis)]);
  const user = async (name: Side["name"]) => {
    const url = new URL(redis.url);
    url.username = `app-${name}`;
    url.password = `pw-${Math.random().toString(36).slice(2)}`;
    const db = await databaseOf(sides.admin(name));
    url.pathname = `/${db}`;
    return { user: url.username, password: url.password, db, url: url.href };
  };
  return {
    url: redis.url,
    sides,
    log,
    answers: 0,
    stalledAnswers: 0,
    states: new Map(),
    users: { yours: await user("yours"), reference: await user("reference") },
  };
}

/**
 * A fresh app for SIDE: its Redis user allowed everything again, other apps' keys written, a
 * client of its own (as the app's: createRedisClient), express-session over the store.
 */
async function build(env: Environment, side: Side, Store: StoreClass) {
  const { user, password, db, url } = env.users[side.name];
  const admin = env.sides.admin(side.name);
  await admin.sendCommand([
    "ACL",
    "SETUSER",
    user,
    "reset",
    "on",
    `>${password}`,
    "~*",
    "&*",
    "+@all",
  ]);
  const fill = admin.multi();
  for (const { key, value, ttl } of OTHERS) {
    fill.set(key, value, ttl ? { expiration: { type: "EX", value: ttl } } : {});
  }
  fill.rPush("queue:mail", ["welcome", "reminder"]);
  await fill.exec();
  env.stalledAnswers = 0;
  const client = appRedisClient(url);
  client.on("error", () => {}); // outages are what some scenarios are about
  await client.connect();
  side.after(() => (client.isOpen ? client.destroy() : undefined));
  env.log.watch(await addressOf(client));
  env.states.set(side.name, {
    Store,
    client,
    db,
    user,
    written: 0,
    stores: new Map(),
    calls: new Map(),
    stallNext: false,
  });

  const app = express();
  app.use(workshopSession(new Store({ client, prefix: APP_PREFIX })));
  app.get("/", (req, res) => {
    req.session.visits = (req.session.visits ?? 0) + 1;
    res.json({ visits: req.session.visits });
  });
  const storeFailed: ErrorRequestHandler = (_error, _req, res, _next) => {
    // A save that fails as the response ends (express-session) comes here after the answer.
    if (!res.headersSent) res.status(503).json({ error: "the session store failed" });
  };
  app.use(storeFailed);
  return app;
}

// ---- The keys of a side's database, as an operator lists them.

const BULK = "bulk-";
/** A key under a prefix that holds no session: MGET answers null for it, as for a key gone. */
const LEFTOVER = `${BULK}old`;
const minutes = (ms: number) => (ms < 0 ? "none" : `${Math.round(ms / 60_000)} min`);
const visitsIn = (text: string | null) => {
  try {
    return (JSON.parse(text ?? "") as { visits?: unknown }).visits;
  } catch {
    return text === null ? undefined : `(not JSON: ${text.slice(0, 30)})`;
  }
};

/** Does TEXT (a key's value, null when not a string) hold a session: JSON with a cookie? */
function isSessionText(text: string | null): boolean {
  try {
    const value = JSON.parse(text ?? "") as unknown;
    return isObject(value) && isObject((value as { cookie?: unknown }).cookie);
  } catch {
    return false;
  }
}

/** Every key of the database: its value (null when not a string) and milliseconds to live. */
async function keysOf(
  admin: RedisClient,
): Promise<Map<string, { text: string | null; ttlMs: number }>> {
  const keys = new Set<string>();
  for await (const page of admin.scanIterator({ COUNT: 1000 }))
    for (const key of page) keys.add(key);
  const sorted = [...keys].sort();
  const texts = sorted.length > 0 ? await admin.mGet(sorted) : [];
  // The TTL of every key but the sessions the check wrote (many, and without one).
  const written = (key: string) => PREFIXES.some((prefix) => key.startsWith(prefix + BULK));
  const ttls = await Promise.all(sorted.map((key) => (written(key) ? -1 : admin.pTTL(key))));
  const held = new Map<string, { text: string | null; ttlMs: number }>();
  sorted.forEach((key, i) => {
    const ttlMs = ttls[i] ?? -2;
    if (ttlMs !== -2) held.set(key, { text: texts[i] ?? null, ttlMs });
  });
  return held;
}

/** This prefix's keys, as they are now. */
async function keysUnder(admin: RedisClient, prefix: string): Promise<number> {
  let count = 0;
  for await (const page of admin.scanIterator({ COUNT: 1000 })) {
    count += page.filter((key) => key.startsWith(prefix)).length;
  }
  return count;
}

const OTHER_APPS = "other apps' keys";

/**
 * The database as the check compares it: the sessions written under each prefix in one line
 * each (how many, their visits), other apps' keys one by one (gone, or their value and TTL),
 * then the visitors' sessions. The first entries are always the same, in the same order, so
 * that the harness labels them alike on both sides (#1, #2…, as they first appear).
 */
async function snapshot(admin: RedisClient): Promise<Record<string, unknown>> {
  const held = await keysOf(admin);
  const entries: Record<string, unknown> = {};
  for (const prefix of PREFIXES) {
    // Sessions only: a key under the prefix that holds none (LEFTOVER) may stay or go.
    const mine = [...held].filter(
      ([key, { text }]) => key.startsWith(prefix + BULK) && isSessionText(text),
    );
    entries[`${prefix}${BULK}*`] = {
      written: prefix,
      count: mine.length,
      visits: mine.reduce((sum, [, { text }]) => sum + Number(visitsIn(text) ?? 0), 0),
    };
  }
  const gone: string[] = [];
  const changed: string[] = [];
  for (const { key, value, ttl } of [...OTHERS, { key: "queue:mail", value: null }]) {
    const kept = held.get(key);
    if (!kept) gone.push(key);
    else if (kept.text !== value || minutes(kept.ttlMs) !== minutes(ttl ? ttl * 1000 : -1)) {
      changed.push(key);
    }
  }
  entries[OTHER_APPS] = gone.length + changed.length > 0 ? { gone, changed } : "as they were";
  const visitors: Record<string, unknown> = {};
  const strangers: Record<string, unknown> = {};
  for (const [key, { text, ttlMs }] of held) {
    const other = key === "queue:mail" || OTHERS.some((o) => o.key === key);
    if (other || PREFIXES.some((prefix) => key.startsWith(prefix + BULK))) continue;
    if (key.startsWith(APP_PREFIX)) visitors[key] = { visits: visitsIn(text), ttl: minutes(ttlMs) };
    else strangers[key] = { stranger: key, value: text ?? "(not a string)" };
  }
  return { ...entries, ...visitors, ...strangers };
}

// ---- An admin's call, and what it cost Redis.

type Outcome =
  | { answered: unknown }
  | { error: string }
  | { threw: string }
  | { noPromise: true }
  | { resultAsError: string };

/**
 * Calls OP on STORE as express-session (a callback) or a tool (await) would. ANSWERED runs the
 * moment it first answers.
 */
async function call(
  store: Store,
  op: StoreOp,
  via: "callback" | "await",
  answered: () => void,
  withinMs = ANSWER_WITHIN_MS,
) {
  let callbacks = 0;
  let rejectedToo = false;
  const method = store[op] as (callback?: (error: unknown, result?: unknown) => void) => unknown;
  const outcome = new Promise<Outcome>((resolve) => {
    try {
      if (via === "await") {
        const returned = method.call(store);
        if (!isThenable(returned)) return resolve({ noPromise: true });
        returned.then(
          (result) => {
            answered();
            resolve({ answered: result ?? null }); // (JSON keeps no undefined)
          },
          (error: unknown) => {
            answered();
            resolve({ error: String(error) });
          },
        );
        return;
      }
      const returned = method.call(store, (error, result) => {
        if (++callbacks === 1) answered();
        if (typeof error === "number" || (isObject(error) && !(error instanceof Error))) {
          resolve({ resultAsError: JSON.stringify(error).slice(0, 60) });
        } else resolve(error ? { error: String(error) } : { answered: result ?? null });
      });
      // express-session never awaits what a method returns: a rejection nobody handles stops
      // the process. Caught here, and reported.
      if (isThenable(returned)) {
        returned.then(undefined, () => {
          rejectedToo = true;
        });
      }
    } catch (error) {
      resolve({ threw: error instanceof Error ? error.message : String(error) });
    }
  });
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const how = via === "await" ? `await store.${op}()` : `store.${op}(callback)`;
      reject(
        new Wrong(
          `${how} never answered: every call must call back (or settle its promise), with the error when Redis fails`,
          `an answer within ${withinMs / 1000} s`,
          "no answer",
        ),
      );
    }, withinMs);
  });
  try {
    const result = await Promise.race([outcome, hung]);
    return { result, callbacks: () => callbacks, rejectedToo: () => rejectedToo };
  } finally {
    clearTimeout(timer);
  }
}

const isObject = (value: unknown): value is object => typeof value === "object" && value !== null;
const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as PromiseLike<unknown> | null)?.then === "function";

const VARIADIC = new Set(["MGET", "DEL", "UNLINK", "EXISTS", "TOUCH"]);
const ONE_KEY = new Set([
  ...["GET", "GETEX", "GETDEL", "SET", "SETEX", "PSETEX", "EXPIRE", "PEXPIRE", "PERSIST"],
  ...["TTL", "PTTL", "TYPE", "DUMP", "HGETALL", "HGET", "LRANGE", "RENAME", "COPY"],
]);
const SCRIPTS = new Set(["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"]);

/** The keys a command names (the keys it reads, writes or deletes). */
function keysIn({ name, args }: Command): string[] {
  if (VARIADIC.has(name)) return args;
  if (ONE_KEY.has(name)) return args.slice(0, 1);
  if (name === "MSET") return args.filter((_, i) => i % 2 === 0);
  if (SCRIPTS.has(name)) return args.slice(2, 2 + Number(args[1] ?? 0));
  return [];
}

/** SCAN's COUNT, if given. */
function countOf({ args }: Command): number | undefined {
  const at = args.findIndex((arg) => arg.toUpperCase() === "COUNT");
  return at < 0 ? undefined : Number(args[at + 1]);
}

/** Commands that read a key's value, not just its name. */
const VALUE_READS = new Set(["GET", "MGET", "GETEX", "HGETALL", "DUMP"]);
/** Something a call made Redis pay that a walk a page at a time does not. */
type Cost =
  | { kind: "KEYS" }
  | { kind: "flush"; command: string }
  | { kind: "scan-count"; count: number }
  | { kind: "script" }
  | { kind: "big"; command: string; keys: number }
  | { kind: "transaction"; keys: number }
  | { kind: "per-key"; commands: number; keys: number }
  | { kind: "others"; keys: string[] }
  | { kind: "values"; command: string }
  | { kind: "refused"; commands: number };

/** What COMMANDS (one call's) cost Redis: nothing when they walked a page at a time. */
function costOf(commands: Command[], prefix: string, keysInDatabase: number, op?: Op): Cost[] {
  const costs: Cost[] = [];
  // Counting needs the keys only: reading their values too is every session's data for a number.
  const read = commands.find((command) => VALUE_READS.has(command.name));
  if (op === "length" && read) costs.push({ kind: "values", command: read.name });
  const add = (cost: Cost) => {
    if (!costs.some((known) => known.kind === cost.kind)) costs.push(cost);
  };
  const others = new Set<string>();
  let script: { scans: number; keys: number } | undefined;
  // MONITOR shows a transaction as MULTI, its commands as they run, then EXEC.
  let transaction: { keys: number } | undefined;
  const endScript = () => {
    if (script && (script.scans > 1 || script.keys > MOST_KEYS_PER_COMMAND))
      add({ kind: "script" });
    script = undefined;
  };
  for (const command of commands) {
    if (command.name === "ECHO") continue; // the check's own marker
    if (!command.lua) endScript();
    if (SCRIPTS.has(command.name)) script = { scans: 0, keys: 0 };
    const keys = keysIn(command);
    if (command.name === "MULTI") transaction = { keys: 0 };
    else if (command.name === "EXEC" || command.name === "DISCARD") {
      if (transaction && transaction.keys > MOST_KEYS_PER_COMMAND)
        add({ kind: "transaction", keys: transaction.keys });
      transaction = undefined;
    } else if (transaction) transaction.keys += keys.length;
    if (command.name === "KEYS") add({ kind: "KEYS" });
    if (command.name === "FLUSHDB" || command.name === "FLUSHALL") {
      add({ kind: "flush", command: command.name });
    }
    const count = command.name === "SCAN" ? countOf(command) : undefined;
    if (count !== undefined && count > MOST_KEYS_PER_COMMAND) add({ kind: "scan-count", count });
    if (keys.length > MOST_KEYS_PER_COMMAND && !SCRIPTS.has(command.name)) {
      add({ kind: "big", command: command.name, keys: keys.length });
    }
    if (command.lua && script) {
      if (command.name === "SCAN") script.scans++;
      script.keys += keys.length;
    }
    for (const key of keys) if (!key.startsWith(prefix)) others.add(key);
  }
  endScript();
  const sent = commands.filter((command) => !command.lua && command.name !== "ECHO").length;
  if (sent > commandsAllowed(keysInDatabase)) {
    add({ kind: "per-key", commands: sent, keys: keysInDatabase });
  }
  if (others.size > 0) add({ kind: "others", keys: [...others].sort().slice(0, 3) });
  return costs;
}

/** The admin's call on SIDE: what it answered (with the database as it was) and its cost. */
async function admin(
  env: Environment,
  a: Extract<Action, { do: "admin" }>,
  side: Side,
): Promise<Answer> {
  const { Store, client, db } = stateOf(env, side);
  const prefix = prefixOf(a);
  const adminClient = env.sides.admin(side.name);
  const state = stateOf(env, side);
  const keysInDatabase = await adminClient.dbSize();
  const ops: StoreOp[] = a.op === "page" ? ["length", "all"] : [a.op];
  // Keys under the prefix that hold no session: a count may leave them out.
  const leftovers = ops.includes("length") ? await adminClient.exists(prefix + LEFTOVER) : 0;
  const held = leftovers > 0 ? await keysUnder(adminClient, prefix) : 0;
  // One store per prefix for the whole scenario, as an app keeps one for the process.
  const store = state.stores.get(prefix) ?? new Store({ client, prefix });
  state.stores.set(prefix, store);
  state.calls.set(prefix, (state.calls.get(prefix) ?? 0) + 1);
  const refusedBefore = await refusedSoFar(adminClient, state.user);
  const mark = env.log.mark(db);
  const stalled = state.stallNext;
  state.stallNext = false;
  if (stalled) await adminClient.sendCommand(["CLIENT", "PAUSE", String(STALL_MS), "WRITE"]);
  // A stall ends once both sides' calls have answered (or one hung: then at STALL_MS).
  const stallOver = async () => {
    if (stalled && ++env.stalledAnswers === 2) {
      await adminClient.sendCommand(["CLIENT", "UNPAUSE"]);
    }
  };
  const withinMs = stalled ? STALLED_ANSWER_WITHIN_MS : ANSWER_WITHIN_MS;
  // At the answer, a marker down the store's own connection: whatever the store sends after
  // it, it sent after saying it was done.
  const marker = `answered-${++env.answers}`;
  let echoed: Promise<unknown> = Promise.resolve();
  // Once every call has answered (two at once for an admin page).
  let waiting = ops.length;
  const answered = () => {
    if (--waiting === 0) echoed = client.echo(marker).catch(() => {});
  };
  const calls = await Promise.all(ops.map((op) => call(store, op, a.via, answered, withinMs)))
    .finally(stallOver)
    .catch(async (error: unknown) => {
      // Hung: say also what it had cost Redis by then (a walk of a key per command is slow).
      const costs = costOf(await env.log.since(db, mark), prefix, keysInDatabase);
      if (!(error instanceof Wrong) || costs.length === 0) throw error;
      const said = costs.map((cost) => `meanwhile, it ${costSaid(cost)}`).join("\n");
      throw new Wrong(`${error.what}\n${said}`);
    });
  const results = calls.map((c) => c.result);
  const counted = results[ops.indexOf("length")];
  // What an admin sees the moment the call says it is done.
  const left = a.op === "clear" ? await keysUnder(adminClient, prefix) : 0;
  // The marker has run once Redis ran what the store sent before it (a held write holds it).
  await Promise.race([echoed, new Promise((resolve) => setTimeout(resolve, ANSWER_WITHIN_MS))]);
  // Until the store's connection is quiet: a store that answered early is still at work.
  let commands = await env.log.since(db, mark);
  for (let quiet = 0, rounds = 0; quiet < 2 && rounds < 100; rounds++) {
    const more = await env.log.since(db, mark);
    quiet = more.length === commands.length ? quiet + 1 : 0;
    commands = more;
  }
  // Commands Redis ran after the answer: the call said "done" before it was.
  const at = commands.findIndex((command) => command.name === "ECHO" && command.args[0] === marker);
  const late = at < 0 ? 0 : commands.slice(at + 1).filter((command) => !command.lua).length;
  const refused = (await refusedSoFar(adminClient, state.user)) - refusedBefore;
  const cost = costOf(commands, prefix, keysInDatabase, a.op === "page" ? undefined : a.op);
  if (refused > MOST_REFUSED) cost.push({ kind: "refused", commands: refused });
  const body: AdminBody = {
    results,
    early: late > 0 ? { commands: late, left } : undefined,
    withLeftovers:
      leftovers > 0 && counted && "answered" in counted && counted.answered === held
        ? leftovers
        : undefined,
    calledBack: Math.max(...calls.map((c) => c.callbacks())),
    rejectedToo: calls.some((c) => c.rejectedToo()),
    cost,
  };
  return { status: 200, text: JSON.stringify(body), header: () => undefined, setCookies: [] };
}

interface AdminBody {
  /** What each call answered: one, or length()'s then all()'s for an admin page. */
  results: Outcome[];
  /** How many keys that hold no session a count counted too, when it counted every key. */
  withLeftovers: number | undefined;
  /** Commands sent after the answer, and the store's keys left when it answered. */
  early: { commands: number; left: number } | undefined;
  calledBack: number;
  rejectedToo: boolean;
  cost: Cost[];
}

/** What the admin's call answered, normalised: ids of visitors' sessions shown as #1, #2… */
function adminBody(a: Extract<Action, { do: "admin" }>, raw: AdminBody, side: Side) {
  const prefix = prefixOf(a);
  const answerOf = (op: StoreOp, result: Outcome | undefined): unknown => {
    if (!result) return undefined;
    if ("answered" in result) {
      if (op === "length") return result.answered;
      if (op === "clear") return "done";
      return sessionsAnswered(result.answered, prefix, side);
    }
    if ("error" in result) return "(an error)";
    return result;
  };
  const answer =
    a.op === "page"
      ? { length: answerOf("length", raw.results[0]), all: answerOf("all", raw.results[1]) }
      : answerOf(a.op, raw.results[0]);
  const body: Record<string, unknown> = { answer, cost: raw.cost };
  if (raw.early) body.workedAfterAnswering = raw.early;
  if (raw.withLeftovers) body.withLeftovers = raw.withLeftovers;
  if (raw.calledBack > 1) body.calledBack = raw.calledBack;
  if (raw.rejectedToo) body.rejectedToo = true;
  return body;
}

/** all()'s answer: the visitors' sessions by label, the written ones counted, strangers named. */
function sessionsAnswered(answered: unknown, prefix: string, side: Side) {
  if (typeof answered !== "object" || answered === null || Array.isArray(answered)) {
    return `(not sessions by id: ${JSON.stringify(answered)?.slice(0, 60)})`;
  }
  const visitors: Record<string, unknown> = {};
  let written = 0;
  let visits = 0;
  const strangers: string[] = [];
  const notSessions: string[] = [];
  for (const [id, session] of Object.entries(answered as Record<string, SessionData>)) {
    const label = side.labels.get(prefix + id);
    if (!isObject(session) || !isObject((session as { cookie?: unknown }).cookie)) {
      notSessions.push(`${id}: ${JSON.stringify(session)}`);
    } else if (id.startsWith(BULK)) {
      written++;
      visits += Number(session?.visits ?? 0);
    } else if (label && prefix === APP_PREFIX) {
      visitors[label] = { visits: session?.visits };
    } else {
      strangers.push(id);
    }
  }
  return {
    visitors,
    written: { count: written, visits },
    ...(strangers.length > 0 ? { notThisStoresIds: strangers.sort().slice(0, 3) } : {}),
    ...(notSessions.length > 0 ? { notSessions: notSessions.sort().slice(0, 3) } : {}),
  };
}

// ---- Rules: what is wrong at a step where your store and the reference differ, in words.

type S = Step<Action>;
const WILDCARDS = /[*?[\]\\]/;
/** Characters a RegExp reads as a pattern and SCAN's MATCH does not. */
const REGEXP_ONLY = /[.+^$(){}|]/;
function how(a: Extract<Action, { do: "admin" }>): string {
  if (a.op === "page") {
    return a.via === "await"
      ? "await Promise.all([store.length(), store.all()])"
      : "store.length(callback) and store.all(callback)";
  }
  return a.via === "await" ? `await store.${a.op}()` : `store.${a.op}(callback)`;
}

/** Why a prefix with wildcards in it goes wrong, when it does. */
const patternHint = (prefix: string) =>
  WILDCARDS.test(prefix)
    ? `\n  (if your walk puts the prefix in SCAN's MATCH: "${prefix}" holds characters that MATCH reads as a pattern, * ? [ ] \\, so "${prefix}*" matches other apps' keys and misses this store's own; escape them, or check each key's start)`
    : REGEXP_ONLY.test(prefix)
      ? `\n  (if your walk reads the prefix as a RegExp: "${prefix}" holds characters a RegExp reads as a pattern, such as ".", which matches any character; a prefix is text: compare each key's start with it, or escape every character a RegExp reads specially)`
      : "";

/** A cost, in words. */
function costSaid(cost: Cost): string {
  switch (cost.kind) {
    case "KEYS":
      return "used KEYS: it walks every key of Redis in one command, and Redis answers nobody else until it is done (with a million keys, every app on this Redis waits)";
    case "flush":
      return `emptied the whole database (${cost.command}): every other app's keys went with the sessions`;
    case "scan-count":
      return `asked SCAN for ${cost.count} keys at once (COUNT ${cost.count}): one command over every key; a page is about 100`;
    case "script":
      return "ran one script over every key: Redis runs a whole script as one command, so nobody else is served until it ends";
    case "transaction":
      return `sent ${cost.keys} keys in one MULTI/EXEC: a transaction runs whole, and Redis answers nobody else until it ends, however many commands it holds; send each page on its own`;
    case "big":
      return `sent ${cost.keys} keys in one command (${cost.command}): Redis answers nobody else while it runs; carry a page (about 100 keys) per command`;
    case "per-key":
      return `sent one command per key, or nearly (${cost.commands} commands for the ${cost.keys} keys of the database): a million sessions would be a million commands; one command per page`;
    case "values":
      return `read the sessions' values (${cost.command}) to count them: a count needs the keys alone, and every session's data crossed the network for one number`;
    case "refused":
      return `kept sending commands that Redis refused (${cost.commands} refused in one call): when Redis says no, pass its error on at once; trying again and again without a pause hammers a Redis that is already in trouble, and the caller waits for nothing`;
    case "others":
      return `read or wrote another app's keys (${cost.keys.join(", ")}): only keys that start with the store's prefix are its own`;
  }
}

function costRule({ action: a, yours: y, reference: r }: S) {
  if (a.do !== "admin") return undefined;
  const theirs = JSON.stringify((r.body as { cost?: Cost[] }).cost ?? []);
  const mine = ((y.body as { cost?: Cost[] }).cost ?? []).filter(
    (cost) => !theirs.includes(JSON.stringify(cost)),
  );
  if (mine.length === 0) return undefined;
  return mine.map((cost) => `${how(a)} on "${prefixOf(a)}" ${costSaid(cost)}`).join("\n");
}

type Answered = Record<string, unknown> | string | number;

/** What is wrong with ANSWER, one call's (OP, called as CALL), where the reference got EXPECTED. */
function answerSaid(
  op: StoreOp,
  call: string,
  answer: Answered,
  expected: Answered,
  prefix: string,
): string[] {
  const said: string[] = [];
  if (typeof answer === "object" && answer !== null && "noPromise" in answer) {
    said.push(
      `${call} got nothing: without a callback, ${op}() must answer with a promise (a tool awaits it)`,
    );
  } else if (typeof answer === "object" && answer !== null && "resultAsError" in answer) {
    said.push(
      `${call} called back with its result in the error's place (${String(answer.resultAsError)}): a store's callback is (error, result), so (null, result) when it worked`,
    );
  } else if (op === "length" && answer === null && typeof expected === "number") {
    said.push(
      `${call} called back with no count: a store's callback is (error, result), so (null, count) when it worked`,
    );
  } else if (typeof answer === "object" && answer !== null && "threw" in answer) {
    said.push(
      `${call} threw (${String(answer.threw)}) instead of passing the error on: express-session expects the callback, a tool a rejected promise`,
    );
  } else if (expected === "(an error)" && answer !== "(an error)") {
    said.push(
      `claimed success though Redis failed: ${call} answered ${JSON.stringify(answer)} where the reference got an error from Redis; pass the error on (the callback's first argument, or a rejected promise), so that nobody believes it worked`,
    );
  } else if (answer === "(an error)" && expected !== "(an error)") {
    said.push(`${call} failed where the reference answered ${JSON.stringify(expected)}`);
  } else if (JSON.stringify(answer) !== JSON.stringify(expected)) {
    if (op === "length" && typeof answer === "number" && typeof expected === "number") {
      said.push(
        answer > expected
          ? `${call} counted keys that are not this store's sessions: it answered ${answer}, the store holds ${expected}${patternHint(prefix)}`
          : `${call} missed this store's sessions: it answered ${answer}, the store holds ${expected}${patternHint(prefix)}`,
      );
    } else if (op === "all" && typeof answer === "object" && typeof expected === "object") {
      const strangers = (answer as { notThisStoresIds?: string[] }).notThisStoresIds;
      const notSessions = (answer as { notSessions?: string[] }).notSessions;
      if (notSessions) {
        said.push(
          `${call} answered entries that are not sessions (${notSessions.join(", ")}): a key whose value is gone (expired since SCAN saw it), or is no string (a hash: MGET reads nothing for it), is left out`,
        );
      }
      if (strangers) {
        said.push(
          `${call} answered ids that are not the session ids of this store (${strangers.join(", ")}): an id is the key without the prefix, and only this store's keys count${patternHint(prefix)}`,
        );
      }
      const count = (o: object) =>
        Object.keys((o as { visitors: object }).visitors).length +
        (o as { written: { count: number } }).written.count;
      if (!strangers && count(answer) < count(expected)) {
        said.push(
          `${call} missed this store's sessions: ${count(answer)} of ${count(expected)}${patternHint(prefix)}`,
        );
      }
    }
    if (said.length === 0) {
      said.push(
        `${call} answered ${JSON.stringify(answer)} where ${JSON.stringify(expected)} was expected`,
      );
    }
  }
  return said;
}

function answerRule({ action: a, yours: y, reference: r, referenceSide }: S, env: Environment) {
  if (a.do !== "admin") return undefined;
  const mine = y.body as Record<string, unknown>;
  const theirs = r.body as Record<string, unknown>;
  const said: string[] = [];
  const call = how(a);
  const prefix = prefixOf(a);
  if (a.op === "page") {
    const answers = mine.answer as Record<string, unknown>;
    const expected = theirs.answer as Record<string, unknown>;
    for (const [part, other] of [
      ["length", "all"],
      ["all", "length"],
    ] as const) {
      const partCall = a.via === "await" ? `await store.${part}()` : `store.${part}(callback)`;
      said.push(
        ...answerSaid(
          part,
          `${partCall} (at the same time as ${other}())`,
          answers[part] as Answered,
          expected[part] as Answered,
          prefix,
        ),
      );
    }
    if (said.length > 0) {
      said.push(
        "  (two calls at the same time on one store: each walks on its own, so what a walk keeps as it goes (its cursor, the keys it found) belongs to the call, not to the store)",
      );
    }
  } else {
    said.push(
      ...answerSaid(a.op, call, mine.answer as Answered, theirs.answer as Answered, prefix),
    );
  }
  const calls = stateOf(env, referenceSide).calls.get(prefix) ?? 0;
  if (said.length > 0 && calls > 1 && a.op !== "clear") {
    said.push(
      `  (this store was called ${calls - 1} time(s) before in this scenario: an app keeps one store for the whole process, so each call must ask Redis again, not answer from what an earlier call saw or left on the store)`,
    );
  }
  const early = mine.workedAfterAnswering as { commands: number; left: number } | undefined;
  if (early && !theirs.workedAfterAnswering && said.length === 0) {
    const left =
      a.op === "clear" && early.left > 0
        ? `, with ${early.left} of the store's keys still there when it said done`
        : "";
    said.push(
      `${call} answered before it was done: Redis got ${early.commands} more of its commands after it answered${left}; answer once Redis has answered every command`,
    );
  }
  if (mine.calledBack && !theirs.calledBack) {
    said.push(`${call} called back ${String(mine.calledBack)} times: a callback is called once`);
  }
  if (mine.rejectedToo) {
    said.push(
      `${call} called back with the error AND rejected the promise it returned: express-session never awaits it, and an unhandled rejection stops the process`,
    );
  }
  return said.join("\n") || undefined;
}

interface Entry {
  written?: string;
  count?: number;
  gone?: string[];
  changed?: string[];
  stranger?: string;
  visits?: unknown;
}

function storeRule({ action: a, yours: y, reference: r }: S) {
  const said: string[] = [];
  const after = a.do === "admin" ? `after ${how(a)} on "${prefixOf(a)}"` : `after ${describe(a)}`;
  const own = a.do === "admin" ? prefixOf(a) : undefined;
  for (const label of new Set([...Object.keys(r.store), ...Object.keys(y.store)])) {
    const mine = y.store[label] as Entry | undefined;
    const theirs = r.store[label] as Entry | undefined;
    if (JSON.stringify(mine) === JSON.stringify(theirs)) continue;
    if (mine?.gone || mine?.changed) {
      const gone = mine.gone ?? [];
      const changed = mine.changed ?? [];
      if (gone.length > 0) {
        said.push(
          `${after}, ${gone.length > 1 ? `${gone.length} keys of other apps are gone` : "another app's key is gone"}: ${gone.join(", ")}; only keys that start with the store's prefix are its own`,
        );
      }
      if (changed.length > 0) {
        said.push(`${after}, another app's keys changed: ${changed.join(", ")}`);
      }
    } else if (
      mine?.written !== undefined &&
      theirs?.count !== undefined &&
      mine.count !== undefined
    ) {
      const where = `the sessions written under "${mine.written}"`;
      if (mine.written !== own && mine.count < theirs.count) {
        said.push(
          `${after}, another app's keys are gone: ${theirs.count - mine.count} of ${where}; only keys that start with the store's prefix are its own`,
        );
      } else if (mine.count > theirs.count && a.do === "admin" && a.op === "clear") {
        said.push(
          `${after}, this store's sessions are still in Redis: ${mine.count - theirs.count} of ${where}`,
        );
      } else {
        said.push(
          `${after}, Redis holds ${mine.count} of ${where} where the reference holds ${theirs.count}`,
        );
      }
    } else if (mine?.stranger) {
      said.push(`${after}, Redis holds a key nobody should have written: ${mine.stranger}`);
    } else if (!theirs && mine) {
      said.push(
        a.do === "admin" && a.op === "clear"
          ? `${after}, this store's sessions are still in Redis: a visitor's session (${label})`
          : `${after}, Redis still holds a visitor's session (${label}) that the reference no longer holds`,
      );
    } else if (theirs && !mine) {
      said.push(
        `${after}, a visitor's session (${label}) is gone from Redis, where the reference kept it`,
      );
    } else {
      said.push(
        `${after}, Redis holds ${JSON.stringify(mine)} where the reference holds ${JSON.stringify(theirs)}`,
      );
    }
  }
  if (said.length === 0) return undefined;
  return said.join("\n") + (own ? patternHint(own) : "");
}

function visitRule({ action: a, yours: y, reference: r }: S) {
  if (a.do !== "visit") return undefined;
  if (y.status !== r.status)
    return `GET / answered ${y.status} where the reference answered ${r.status}`;
  if (JSON.stringify(y.body) !== JSON.stringify(r.body)) {
    return `GET / answered ${JSON.stringify(y.body)} where the reference answered ${JSON.stringify(r.body)}: the visitor's session is not what it should be`;
  }
  return undefined;
}

// ---- The model.

const who = fc.constantFrom(0, 0, 1, 2);
// Listed first, drawn most often and shrunk towards: a prefix with wildcards in it.
const prefix = fc.constantFrom(1, 0, 2, 3, 4, 5, 6, 7);
const actions: fc.Arbitrary<Action>[] = [
  fc.record({ do: fc.constant("visit" as const), who }),
  fc.record({ do: fc.constant("sessions" as const), prefix, count: fc.constantFrom(MANY, 3, 40) }),
  fc.record({ do: fc.constant("leftover" as const), prefix }),
  fc.record({
    do: fc.constant("admin" as const),
    op: fc.constantFrom<Op>("clear", "all", "length", "page"),
    prefix,
    via: fc.constantFrom<"callback" | "await">("callback", "await"),
  }),
  // The fault first: it is what the lesson is about when a walk fails.
  fc.record({
    do: fc.constant("fault" as const),
    fault: fc.constantFrom<Fault>("read-only", "down"),
  }),
];
const weights = [3, 3, 1, 5, 1];

async function perform(env: Environment, a: Action, side: Side): Promise<Answer | undefined> {
  const state = stateOf(env, side);
  const adminClient = env.sides.admin(side.name);
  switch (a.do) {
    case "visit":
      return side.visitors[a.who]?.send("GET", "/", { accept: "application/json" });
    case "sessions": {
      const prefix = prefixOf(a);
      const written: [string, string][] = [];
      for (let i = 0; i < a.count; i++) {
        const session = { cookie: { path: "/" }, visits: 1 + (i % 3) };
        const id = `${BULK}${String(state.written++).padStart(4, "0")}`;
        written.push([prefix + id, JSON.stringify(session)]);
      }
      // One MSET (no TTL: the check's sessions never expire during a scenario).
      await adminClient.mSet(written);
      return undefined;
    }
    case "leftover":
      await adminClient.hSet(prefixOf(a) + LEFTOVER, { owner: "a tool from 2019" });
      return undefined;
    case "fault": {
      if (a.fault === "stalled") {
        state.stallNext = true;
        return undefined;
      }
      if (a.fault === "midway") {
        const refused = await lastKeyOfWalk(adminClient, prefixOf({ prefix: a.prefix ?? 0 }));
        if (!refused) return undefined;
        // Reading or deleting that one key is refused; every other command and key works.
        const allowed = allButKey(refused).map((pattern) => `~${pattern}`);
        await adminClient.sendCommand([
          "ACL",
          "SETUSER",
          state.user,
          ...PAGE_COMMANDS.map((c) => `-${c}`),
        ]);
        await adminClient.sendCommand([
          "ACL",
          "SETUSER",
          state.user,
          `(${[...allowed, ...PAGE_COMMANDS.map((c) => `+${c}`)].join(" ")})`,
        ]);
        return undefined;
      }
      const rules = a.fault === "down" ? ["off"] : ["-@write"];
      await adminClient.sendCommand(["ACL", "SETUSER", state.user, ...rules]);
      if (a.fault === "down") await adminClient.sendCommand(["CLIENT", "KILL", "USER", state.user]);
      return undefined;
    }
    case "admin":
      return admin(env, a, side);
  }
}

/** The commands a walk reads or deletes a page with: a "midway" fault refuses one key to them. */
const PAGE_COMMANDS = ["mget", "unlink", "del"];

/** The key under PREFIX that a walk reaches last (SCAN's order is the same for every COUNT). */
async function lastKeyOfWalk(admin: RedisClient, prefix: string): Promise<string | undefined> {
  let last: string | undefined;
  for await (const page of admin.scanIterator({ COUNT: 100 }))
    for (const key of page) if (key.startsWith(prefix)) last = key;
  return last;
}

/** ACL key patterns for every key but KEY (a pattern cannot say "not", so: how it differs). */
function allButKey(key: string): string[] {
  const literal = (text: string) => [...text].map((c) => `\\${c}`).join("");
  const patterns = [`${literal(key)}?*`];
  [...key].forEach((c, i) => {
    patterns.push(`${"?".repeat(i)}[^\\${c}]*`);
    if (i > 0) patterns.push(literal(key.slice(0, i)));
  });
  return patterns;
}

function model(module: Module, env: Environment, examples: Action[][]): Model<Action> {
  return {
    visitors: 3,
    action: fc.oneof(...actions.map((arbitrary, i) => ({ arbitrary, weight: weights[i] ?? 1 }))),
    examples,
    describe,
    actor: (a) => (a.do === "visit" ? a.who : undefined),
    perform: (a, side) => perform(env, a, side),
    body: (a, answer, side) => {
      if (a.do === "admin") return adminBody(a, JSON.parse(answer.text) as AdminBody, side);
      return answer.status >= 400 ? "(an error)" : (JSON.parse(answer.text) as unknown);
    },
    cookie: (line) => line.slice(0, line.indexOf("=")),
    session: (data) => data,
    allowed: [
      {
        name: "any 5xx when Redis fails",
        apply: (o) => (o.status >= 500 ? { ...o, status: 500, cookies: [] } : o),
      },
      {
        name: "length() counts, or leaves out, keys under the prefix that hold no session",
        apply: (o, a) => {
          if (a.do !== "admin" || (a.op !== "length" && a.op !== "page")) return o;
          const { withLeftovers, ...body } = o.body as {
            answer: number | { length: number; all: unknown };
            withLeftovers?: number;
          };
          if (!withLeftovers) return o;
          const answer =
            typeof body.answer === "number"
              ? body.answer - withLeftovers
              : { ...body.answer, length: body.answer.length - withLeftovers };
          return { ...o, body: { ...body, answer } };
        },
      },
      {
        // A page deleted before another failed is gone: how many went depends on the page size.
        name: "what a clear that failed part-way had deleted before it failed",
        apply: (o, a) => {
          if (a.do !== "admin" || a.op !== "clear") return o;
          if ((o.body as { answer?: unknown }).answer !== "(an error)") return o;
          const store = Object.fromEntries(
            Object.entries(o.store).map(([label, entry]) =>
              (entry as Entry).written === prefixOf(a)
                ? [label, { written: prefixOf(a), count: "(some, or none)" }]
                : [label, entry],
            ),
          );
          return { ...o, store };
        },
      },
      {
        // Judged by what the walk cost (the body's `cost`), not by its commands one by one:
        // COUNT 10 or 100, DEL or UNLINK, MGET or a script per page are all a page at a time.
        name: "which commands a walk sends, and how many, as long as each carries a page",
        apply: (o, a) => (a.do === "admin" ? { ...o, traffic: {} } : o),
      },
    ],
    rules: [costRule, (step) => answerRule(step, env), storeRule, visitRule],
    probe: async (name) => {
      const probe = await env.sides.probe(name);
      probe.sessions = () => snapshot(env.sides.admin(name));
      return probe;
    },
    createApp: (side) => build(env, side, module.PagedSessionStore),
    createReference: (side) => build(env, side, reference.PagedSessionStore),
  };
}

const A = 0;
const B = 1;
const [SESS, SHOP, V2, EU, APP, DASH, TWO_CLASSES, DOT, PLUS] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const visit = (who: number): Action => ({ do: "visit", who });
const sessions = (prefix: number, count = MANY): Action => ({ do: "sessions", prefix, count });
const length = (prefix: number, via: "callback" | "await" = "callback"): Action => ({
  do: "admin",
  op: "length",
  prefix,
  via,
});
const all = (prefix: number, via: "callback" | "await" = "callback"): Action => ({
  do: "admin",
  op: "all",
  prefix,
  via,
});
const clear = (prefix: number, via: "callback" | "await" = "callback"): Action => ({
  do: "admin",
  op: "clear",
  prefix,
  via,
});
const page = (prefix: number, via: "callback" | "await" = "callback"): Action => ({
  do: "admin",
  op: "page",
  prefix,
  via,
});
const fault = (kind: Fault, prefix?: number): Action => ({ do: "fault", fault: kind, prefix });

export default defineCheck<Module>({
  entry: "paged-session-store.ts",
  cases: [
    {
      name: "length, all and clear answer like the reference, a page at a time, touching only the store's own keys",
      timeoutMs: 60_000,
      run: async ({ module, redis }) => {
        const env = await startEnvironment(await redis());
        return differential(
          model(module, env, [
            // Visitors, then the admin: a count, the sessions, everybody logged out.
            [visit(A), visit(B), visit(A), length(SESS), all(SESS, "await")],
            [visit(A), visit(B), clear(SESS, "await"), visit(A), all(SESS)],
            // Redis down, or refusing writes: every call must say so.
            [visit(A), fault("down"), length(SESS, "await"), all(SESS), clear(SESS)],
            [sessions(SESS), fault("read-only"), clear(SESS)],
            // Enough sessions for several pages.
            // The count and the sessions, a new session, then both again: each call asks Redis.
            [sessions(SESS), page(SESS), visit(A), all(SESS), length(SESS, "await")],
            [sessions(SESS), clear(SESS), visit(A)],
            // Prefixes with wildcards in them, beside other apps' keys that they would match.
            [sessions(SHOP, 40), length(SHOP), all(SHOP, "await"), clear(SHOP, "await")],
            [sessions(V2, 40), clear(V2), length(V2, "await")],
            [sessions(EU, 40), all(EU, "await"), clear(EU), length(EU)],
            [sessions(APP, 40), length(APP, "await"), all(APP), clear(APP, "await")],
            [sessions(DASH, 3), all(DASH), clear(DASH, "await"), length(DASH)],
            [sessions(TWO_CLASSES, 5), length(TWO_CLASSES), all(TWO_CLASSES), clear(TWO_CLASSES)],
            [sessions(DOT, 40), length(DOT, "await"), all(DOT), clear(DOT)],
            [sessions(PLUS, 40), length(PLUS), all(PLUS, "await"), clear(PLUS)],
            [sessions(SHOP), sessions(SESS, 3), all(SHOP), clear(SESS), length(SHOP, "await")],
            [sessions(SESS), fault("down"), all(SESS, "await"), length(SESS)],
            // Answers first, then Redis down: what the calls answered before is no answer now.
            [
              sessions(SESS, 40),
              length(SESS),
              all(SESS),
              fault("down"),
              length(SESS, "await"),
              all(SESS),
            ],
            // A few sessions among thousands of other keys: most pages of a walk hold none of them.
            [sessions(DASH, 2000), sessions(SESS, 3), length(SESS), all(SESS), clear(SESS)],
            // A key under the prefix that holds no session.
            [{ do: "leftover", prefix: SESS }, visit(A), all(SESS), length(SESS, "await")],
            // One store for the process, and an admin page asking for the count and the sessions
            // at once: two walks side by side, and calls after a clear ask Redis again.
            [sessions(SESS), visit(A), page(SESS, "await"), clear(SESS), page(SESS)],
            // More sessions than an admin page would show: all() answers every one.
            [sessions(SESS, 1500), all(SESS, "await")],
            // Redis fails part-way through a walk, after its first pages worked.
            [sessions(SHOP), fault("midway", SHOP), all(SHOP, "await"), clear(SHOP)],
            // Redis holds writes longer than the app's client waits: clear() waits for its
            // deletes, so it fails, and says so.
            [sessions(SESS, 40), fault("stalled"), clear(SESS, "await"), length(SESS)],
          ]),
          { runs: 6, maxActions: 6, shrinkTries: 20 },
        );
      },
    },
  ],
});
