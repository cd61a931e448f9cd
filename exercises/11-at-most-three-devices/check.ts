/**
 * Exercise 11: a login beyond three sessions of one user ends that user's least recently seen
 * other sessions, through the store, out of the index; at most three left, even when logins
 * of one user arrive at the same moment.
 *
 * A differential check (test/checks/differential.ts, test/checks/redis-probe.ts): scenarios of
 * six browsers (A to E are ada, F is eve), drawn at random, run on your app and on the
 * reference side by side, each in a Redis database of its own and as two processes that take
 * requests in turn (twoProcesses). Logins one at a time, or two or three of ada's sent at once
 * (or the others sent while the first one's login is ending a session); visits (GET /me)
 * between them, which change who was seen last; logouts; a store whose destroy() fails.
 * Classic scenarios add a store whose destroy() is slow, one whose destroy() hangs (a minute
 * without an answer, during which the timers the app set run; then it fails), the others' logins
 * sent once the first one has read the index, a session Redis drops on its own (its index entry
 * left behind) and a session that ran out (its key gone, its entry's score past).
 * After every step the check compares the answers, the sessions in Redis (which live, so which
 * browsers are still logged in), each user's index (user-sessions:<user>), the tombstones of
 * ended sessions (step 05's ended:<id>: a late write cannot bring them back), whether a login
 * answered before its destroy() calls and its changes to the index were confirmed, and the
 * commands sent (no SCAN or KEYS over every session).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import express, { type Express } from "express";
import type session from "express-session";
import fc from "fast-check";
import { FinalLogoutStore } from "../../steps/05-login-logout/final-logout.ts";
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
import { defineCheck } from "../../test/checks/kit.ts";
import { RedisSides } from "../../test/checks/redis-probe.ts";
import * as reference from "./solution/app.ts";

type Module = typeof import("./solution/app.ts");

/** Who each browser logs in as. */
const USERS = ["ada", "ada", "ada", "ada", "ada", "eve"] as const;
const LIMIT = 3;
const LETTERS = "ABCDEF";
const name = (i: number) => LETTERS[i] ?? "?";
const userOfLetter = (letter: string) => USERS[LETTERS.indexOf(letter)];
const JSON_CLIENT = { accept: "application/json" };

type Action =
  | { do: "login"; who: number }
  // Logins of several browsers, sent at the same moment; or, STAGGERED, the first alone, the
  // others once it is ending a session (its destroy() held until they have answered), or,
  // AT READ, once it has read the user's index (that answer held until they have answered).
  | { do: "together"; who: number[]; staggered?: boolean; atRead?: boolean }
  | { do: "visit"; who: number }
  | { do: "logout"; who: number }
  | { do: "store"; fault: Fault }
  | { do: "evict"; who: number } // Redis drops this browser's session on its own
  | { do: "expire"; who: number }; // this browser's session ran out (its expiry is past)

/**
 * How the store's destroy() behaves: as it should, failing, slow (then as it should), or hanging
 * (a minute without an answer, during which the app's timers run; then it fails).
 */
type Fault = "works" | "fails" | "slow" | "hangs";
/** How long a slow store's destroy() takes (ms): an answer that stops waiting sooner is seen. */
const SLOW_MS = 300;
/** At most this long (ms), a staggered step holds the first login's destroy() for the others. */
const HOLD_MS = 200;
/** How long a hanging store's destroy() goes without an answer, on the app's clock (ms). */
const HANG_MS = 60_000;

/** The session id inside a session cookie's value (s%3A<id>.<signature>). */
const idIn = (value: string | undefined) =>
  /^s:([^.]+)\./.exec(decodeURIComponent(value ?? ""))?.[1];
const idOf = (side: Side, who: number) => idIn(side.visitors[who]?.cookie(COOKIE_NAME));

function describe(a: Action): string {
  switch (a.do) {
    case "login":
      return `${name(a.who)}: POST /login as ${USERS[a.who]}`;
    case "together": {
      const [first = 0, ...rest] = a.who;
      const as = `POST /login as ${USERS[first]}`;
      if (a.staggered && a.atRead)
        return `${name(first)}: ${as}, and ${rest.map(name).join(", ")} the same once ${name(first)}'s login has read ${USERS[first]}'s index (the answer it read held until they have answered); then each GET /me, in turn`;
      return a.staggered
        ? `${name(first)}: ${as}, and ${rest.map(name).join(", ")} the same while ${name(first)}'s login is ending a session; then each GET /me, in turn`
        : `${a.who.map(name).join(", ")} at the same moment: ${as}; then each GET /me, in turn`;
    }
    case "visit":
      return `${name(a.who)}: GET /me`;
    case "logout":
      return `${name(a.who)}: POST /logout`;
    case "store":
      return {
        fails: "the store starts failing destroy() (a broken store)",
        works: "the store works again",
        slow: `the store becomes slow: each destroy() takes ${SLOW_MS} ms, then succeeds`,
        hangs:
          "the store hangs: each destroy() gets no answer for a minute (the app's timers run as it passes), then fails",
      }[a.fault];
    case "evict":
      return `Redis drops ${name(a.who)}'s session on its own (evicted: out of memory); the index still lists it`;
    case "expire":
      return `${name(a.who)}'s session runs out (its maxAge passes): Redis forgets it, and its score in the index is a time now past`;
  }
}

/** A step's clock: every request starts in a later millisecond than the last one ended. */
async function later(side: Side): Promise<void> {
  const last = Number(side.notes.lastAt ?? 0);
  while (Date.now() <= last) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Labels the sessions the browsers WHO now hold, in their order (not the store's). */
function label(side: Side, who: number[]): void {
  for (const i of who) {
    const id = idOf(side, i);
    if (id && !side.labels.has(id)) {
      const label = `#${side.labels.size + 1}`;
      side.labels.set(id, label);
      side.owners.set(label, name(i));
    }
  }
}

/**
 * The faults: while SIDE's store is broken, destroy() fails for a session that is stored; while
 * it is slow, it takes SLOW_MS first. A login's own regenerate() (which destroys the new
 * browser's id, never stored) still works at once, so the login gets as far as ending others.
 * In a staggered step, the first destroy() of a stored session sends the other logins, and
 * waits for their answers (HOLD_MS at most) before it goes on. Each store instance of this
 * scenario (one per process) is known from the first request it is handed to (watched).
 * Step 05's store is broken in its class, so that a destroy taken from it early
 * (`store.destroy.bind(store)` in createApp) fails too; a store of another class, on the
 * instance.
 */
const breakable = new WeakMap<object, { side: Side; sides: RedisSides }>();
const faultOf = (side: Side): Fault => (side.notes.fault as Fault | undefined) ?? "works";
/** A staggered step under way on a side: FIRE sends the other logins; ANSWERED, once they have. */
const staggers = new WeakMap<Side, { fire: () => void; answered: Promise<void> }>();
/** The same, at the first read of a user's index (watchIndexWrites holds its answer). */
const readStaggers = new WeakMap<Side, { fire: () => void; answered: Promise<void> }>();

/**
 * The app's time while the store hangs: each request runs in its side's context (watched), and
 * while SIDE's store hangs, each timer the app sets there is also noted, so that the minute of a
 * hanging destroy() fires it (passTime); it fires on its own too, as usual, if sooner.
 */
const inApp = new AsyncLocalStorage<Side>();
type Noted = { ms: number; fire: () => void; done: boolean };
const notedTimers = new WeakMap<Side, Noted[]>();
const notedByHandle = new WeakMap<object, Noted>();
const realTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const noting = ((run: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
  const side = inApp.getStore();
  if (!side || faultOf(side) !== "hangs") return realTimeout(run, ms, ...args);
  const noted: Noted = { ms: Number(ms ?? 0), done: false, fire: () => {} };
  const handle = realTimeout(() => noted.fire(), ms);
  noted.fire = () => {
    if (noted.done) return;
    noted.done = true;
    realClearTimeout(handle);
    run(...args);
  };
  notedByHandle.set(handle, noted);
  notedTimers.set(side, [...(notedTimers.get(side) ?? []), noted]);
  return handle;
}) as unknown as typeof setTimeout;
globalThis.setTimeout = Object.assign(noting, { __promisify__: realTimeout.__promisify__ });
globalThis.clearTimeout = ((handle?: Parameters<typeof clearTimeout>[0]) => {
  const noted = handle !== null && typeof handle === "object" && notedByHandle.get(handle);
  if (noted) noted.done = true;
  realClearTimeout(handle);
}) as typeof clearTimeout;
const settle = (ms: number) => new Promise((resolve) => realTimeout(resolve, ms));
/** MS pass for SIDE's app: the timers it set that are due by then fire, soonest first. */
async function passTime(side: Side, ms: number): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const due = (notedTimers.get(side) ?? []).filter((t) => !t.done && t.ms <= ms);
    if (!due.length) return;
    for (const timer of due.sort((x, y) => x.ms - y.ms)) timer.fire();
    await settle(5); // what they started, under way
  }
}
function breakableDestroy(
  this: session.Store,
  destroy: session.Store["destroy"],
  id: string,
  callback?: (error?: unknown) => void,
): void {
  const at = breakable.get(this);
  if (!at) {
    destroy.call(this, id, callback);
    return;
  }
  const { side, sides } = at;
  side.notes.pending = Number(side.notes.pending ?? 0) + 1;
  const done = (error?: unknown) => {
    side.notes.pending = Number(side.notes.pending) - 1;
    callback?.(error);
  };
  const fault = faultOf(side);
  if (fault === "works" && !staggers.has(side)) {
    destroy.call(this, id, done);
    return;
  }
  sides
    .admin(side.name)
    .exists(`sess:${id}`)
    .then(async (stored) => {
      if (!stored) return destroy.call(this, id, done);
      const stagger = staggers.get(side);
      if (stagger) {
        stagger.fire();
        await stagger.answered;
      }
      if (fault === "fails")
        return done(new Error("the session store failed to destroy (a fault the check injected)"));
      if (fault === "hangs") {
        // What the app starts alongside, started; then a minute passes for it, without an answer.
        await settle(20);
        await passTime(side, HANG_MS);
        await settle(20);
        return done(
          new Error("the session store gave destroy() no answer (a fault the check injected)"),
        );
      }
      if (fault === "slow") await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
      destroy.call(this, id, done);
    })
    .catch(done);
}
const finalDestroy = FinalLogoutStore.prototype.destroy;
FinalLogoutStore.prototype.destroy = function (this: FinalLogoutStore, id, callback) {
  breakableDestroy.call(this, finalDestroy, id, callback);
};
function makeBreakable(store: session.Store, side: Side, sides: RedisSides): void {
  if (breakable.has(store)) return;
  breakable.set(store, { side, sides });
  if (store instanceof FinalLogoutStore) return;
  const destroy = store.destroy;
  store.destroy = (id, callback) => breakableDestroy.call(store, destroy, id, callback);
}

/** A user's index; the commands that only read it. */
const INDEX_KEY = /^user-sessions:[a-z]+$/;
const READS = new Set(
  "ZRANGE ZRANGEBYSCORE ZREVRANGE ZREVRANGEBYSCORE ZRANGEBYLEX ZCARD ZCOUNT ZSCORE ZMSCORE ZRANK ZREVRANK ZSCAN EXISTS TYPE TTL PTTL EVAL_RO EVALSHA_RO".split(
    " ",
  ),
);

/**
 * CLIENT, the app's Redis client, watched: SIDE.notes.indexWrites counts the commands that
 * change a user's index (ZREM, ZREMRANGEBYRANK, a script or a MULTI's command naming it…) sent
 * and not yet answered, whatever way they are sent (every command goes through its queue).
 */
function watchIndexWrites(client: RedisClient, side: Side): RedisClient {
  const queue = client._getQueue();
  const add = queue.addCommand.bind(queue);
  queue.addCommand = ((args, options) => {
    const promise = add(args, options);
    const command = String(args[0]).toUpperCase();
    if (!args.slice(1).some((arg) => INDEX_KEY.test(String(arg)))) return promise;
    if (READS.has(command)) {
      // A staggered step at read: the first read of an index (the first login's, then alone)
      // answers once the other logins have answered.
      const stagger = readStaggers.get(side);
      if (!stagger) return promise;
      readStaggers.delete(side);
      return promise.then(async (reply) => {
        stagger.fire();
        await stagger.answered;
        return reply;
      });
    }
    side.notes.indexWrites = Number(side.notes.indexWrites ?? 0) + 1;
    const settled = () => {
      side.notes.indexWrites = Number(side.notes.indexWrites) - 1;
    };
    promise.then(settled, settled);
    return promise;
  }) as typeof queue.addCommand;
  return client;
}

/**
 * Two processes of the app behind one balancer, as step 06 runs it: two instances of its
 * module (a second import is a second instance, with module state of its own), each with a
 * Redis client of its own, taking requests in turn. Logins sent at once reach both, so what an
 * app keeps in its own memory (a lock, a queue, a count) orders nothing, as in a cluster.
 */
async function twoProcesses(modules: [Module, Module], side: Side, sides: RedisSides) {
  const apps = await Promise.all(
    modules.map(async (module) =>
      module.createApp(watchIndexWrites(await sides.client(side), side)),
    ),
  );
  let turn = 0;
  const balancer = express();
  balancer.use((req, res, next) => apps[turn++ % apps.length]?.(req, res, next));
  return watched(balancer, side, sides);
}

/** The module in FILE, imported again: another instance, as another process would load it. */
const again = async (file: string) =>
  (await import(`${pathToFileURL(file).href}?second-process`)) as Module;
const references: Promise<[Module, Module]> = again(
  join(import.meta.dirname, "solution", "app.ts"),
).then((second) => [reference, second]);

/**
 * APP, watched: whether an answer's headers went out while a destroy() was under way (a
 * session beyond the limit not yet ended), or a change to a user's index (watchIndexWrites: a
 * session ended, not yet out of the index). express-session's own save at the end of a login
 * may still be under way then: only those are judged. Each store it hands a request can be
 * broken (makeBreakable).
 */
function watched(app: Express, side: Side, sides: RedisSides): Express {
  const outer = express();
  outer.use((req, res, next) => {
    const handed = Object.getOwnPropertyDescriptor(req, "sessionStore");
    Object.defineProperty(req, "sessionStore", {
      configurable: true,
      get: handed?.get,
      set(store: session.Store) {
        handed?.set?.call(req, store);
        makeBreakable(store, side, sides);
      },
    });
    const writeHead = res.writeHead;
    res.writeHead = function (this: typeof res, ...args: unknown[]) {
      if (Number(side.notes.pending ?? 0) > 0) side.notes.early = true;
      if (Number(side.notes.indexWrites ?? 0) > 0) side.notes.earlyIndex = true;
      return (writeHead as (...a: unknown[]) => typeof res).apply(this, args);
    } as typeof res.writeHead;
    inApp.run(side, next);
  });
  outer.use(app);
  return outer;
}

/** The ids of SIDE's sessions that Redis dropped on its own or that ran out (evict, expire). */
const evictedIds = new WeakMap<Side, Set<string>>();
function evicted(side: Side): Set<string> {
  const ids = evictedIds.get(side) ?? new Set<string>();
  evictedIds.set(side, ids);
  return ids;
}

function model(
  modules: [Module, Module],
  sides: RedisSides,
  extra: fc.Arbitrary<Action>[],
  examples: Action[][],
): Model<Action> {
  const who = fc.constantFrom(0, 1, 2, 3, 4, 5);
  const action: fc.Arbitrary<Action> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ do: fc.constant("login" as const), who }) },
    {
      weight: 3,
      arbitrary: fc.record({
        do: fc.constant("together" as const),
        who: fc.shuffledSubarray([0, 1, 2, 3, 4], { minLength: 2, maxLength: 3 }),
        staggered: fc.boolean(),
      }),
    },
    { weight: 4, arbitrary: fc.record({ do: fc.constant("visit" as const), who }) },
    { weight: 1, arbitrary: fc.record({ do: fc.constant("logout" as const), who }) },
    ...extra.map((arbitrary) => ({ weight: 2, arbitrary })),
  );

  async function perform(a: Action, side: Side): Promise<Answer | undefined> {
    if (a.do === "store") {
      side.notes.fault = a.fault;
      return undefined;
    }
    if (a.do === "evict") {
      const id = idOf(side, a.who);
      if (id) {
        await sides.admin(side.name).del(`sess:${id}`);
        evicted(side).add(id);
      }
      return undefined;
    }
    if (a.do === "expire") {
      // As if its maxAge had passed: Redis forgets the session, its index entry stays listed
      // with its expiry, now past (the lowest score in the index).
      const id = idOf(side, a.who);
      const admin = sides.admin(side.name);
      const key = `user-sessions:${USERS[a.who]}`;
      if (id && (await admin.zScore(key, id)) !== null) {
        await admin.zAdd(key, { score: Date.now() - 1000, value: id }, { condition: "XX" });
        await admin.del(`sess:${id}`);
        evicted(side).add(id);
      }
      return undefined;
    }
    await later(side);
    // A destroy() an earlier login stopped waiting for (a hanging store's), settled first.
    for (let tries = 0; Number(side.notes.pending ?? 0) > 0 && tries < 40; tries++) await settle(5);
    side.notes.early = false;
    side.notes.earlyIndex = false;
    const browsers = a.do === "together" ? a.who : [a.who];
    const send = (i: number) => {
      const visitor = side.visitors[i];
      if (!visitor) throw new Error(`no browser ${i}`);
      if (a.do === "visit") return visitor.send("GET", "/me", JSON_CLIENT);
      if (a.do === "logout") return visitor.send("POST", "/logout", JSON_CLIENT);
      return visitor.send("POST", "/login", JSON_CLIENT, { username: USERS[i] });
    };
    let answers: Answer[];
    if (a.do === "together" && a.staggered) {
      // The first login alone; the others once it ends a session (or has answered, if it ends
      // none), while its destroy() waits for their answers.
      const [first = 0, ...rest] = browsers;
      let fire = () => {};
      const fired = new Promise<void>((resolve) => {
        fire = resolve;
      });
      let answered = () => {};
      const held = new Promise<void>((resolve) => {
        answered = resolve;
        setTimeout(resolve, HOLD_MS);
      });
      (a.atRead ? readStaggers : staggers).set(side, { fire, answered: held });
      const firstAnswer = send(first).finally(fire);
      await fired;
      staggers.delete(side);
      readStaggers.delete(side);
      const others = await Promise.all(rest.map(send)).finally(answered);
      answers = [await firstAnswer, ...others];
    } else answers = await Promise.all(browsers.map(send));
    side.notes.lastAt = Date.now();
    label(side, browsers);
    if (answers.length === 1) return answers[0];
    // Logins at once were seen in the same millisecond: which of them was seen last is a tie.
    // Each visits in turn after, so that the next eviction has one answer.
    const visits: number[] = [];
    for (const i of browsers) {
      await later(side);
      visits.push((await side.visitors[i]?.send("GET", "/me", JSON_CLIENT))?.status ?? 0);
      side.notes.lastAt = Date.now();
    }
    // The worst status of the logins, every cookie they set (in browser order), and the
    // visits' statuses as the text.
    const worst = answers.reduce((w, answer) => (answer.status > w.status ? answer : w));
    const setCookies = answers.flatMap((answer) => answer.setCookies);
    return { ...worst, text: visits.join(","), setCookies };
  }

  /**
   * What the answer says, each user's index, the tombstones, and whether a destroy() was still
   * under way when the answer went out.
   */
  async function body(a: Action, answer: Answer, side: Side) {
    const admin = sides.admin(side.name);
    const labelOf = (id: string) => side.labels.get(id) ?? "(a session not in the store)";
    const index: Record<string, string[]> = {};
    // A session Redis dropped on its own (or that ran out) may stay listed or not: only the
    // app's ends are judged.
    const dropped = evicted(side);
    for (const user of new Set(USERS)) {
      index[user] = (await admin.zRange(`user-sessions:${user}`, 0, -1))
        .filter((id) => !dropped.has(id))
        .map(labelOf)
        .sort();
    }
    const ids = [...side.labels.keys()];
    const buried = ids.length ? await admin.mGet(ids.map((id) => `ended:${id}`)) : [];
    const tombstones = ids
      .filter((_, i) => buried[i] !== null)
      .map(labelOf)
      .sort();
    let said: unknown = answer.status < 400 ? "(not JSON)" : "(an error)";
    if (a.do !== "together" && answer.status < 400) {
      try {
        said = JSON.parse(answer.text);
      } catch {}
    }
    if (a.do === "together") said = `then GET /me: ${answer.text}`;
    // Only a success is judged: an error may go out while another destroy() is under way.
    const success = a.do !== "together" && answer.status < 400;
    const early = success && side.notes.early === true;
    const earlyIndex = success && side.notes.earlyIndex === true;
    return { said, index, tombstones, early, earlyIndex };
  }

  return {
    visitors: USERS.length,
    action,
    examples,
    describe,
    actor: (a) => ("who" in a ? (Array.isArray(a.who) ? undefined : a.who) : undefined),
    perform,
    body: (a, answer, side) => body(a, answer, side),
    cookie: (line) => {
      const { pair, attributes } = setCookieParts(line);
      const expires = attributes.get("expires");
      return {
        name: pair.slice(0, pair.indexOf("=")),
        cleared: Boolean(expires && Date.parse(expires) < Date.now()),
      };
    },
    session: (data) => {
      const { session } = data as { session: Record<string, unknown> };
      return { userId: session.userId };
    },
    allowed: [
      {
        name: "any 5xx, with any cookies, when the store fails",
        apply: (o) => (o.status >= 500 ? { ...o, status: 500, cookies: [] } : o),
      },
      {
        name: "any commands, but SCAN and KEYS (how you read the index is yours)",
        apply: (o) => ({ ...o, traffic: { every: (o.traffic.SCAN ?? 0) + (o.traffic.KEYS ?? 0) } }),
      },
      {
        // express-session answers a login before its own last save is confirmed: the check
        // judges destroy() alone (body.early, see watched()).
        name: "whether the answer went out before the store confirmed a save",
        apply: (o) => ({ ...o, early: false }),
      },
    ],
    rules: [statusRule, storeRule, indexRule, trafficRule],
    probe: (side) => sides.probe(side),
    createApp: (side) => twoProcesses(modules, side, sides),
    createReference: async (side) => twoProcesses(await references, side, sides),
  };
}

// ---- Rules: what is wrong at a step where your app and the reference differ, in words.
type S = Step<Action>;
const isLogin = (a: Action) => a.do === "login" || a.do === "together";

/** How many live sessions each user has in an observation's store. */
function perUser(o: Observation): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of Object.values(o.store)) {
    const user = String((value as { userId?: unknown }).userId);
    counts.set(user, (counts.get(user) ?? 0) + 1);
  }
  return counts;
}

function statusRule({ action: a, yours: y, reference: r }: S) {
  if (y.status === r.status) return undefined;
  if (isLogin(a) && r.status >= 500 && y.status < 400) {
    return `claimed the login successful though the store could not end a session beyond the limit: answered ${y.status} while that session lives on; pass the error on (a 5xx)`;
  }
  if (a.do === "visit" && r.status === 401 && y.status === 200) {
    return `${describe(a)} is still logged in where its session should have been ended by a later login`;
  }
  return `${describe(a)} answered ${y.status} where ${r.status} was expected`;
}

function storeRule({ action: a, yours: y, reference: r, owners }: S) {
  const said: string[] = [];
  const whose = (label: string) => {
    const owner = owners.get(label);
    return owner
      ? `${owner}'s session (${label}, ${userOfLetter(owner)}'s)`
      : `the session ${label}`;
  };
  const actors = a.do === "together" ? a.who.map(name) : "who" in a ? [name(a.who)] : [];
  const actingUser = "who" in a ? USERS[Array.isArray(a.who) ? (a.who[0] ?? 0) : a.who] : undefined;
  for (const label of Object.keys(r.store)) {
    if (label in y.store) continue;
    const owner = owners.get(label);
    if (owner && userOfLetter(owner) !== actingUser)
      said.push(`another user's session was ended: ${describe(a)} ended ${whose(label)}`);
    else if (owner && actors.includes(owner) && isLogin(a))
      said.push(
        `the login that was just made was ended: ${whose(label)} is gone; end older ones instead`,
      );
    else
      said.push(
        `ended a session that should live: ${whose(label)} was seen more recently than the ones that go (the index's score is the expiry: last seen + maxAge)`,
      );
  }
  for (const label of Object.keys(y.store)) {
    if (!(label in r.store))
      said.push(
        `${whose(label)} is still in the store where it should be ended (the least recently seen go)`,
      );
  }
  const [mine, theirs] = [perUser(y), perUser(r)];
  for (const [user, n] of mine) {
    const expected = theirs.get(user) ?? 0;
    if (n > LIMIT && n > expected) {
      said.push(
        a.do === "together"
          ? `logins at the same moment left ${user} with ${n} live sessions, more than ${LIMIT}: choose what to end after this login is in the index, never from a count taken before, and never leave it to another login under way (a race)`
          : `${user} has ${n} live sessions after this step, more than ${LIMIT}`,
      );
    } else if (n < expected && n < LIMIT) {
      said.push(
        a.do === "together"
          ? `logins at the same moment left ${user} with ${n} live sessions where ${expected} should be left, fewer than the limit of ${LIMIT} allows: choose what to end from one reading of the index (a count read, then a range read in another command, lets another login end sessions in between, and the range then reaches newer ones)`
          : `${user} has ${n} live sessions where ${expected} should be left: fewer than the limit of ${LIMIT} allows`,
      );
    }
  }
  return said.join("\n") || undefined;
}

function indexRule({ yours: y, reference: r }: S) {
  type Body = { index?: Record<string, string[]>; tombstones?: string[]; said?: unknown };
  const [mine, theirs] = [y.body as Body, r.body as Body];
  const said: string[] = [];
  for (const [user, labels] of Object.entries(theirs.index ?? {})) {
    const yourLabels = mine.index?.[user] ?? [];
    const shown = `user-sessions:${user} holds ${JSON.stringify(yourLabels)} where ${JSON.stringify(labels)} was expected`;
    if (yourLabels.some((l) => !labels.includes(l)))
      said.push(`the index still lists an ended session: ${shown}`);
    if (labels.some((l) => !yourLabels.includes(l)))
      said.push(`the index lost a session that is still live: ${shown}`);
  }
  const missing = (theirs.tombstones ?? []).filter(
    (l) => !mine.tombstones?.includes(l) && !(l in y.store),
  );
  if (missing.length) {
    said.push(
      `the session ${missing.join(", ")} was deleted, not ended for good: no tombstone (ended:<id>), so a late write of a request under way brings it back; end it through the store's destroy()`,
    );
  }
  if (!said.length && JSON.stringify(mine.said) !== JSON.stringify(theirs.said)) {
    said.push(
      `answered ${JSON.stringify(mine.said)} where ${JSON.stringify(theirs.said)} was expected`,
    );
  }
  return said.join("\n") || undefined;
}

function trafficRule({ yours: y, reference: r }: S) {
  const said: string[] = [];
  if ((y.traffic.every ?? 0) > (r.traffic.every ?? 0)) {
    said.push(
      "looked through every session in Redis (SCAN or KEYS): read this user's index instead",
    );
  }
  const early = (o: Observation) => (o.body as { early?: boolean }).early === true;
  if (early(y) && !early(r)) {
    said.push(
      "answered before the store confirmed: a session beyond the limit was not yet ended when the login's answer went out",
    );
  }
  const earlyIndex = (o: Observation) => (o.body as { earlyIndex?: boolean }).earlyIndex === true;
  if (earlyIndex(y) && !earlyIndex(r)) {
    said.push(
      "answered before Redis confirmed the change to the user's index: a session the login ended was not yet out of user-sessions:<user> when the answer went out (and if that change fails, the login claims a success all the same); wait for the store and for the index",
    );
  }
  return said.join("\n") || undefined;
}

const [A, B, C, D, E, F] = [0, 1, 2, 3, 4, 5];
const login = (who: number): Action => ({ do: "login", who });
const visit = (who: number): Action => ({ do: "visit", who });
const together = (...who: number[]): Action => ({ do: "together", who });
const staggered = (...who: number[]): Action => ({ do: "together", who, staggered: true });
const staggeredAtRead = (...who: number[]): Action => ({
  do: "together",
  who,
  staggered: true,
  atRead: true,
});
const broken: Action = { do: "store", fault: "fails" };
const fixed: Action = { do: "store", fault: "works" };
const slow: Action = { do: "store", fault: "slow" };
const hangs: Action = { do: "store", fault: "hangs" };
const evict = (who: number): Action => ({ do: "evict", who });
const expire = (who: number): Action => ({ do: "expire", who });

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "a login beyond three sessions ends the least recently seen others, and only those",
      timeoutMs: 30_000,
      run: async ({ module, dir, redis }) => {
        const sides = await RedisSides.start(await redis());
        await differential(
          model(
            [module, await again(join(dir, "app.ts"))],
            sides,
            [],
            [
              [login(F), login(A), login(B), login(C), login(D), visit(F)],
              [login(A), login(B), login(C), login(D), visit(A)],
              [login(A), login(B), login(C), visit(A), login(D), visit(B)],
              [login(A), login(B), together(C, D), visit(A)],
              [login(A), together(B, C, D), visit(A), login(E), visit(B)],
              [login(A), login(B), login(C), login(A), login(D), visit(B)],
              // One login ends a session; the other, sent meanwhile, finds four: it ends too.
              [login(A), login(B), login(C), staggered(D, E), visit(A)],
              // A ran out, its entry still listed (the lowest score): it counts among the four
              // at D's login and goes; at E's, B is the least recently seen of four live ones.
              [login(A), login(B), login(C), expire(A), login(D), login(E), visit(B)],
              // D's login has read the index (four) when E's comes, finds five and ends two: D
              // then ends what it read, never a third (C stays).
              [login(A), login(B), login(C), staggeredAtRead(D, E), visit(C)],
            ],
          ),
          { runs: 6, maxActions: 8 },
        );
      },
    },
    {
      name: "a login is not a success while a session beyond the limit could not be ended",
      timeoutMs: 30_000,
      run: async ({ module, dir, redis }) => {
        const sides = await RedisSides.start(await redis());
        const fault = fc.record({
          do: fc.constant("store" as const),
          fault: fc.constantFrom<Fault>("fails", "works"),
        });
        await differential(
          model(
            [module, await again(join(dir, "app.ts"))],
            sides,
            [fault],
            [
              // D's login cannot end A, and A stays the least recently seen; then of the two
              // beyond the limit at E's login, A is gone already (ending it succeeds), B cannot be
              // ended: no success either. A slow store is waited for: A's login ends B and C.
              [
                login(A),
                login(B),
                login(C),
                broken,
                login(D),
                evict(A),
                login(E),
                slow,
                login(A),
                fixed,
                visit(B),
              ],
              // At E's login, A (the least recently seen) cannot be ended, B (dropped by Redis)
              // can: one failure among them is enough, the login is no success.
              [login(A), login(B), login(C), broken, login(D), evict(B), login(E), fixed, visit(A)],
              // A destroy() that hangs, then fails: the login waits for it, it is no success.
              [login(A), login(B), login(C), hangs, login(D), fixed, visit(A)],
            ],
          ),
          { runs: 3, maxActions: 8 },
        );
      },
    },
  ],
});
