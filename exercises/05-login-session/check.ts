/**
 * Exercise 05: a step-up. POST /confirm {password} gives the logged-in session a privilege for
 * five minutes (GET /account opens), so it renews the session id: the old session gone from
 * Redis, the login and the visit count carried into the new one, the store's failures passed
 * on; the confirmation ends five minutes after the password was typed, by the app's clock.
 *
 * A differential check (test/checks/differential.ts): fast-check draws scenarios of three
 * visitors (logins as alice or bob, visits, confirmations with the right password, as JSON or
 * from a form, a wrong one, one nearly right (spaces, capitals, full-width letters, a zero-width space), none, or
 * one in the URL only, the sensitive page, logouts, copied cookies, a second device of the same user,
 * other cookies, minutes passing on the app's clock, a store whose destroy or set fails, and in a
 * classic scenario a user deleted from the database); each
 * runs on step 05's app with your routes and with the reference's, side by side, each with a
 * Redis database (test/checks/redis-probe.ts) and a PostgreSQL pool of its own. After every
 * request they must answer alike (status, body, Set-Cookie), leave alike sessions in Redis
 * (ids, data, time to live), and send Redis alike commands.
 *
 * Cheap on purpose: a login is made the way POST /login makes it (the session written into
 * Redis, its signed cookie in the visitor's jar), without hashing a password; and the users'
 * password check (step 05's Users.verify, scrypt: slow on purpose) is remembered per name and
 * password for the run. Runs: the 23 classic scenarios at the end of this file (they alone
 * reject every kept wrong answer), then 6 drawn ones; CHECK_RUNS and CHECK_DRAW draw more, or
 * others.
 */
import { createHmac, randomBytes } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import express from "express";
import fc from "fast-check";
import type { Pool } from "pg";
import { createApp } from "../../steps/05-login-logout/app.ts";
import { migrateUsers } from "../../steps/05-login-logout/tables.ts";
import { type User, type UserStore, Users } from "../../steps/05-login-logout/users.ts";
import { createPool } from "../../steps/shared/postgres-pool.ts";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { COOKIE_NAME, sessionSecrets } from "../../steps/shared/session-secret.ts";
import { storeErrorHandler } from "../../steps/shared/store-errors.ts";
import {
  type Answer,
  differential,
  type Model,
  type Observation,
  type Side,
  type Step,
  setCookieParts,
} from "../../test/checks/differential.ts";
import { type CheckContext, defineCheck } from "../../test/checks/kit.ts";
import { type HeldSession, RedisSides } from "../../test/checks/redis-probe.ts";
import * as reference from "./solution/step-up.ts";

type Module = typeof import("./solution/step-up.ts");

// ---- The world: users in PostgreSQL, sessions in Redis, a clock per side.

const USERS = [
  { username: "alice", password: "alice-correct-horse" },
  // Capitals, letters beyond ASCII, spaces inside, as long as step 05 allows (128 characters,
  // 360 bytes of UTF-8: far more than 72 bytes, or 128): a password as typed.
  {
    username: "bob",
    password: `Bob’s brûlée: ${"電池とホチキスと正しい馬、".repeat(10)}`.slice(0, 128),
  },
] as const;
const WRONG_PASSWORD = "not-the-password";
const MINUTE = 60_000;
/** The app's clock starts here in every scenario and moves only when the scenario waits. */
const CLOCK_START = Date.UTC(2031, 2, 1, 9, 0, 0);
/** When the check's logins happened (real time: step 05's 8-hour limit reads Date.now). */
const LOGGED_IN_AT = Math.floor(Date.now() / 1000) * 1000;

/** What each side's app has been through in this scenario, as the check keeps it. */
interface SideState {
  /** Minutes the app's clock has moved. */
  minutes: number;
  /** The user each visitor logged in as last (whose password they know). */
  knows: (number | undefined)[];
  /** When each visitor's last confirmation succeeded, in the clock's minutes. */
  confirmedAt: (number | undefined)[];
  /** How many sessions the store had made before the request under way. */
  sessionsBefore: number;
  /** The store method the scenario makes fail, if any. */
  failing?: "destroy" | "set";
  /** When the app last restarted, in the clock's minutes. */
  restartedAt?: number;
  /** The ids of the users deleted from the database in this scenario. */
  deleted: Set<string>;
}
const states = new WeakMap<Side, SideState>();
const stateOf = (side: Side): SideState => {
  const state = states.get(side);
  if (!state) throw new Error("no state for this side");
  return state;
};

/** What both sides share for one case: Redis databases, pools, the users' ids. */
interface World {
  redis: RedisSides;
  pools: Record<Side["name"], Pool>;
  ids: string[];
  verified: Map<string, Promise<User | null>>;
  clients: Partial<Record<Side["name"], Promise<RedisClient>>>;
  /** Runs FN when the case ends. */
  after(fn: () => unknown): void;
  /** The folder under check. */
  dir: string;
}

async function world({ redis, postgres, after, dir }: CheckContext<Module>): Promise<World> {
  const [sides, { url, ids, verified }] = await Promise.all([
    redis().then((server) => RedisSides.start(server)),
    postgres().then((database) => usersIn(database.url, database.pool())),
  ]);
  const pools = { yours: createPool(url), reference: createPool(url) };
  after(() => Promise.all([pools.yours.end(), pools.reference.end()]));
  for (const [i, id] of ids.entries()) userIds.set(id, i);
  return { redis: sides, pools, ids, verified, clients: {}, after, dir };
}

/** The users table in the database at URL, with USERS registered: their ids. */
async function usersIn(url: string, pool: Promise<Pool>) {
  const setup = await pool;
  await migrateUsers(setup);
  const verified = new Map<string, Promise<User | null>>();
  const ids = await Promise.all(
    USERS.map(async ({ username, password }) => {
      const user = await new Users(setup).register(username, password);
      if (!user) throw new Error(`${username} was registered already: the database is not new`);
      // Registered with this password: what verify(username, password) answers.
      verified.set(JSON.stringify([username, password]), Promise.resolve(user));
      return user.id;
    }),
  );
  return { url, ids, verified };
}

/** Step 05's users table for SIDE, its password checks counted (and remembered). */
function usersFor(side: Side, w: World): UserStore {
  const { pools, verified } = w;
  const users = new Users(pools[side.name]);
  return {
    register: (username, password) => users.register(username, password),
    findById: (id) => (stateOf(side).deleted.has(id) ? Promise.resolve(null) : users.findById(id)),
    verify: (username, password) => {
      side.probe.count("password checks");
      const user = USERS.findIndex((u) => u.username === username);
      if (stateOf(side).deleted.has(w.ids[user] ?? "")) return Promise.resolve(null);
      const key = JSON.stringify([username, password]);
      let result = verified.get(key);
      if (!result) {
        result = users.verify(username, password);
        verified.set(key, result);
        result.catch(() => verified.delete(key));
      }
      return result;
    },
  };
}

/**
 * SIDE's Redis client: one per side for the whole case (a new connection per scenario costs
 * more than the scenario), its database emptied before each scenario by the probe.
 */
function clientFor(side: Side, w: World): Promise<RedisClient> {
  w.clients[side.name] ??= w.redis.client({ ...side, after: w.after });
  return w.clients[side.name] as Promise<RedisClient>;
}

/** How to restart each side's app: a new process, with a fresh copy of the module. */
const restarts = new WeakMap<Side, () => Promise<void>>();
let copies = 0;

/**
 * Step 05's app, and after its routes the exercise's (from FILE), on SIDE's Redis and pool.
 * A restart imports FILE again: a new process keeps nothing of the old one's memory.
 */
async function appFor(side: Side, routes: Module["stepUpRoutes"], file: string, w: World) {
  const state: SideState = {
    minutes: 0,
    knows: [],
    confirmedAt: [],
    sessionsBefore: 0,
    deleted: new Set(),
  };
  states.set(side, state);
  const client = await clientFor(side, w);
  const now = () => CLOCK_START + state.minutes * MINUTE;
  const build = (stepUpRoutes: Module["stepUpRoutes"]) =>
    createApp(client, w.pools[side.name]).use(
      stepUpRoutes({ users: usersFor(side, w), now }),
      storeErrorHandler,
    );
  let app = build(routes);
  restarts.set(side, async () => {
    const copy = (await import(`${pathToFileURL(file).href}?restart-${++copies}`)) as Module;
    app = build(copy.stepUpRoutes);
  });
  return express().use((req, res, next) => app(req, res, next));
}

/** A login as POST /login makes it: the session in Redis, its signed cookie in the jar. */
async function logIn(side: Side, w: World, who: number, user: number): Promise<void> {
  const visitor = side.visitors[who];
  if (!visitor) return;
  const admin = w.redis.admin(side.name);
  // POST /login gives a new id and deletes the session from before (step 05's logIn).
  const before = idIn(visitor.cookie(COOKIE_NAME));
  if (before) await admin.del(`sess:${before}`);
  const id = randomBytes(24).toString("base64url");
  // Named as the store will show it, in the order the sessions were made.
  side.labels.set(id, `#${side.labels.size + 1}`);
  side.owners.set(`#${side.labels.size}`, name(who));
  const session = {
    cookie: {
      originalMaxAge: 30 * MINUTE,
      expires: new Date(Date.now() + 30 * MINUTE).toISOString(),
      secure: false,
      httpOnly: true,
      path: "/",
      sameSite: "lax",
    },
    userId: w.ids[user],
    username: USERS[user]?.username,
    loggedInAt: LOGGED_IN_AT,
  };
  await admin.set(`sess:${id}`, JSON.stringify(session), {
    expiration: { type: "EX", value: 1800 },
  });
  const secret = sessionSecrets()[0] ?? "";
  const signature = createHmac("sha256", secret).update(id).digest("base64").replace(/=+$/, "");
  visitor.cookies.set(COOKIE_NAME, encodeURIComponent(`s:${id}.${signature}`));
  stateOf(side).knows[who] = user;
}

/** The session id inside a session cookie's value (s%3A<id>.<signature>). */
const idIn = (value: string | undefined) =>
  /^s:([^.]+)\./.exec(decodeURIComponent(value ?? ""))?.[1];

// ---- What visitors do.

const VISITORS = 3;
// "another's": another user's name and password in the body, as a login form would send them.
// "padded", "space after", "space before", "trailing", "shouted", "wide": the user's own
// password with spaces around it, one space after it, one before it, a line break after it, in
// capitals, in full-width letters: each one another password.
// "form": the own password from a browser form; "in the URL": only in the query string.
type Password =
  | "own"
  | "wrong"
  | "none"
  | "another's"
  | "padded"
  | "space after"
  | "space before"
  | "trailing"
  | "shouted"
  | "wide"
  | "zero-width"
  | "form"
  | "in the URL";
type Action =
  | { do: "login"; who: number; as: number }
  | { do: "visit"; who: number }
  | { do: "confirm"; who: number; password: Password }
  | { do: "account"; who: number }
  | { do: "me"; who: number }
  | { do: "logout"; who: number }
  | { do: "copy"; who: number; of: number }
  | { do: "other-cookie"; who: number }
  | { do: "wait"; minutes: number }
  | { do: "fail"; op: "destroy" | "set"; on: boolean }
  | { do: "restart" }
  /** The user is deleted from the database (an administrator removed the account). */
  | { do: "delete-user"; as: number };

const name = (i: number) => "ABC"[i] ?? "?";
const JSON_CLIENT = { accept: "application/json" };
/**
 * While the store fails, express-session's own write at the end of a response fails too, after
 * the answer went out: Express then closes the connection, and a kept-alive one would fail the
 * next request. So each request gets a connection of its own meanwhile.
 */
const headers = (state: SideState) =>
  state.failing ? { ...JSON_CLIENT, connection: "close" } : JSON_CLIENT;

function describe(a: Action): string {
  switch (a.do) {
    case "login":
      return `${name(a.who)} logs in as ${USERS[a.as]?.username}`;
    case "visit":
      return `${name(a.who)}: GET /`;
    case "confirm": {
      const body = {
        own: "{password: <the password of whom they logged in as>}",
        wrong: "{password: <a wrong one>}",
        none: "{}",
        "another's": "{username: <another user>, password: <that user's password>}",
        padded: '{password: " <the password of whom they logged in as> "} (spaces around it)',
        "space after":
          '{password: "<the password of whom they logged in as> "} (one space after it, as a phone keyboard adds)',
        "space before":
          '{password: " <the password of whom they logged in as>"} (one space before it)',
        trailing:
          '{password: "<the password of whom they logged in as>\\n"} (a line break after it, as a pasted line ends)',
        shouted: "{password: <the password of whom they logged in as, in capitals>}",
        wide: "{password: <the password of whom they logged in as, in full-width letters: ａｌｉｃｅ…>}",
        "zero-width":
          '{password: "<the password of whom they logged in as>\\u200B"} (an invisible zero-width space after it, as a paste may bring)',
        form: "password=<the password of whom they logged in as> (a browser's form, application/x-www-form-urlencoded)",
        "in the URL":
          "{} to /confirm?password=<the password of whom they logged in as> (in the URL only)",
      }[a.password];
      return `${name(a.who)}: POST /confirm ${body}`;
    }
    case "account":
      return `${name(a.who)}: GET /account`;
    case "me":
      return `${name(a.who)}: GET /me`;
    case "logout":
      return `${name(a.who)}: POST /logout`;
    case "copy":
      return `${name(a.who)} gets a copy of ${name(a.of)}'s session cookie (a shared computer, a leaked log, an id planted in a browser)`;
    case "other-cookie":
      return `${name(a.who)} also holds another cookie (theme=dark), sent before the session cookie`;
    case "wait":
      return Number.isInteger(a.minutes * 4)
        ? `${a.minutes} minutes pass`
        : `${Math.round(a.minutes * MINUTE)} ms pass (${a.minutes.toFixed(5)} minutes)`;
    case "fail":
      return a.on ? `the store starts failing ${a.op}() (a broken store)` : "the store works again";
    case "delete-user":
      return `${USERS[a.as]?.username}'s account is deleted from the database (an administrator removed it)`;
    case "restart":
      return "the app restarts (a new process: nothing kept in the old one's memory), on the same Redis";
  }
}

async function perform(a: Action, side: Side, w: World): Promise<Answer | undefined> {
  const state = stateOf(side);
  switch (a.do) {
    case "fail":
      side.probe.failure = redisGone;
      side.probe.failing.clear();
      state.failing = a.on ? a.op : undefined;
      if (a.on) side.probe.failing.add(a.op);
      return undefined;
    case "wait":
      state.minutes += a.minutes;
      return undefined;
    case "delete-user":
      state.deleted.add(w.ids[a.as] ?? "");
      return undefined;
    case "restart":
      await restarts.get(side)?.();
      state.restartedAt = state.minutes;
      return undefined;
    case "login":
      await logIn(side, w, a.who, a.as);
      return undefined;
    case "copy": {
      const value = side.visitors[a.of]?.cookie(COOKIE_NAME);
      const visitor = side.visitors[a.who];
      if (value) visitor?.cookies.set(COOKIE_NAME, value);
      else visitor?.cookies.delete(COOKIE_NAME);
      return undefined;
    }
    case "other-cookie": {
      // A jar keeps cookies in the order they were set: the new one first, the session after.
      const visitor = side.visitors[a.who];
      if (!visitor) return undefined;
      const kept = [...visitor.cookies].filter(([cookie]) => cookie !== "theme");
      visitor.cookies.clear();
      visitor.cookies.set("theme", "dark");
      for (const [cookie, value] of kept) visitor.cookies.set(cookie, value);
      return undefined;
    }
  }
  const visitor = side.visitors[a.who];
  if (!visitor) return undefined;
  state.sessionsBefore = side.labels.size;
  switch (a.do) {
    case "visit":
      return visitor.send("GET", "/", headers(state));
    case "me":
      return visitor.send("GET", "/me", headers(state));
    case "account":
      return visitor.send("GET", "/account", headers(state));
    case "logout":
      return visitor.send("POST", "/logout", headers(state));
    case "confirm": {
      const known = USERS[state.knows[a.who] ?? -1]?.password ?? WRONG_PASSWORD;
      const another = USERS.find((_, i) => i !== state.knows[a.who]) ?? USERS[0];
      const password = {
        own: known,
        padded: ` ${known} `,
        "space after": `${known} `,
        "space before": ` ${known}`,
        trailing: `${known}\n`,
        shouted: known.toUpperCase(),
        wide: fullWidth(known),
        "zero-width": `${known}\u200B`,
        wrong: WRONG_PASSWORD,
      }[a.password as string];
      const { path, extra, body } =
        a.password === "form"
          ? {
              path: "/confirm",
              extra: { "content-type": "application/x-www-form-urlencoded" },
              body: new URLSearchParams({ password: known }).toString(),
            }
          : a.password === "in the URL"
            ? { path: `/confirm?${new URLSearchParams({ password: known })}`, extra: {}, body: {} }
            : {
                path: "/confirm",
                extra: {},
                body:
                  a.password === "another's"
                    ? { username: another?.username, password: another?.password }
                    : password === undefined
                      ? {}
                      : { password },
              };
      const kept = visitor.cookie(COOKIE_NAME);
      const answer = await visitor.send("POST", path, { ...headers(state), ...extra }, body);
      if (answer.status === 200) state.confirmedAt[a.who] = state.minutes;
      // A cookie set along with a 5xx (regenerate's new, empty session, which express-session
      // saves even when destroy failed) is the library's, not the app's: the visitor keeps its own.
      if (answer.status >= 500 && kept) visitor.cookies.set(COOKIE_NAME, kept);
      return answer;
    }
  }
}

/** TEXT in full-width letters (ａｌｉｃｅ): what a keyboard set to write them types. */
const fullWidth = (text: string) =>
  text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));

// ---- How answers and sessions are compared.

/** A time on the app's clock as "minute N" of the scenario; else the time itself. */
function clockTime(ms: number): string {
  const minutes = (ms - CLOCK_START) / MINUTE;
  return minutes >= 0 && minutes < 24 * 60
    ? `minute ${Math.round(minutes * 100) / 100}`
    : `${new Date(ms).toISOString()} (not the app's clock)`;
}

function loginTime(ms: number): string {
  return ms === LOGGED_IN_AT ? "when the visitor logged in" : new Date(ms).toISOString();
}

function body(answer: Answer, side: Side): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    return { text: answer.text.slice(0, 80) };
  }
  if (typeof parsed !== "object" || parsed === null) return parsed;
  const shown: Record<string, unknown> = { ...parsed };
  // Messages are yours to word; what an answer says is in its status and fields.
  if (typeof shown.error === "string") shown.error = "(a message)";
  if (typeof shown.sessionId === "string")
    shown.sessionId = side.labels.get(shown.sessionId) ?? "(a session the store does not hold)";
  for (const field of ["confirmedUntil", "loggedInAt"]) {
    const value = shown[field];
    if (typeof value === "string" && !Number.isNaN(Date.parse(value))) {
      shown[field] =
        field === "loggedInAt" ? loginTime(Date.parse(value)) : clockTime(Date.parse(value));
    }
  }
  return shown;
}

function cookie(line: string) {
  const { pair, attributes } = setCookieParts(line);
  const cookieName = pair.slice(0, pair.indexOf("="));
  const maxAge = attributes.get("max-age");
  const expires = attributes.get("expires");
  const path = attributes.get("path") ?? "(none)";
  const left = expires ? Date.parse(expires) - Date.now() : maxAge ? Number(maxAge) * 1000 : NaN;
  if (left <= 0) return { name: cookieName, cleared: true, path };
  return {
    name: cookieName,
    path,
    httpOnly: attributes.has("httponly"),
    sameSite: attributes.get("samesite")?.toLowerCase() ?? "(none)",
    lasts: Number.isNaN(left) ? "the browser session" : `${Math.round(left / MINUTE)} min`,
  };
}

/** A session as compared: its data (times made readable, ids named) and its time to live. */
function session(held: unknown, ids: string[]): unknown {
  const { session: data, ttlMs } = held as HeldSession;
  if (typeof data !== "object" || data === null) return { data, ttl: ttlMs };
  const { cookie: _cookie, ...fields } = data as Record<string, unknown>;
  const shown: Record<string, unknown> = { ...fields };
  if (typeof fields.userId === "string") {
    const user = ids.indexOf(fields.userId);
    shown.userId = user >= 0 ? `${USERS[user]?.username}'s id` : fields.userId;
  }
  if (typeof fields.loggedInAt === "number") shown.loggedInAt = loginTime(fields.loggedInAt);
  if (typeof fields.confirmedAt === "number") shown.confirmedAt = clockTime(fields.confirmedAt);
  shown.ttl = ttlMs < 0 ? "never expires" : `${Math.round(ttlMs / MINUTE)} min`;
  return shown;
}

// ---- Rules: what is wrong at a step where your app and the reference differ, in words.

type S = Step<Action>;
type Held = Record<string, unknown>;
const ROUTES: Partial<Record<Action["do"], string>> = {
  visit: "GET /",
  me: "GET /me",
  account: "GET /account",
  logout: "POST /logout",
  confirm: "POST /confirm",
};
const route = (a: Action) => ROUTES[a.do] ?? a.do;
const actor = (a: Action) => ("who" in a ? name(a.who) : "");
const count = (o: Observation, op: string) => o.traffic[op] ?? 0;
const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
const FIELDS: Record<string, string> = {
  visits: "the visit count (visits)",
  userId: "the user (userId)",
  username: "the user's name (username)",
  loggedInAt: "when the login began (loggedInAt)",
  confirmedAt: "when the password was confirmed (confirmedAt)",
};

/** The user the visitor of A logged in as, if the scenario deleted that user. */
function deletedUserOf(side: Side, a: Action): number | undefined {
  const state = stateOf(side);
  const user = "who" in a ? state.knows[a.who] : undefined;
  return user !== undefined && [...state.deleted].some((id) => userIds.get(id) === user)
    ? user
    : undefined;
}
/** Users' ids → their index in USERS (filled when the world is made). */
const userIds = new Map<string, number>();

function statusRule({ action: a, yours: y, reference: r, referenceSide }: S) {
  if (y.status === r.status) return undefined;
  const state = stateOf(referenceSide);
  if (r.status >= 500 && y.status < 400) {
    const what =
      state.failing === "destroy"
        ? "delete the session from before the confirmation"
        : "save the session";
    return `claimed success though the store failed: ${route(a)} answered ${y.status} while the store could not ${what}; the visitor must learn it did not work (let the error reach Express: a 503)`;
  }
  if (r.status >= 500 && y.status < 500) {
    return `${route(a)} answered ${y.status} while the store failed: a broken store is not the visitor's mistake, and a 4xx tells them it is (let the error reach Express: a 503)`;
  }
  if (r.status === 503 && y.status >= 500) {
    return `${route(a)} answered ${y.status} while the store failed: the store is out of order, not the app; let the error reach Express, whose store error handler answers 503 (Service Unavailable: try again later)`;
  }
  if (a.do === "account" && r.status === 401 && y.status === 200) {
    const user = deletedUserOf(referenceSide, a);
    if (user !== undefined)
      return `a deleted user still opens the page: ${actor(a)}'s GET /account answered 200 (the reference: 401) after ${USERS[user]?.username}'s account was deleted from the database; the session only says who logged in, whether that user still exists is the users table's to say, on every request`;
  }
  if (a.do === "account" && r.status === 403 && y.status === 200 && "who" in a) {
    const at = state.confirmedAt[a.who];
    const sameUser = state.confirmedAt.findIndex(
      (when, other) =>
        when !== undefined && other !== a.who && state.knows[other] === state.knows[a.who],
    );
    if (at === undefined && sameUser >= 0) {
      return `another session of the same user was confirmed: ${actor(a)}'s GET /account opened (the reference: 403) because ${name(sameUser)}, logged in as the same user in a session of its own, confirmed the password; a confirmation belongs to the session in which the password was typed, not to the user`;
    }
    if (at !== undefined) {
      return `still open after 5 minutes: GET /account answered 200 ${state.minutes - at} minutes after ${actor(a)} confirmed the password (the reference: 403); a confirmation lasts 5 minutes from the moment the password was typed, by the app's clock (now()), however much the page is used`;
    }
    return `GET /account opened for a session in which the password was not confirmed (the reference: 403): a confirmation belongs to the session where the password was typed, kept in it (not in the process, nor in a cookie of its own)`;
  }
  if (a.do === "confirm" && a.password === "another's" && r.status === 401 && y.status === 200) {
    return `confirmed with another user's password: POST /confirm with another user's name and password answered 200 (the reference: 401); the password to check is the logged-in user's (the session says who), never a name the request sends`;
  }
  if (a.do === "account" && r.status === 200 && y.status === 403) {
    const confirmedAt = state.confirmedAt[a.who] ?? state.minutes;
    const ago = state.minutes - confirmedAt;
    if (state.restartedAt !== undefined && state.restartedAt >= confirmedAt)
      return `the confirmation did not outlive a restart: GET /account answered 403 ${ago} minutes after ${actor(a)} confirmed the password (the reference: 200), and the app restarted in between; what the app keeps in its process's memory, a restart (or another process of the app) does not have: keep the confirmation in the session`;
    if (ago > 0)
      return `closed too early: GET /account answered 403 ${ago} minutes after ${actor(a)} confirmed the password (the reference: 200); the confirmation lasts 5 full minutes (now() - confirmedAt < 5 minutes, in milliseconds, not rounded)`;
    return "GET /account did not open right after the password was confirmed (the reference: 200)";
  }
  if (a.do === "confirm" && a.password === "in the URL" && r.status === 400 && y.status < 300) {
    return `took the password from the URL: POST /confirm?password=… with an empty body answered ${y.status} (the reference: 400, no password); a password goes in the body, never in a URL, which logs, the browser's history and Referer headers keep`;
  }
  if (a.do === "confirm" && r.status === 401 && y.status === 200) {
    return `a password that is not the user's was accepted: POST /confirm ${describe(a).split("/confirm ")[1]} answered 200 (the reference: 401); compare the password as it was typed, every character of it: no trimming, no change of case, no normalisation beyond what Users.verify does`;
  }
  if (a.do === "confirm" && r.status === 200 && y.status !== 200) {
    return `the user's own password was refused: POST /confirm ${describe(a).split("/confirm ")[1]} answered ${y.status} (the reference: 200); every character counts, however long the password (up to 128) and whatever its letters, and a browser's form is as good as JSON`;
  }
  if (a.do === "confirm" && y.status === 400 && r.status !== 400 && r.status < 500) {
    return `a password was refused unchecked: POST /confirm ${describe(a).split("/confirm ")[1]} answered 400 (the reference checked it: ${r.status}); step 05 lets a password be up to 128 characters in any script (up to 512 bytes of UTF-8), and every password sent is checked`;
  }
  if (r.status === 401 && y.status === 200) {
    return `${route(a)} answered 200 where the reference answers 401: ${actor(a)}'s cookie names a session that should be gone (the session from before a confirmation, or a logged-out one)`;
  }
  if (r.status === 200 && y.status === 401) {
    return `${actor(a)} is not logged in any more (${route(a)} answered 401, the reference 200): the visitor was logged out`;
  }
  if (y.status >= 500) {
    return `${route(a)} failed (${y.status}) where the reference answered ${r.status}: what it threw is printed with the check's output`;
  }
  return `${route(a)} answered ${y.status} where ${r.status} was expected`;
}

/** What differs between two versions of one session, field by field, in words. */
function fieldsRule(a: Action, mine: Held, theirs: Held, owner: string): string[] {
  const said: string[] = [];
  if (theirs.userId !== undefined && mine.userId === undefined) {
    said.push(
      `the new session is no longer logged in: ${owner}'s session after ${route(a)} lacks the user (userId, username, loggedInAt must come along)`,
    );
  }
  for (const field of Object.keys({ ...mine, ...theirs })) {
    if (field === "ttl" || same(mine[field], theirs[field])) continue;
    const loginGone = theirs.userId !== undefined && mine.userId === undefined;
    if (loginGone && ["userId", "username", "loggedInAt"].includes(field)) continue;
    const what = FIELDS[field] ?? field;
    if (mine[field] === undefined) {
      said.push(
        field === "visits"
          ? `the new session lost the visit count: after ${route(a)}, ${owner}'s session holds no visits where it held ${String(theirs[field])}; what the visitor did before comes along`
          : field === "confirmedAt"
            ? `the session does not hold confirmedAt after ${route(a)}: the confirmation belongs in the session, in Redis (where every process of the app finds it, and where it ends with the session), not in the process's memory or a cookie of its own`
            : `${owner}'s session no longer holds ${what} after ${route(a)}`,
      );
    } else if (theirs[field] === undefined) {
      said.push(
        `${owner}'s session holds ${field}: ${JSON.stringify(mine[field])} after ${route(a)}, which the reference's does not hold${a.do === "confirm" ? ": only the login, the visit count and the confirmation's time belong in the new session" : ""}`,
      );
    } else if (field === "loggedInAt") {
      said.push(
        `the confirmation moved when the login began: loggedInAt says ${String(mine[field])} where it should stay "${String(theirs[field])}"; confirming a password is not a new login, and step 05's 8-hour limit counts from the login`,
      );
    } else if (field === "confirmedAt" && a.do === "account") {
      said.push(
        `using the page made the confirmation last longer: ${route(a)} moved confirmedAt to ${String(mine[field])} (it says ${String(theirs[field])}, when the password was typed); the 5 minutes count from the password, however much the page is used`,
      );
    } else if (field === "confirmedAt") {
      said.push(
        `confirmedAt holds ${String(mine[field])} where the app's clock (now()) says ${String(theirs[field])}: take the time from now(), when the password was confirmed`,
      );
    } else {
      said.push(
        `${owner}'s session holds ${what} = ${JSON.stringify(mine[field])} where ${JSON.stringify(theirs[field])} was expected`,
      );
    }
  }
  if (!same(mine.ttl, theirs.ttl)) {
    said.push(
      `the session now lives ${String(mine.ttl)} (the reference: ${String(theirs.ttl)}): the confirmation's 5 minutes are its own; the session keeps step 05's 30-minute idle timeout`,
    );
  }
  return said;
}

function storeRule({ action: a, yours: y, reference: r, owners, referenceSide }: S) {
  // Sessions are named #1, #2… in the order they were made: those up to `made` existed
  // before this request, the others it made.
  const made = stateOf(referenceSide).sessionsBefore;
  const existed = (label: string) => Number(label.slice(1)) <= made;
  const mine = Object.keys(y.store);
  const theirs = Object.keys(r.store);
  const owner = (label: string) => owners.get(label) ?? actor(a);
  const said: string[] = [];
  const kept = mine.filter((label) => existed(label) && !(label in r.store));
  const madeByYours = mine.filter((label) => !existed(label));
  const madeByReference = theirs.filter((label) => !existed(label));
  for (const label of kept) {
    if (a.do === "confirm" && madeByYours.length === 0) {
      said.push(
        `the session id did not change when the password was confirmed: ${owner(label)}'s session (${label}) is the same one, now confirmed, so whoever knew its id before (a copied cookie, an id an attacker planted) is confirmed too`,
      );
    } else if (a.do === "confirm") {
      said.push(
        `the session from before the confirmation is still in the store: ${owner(label)}'s session (${label}) stays logged in beside the new one, so a copy of the old cookie still works`,
      );
    } else {
      said.push(
        `${route(a)} left ${owner(label)}'s session (${label}) in the store where it should be gone`,
      );
    }
  }
  for (const label of theirs.filter((l) => existed(l) && !(l in y.store))) {
    said.push(
      a.do === "account" || a.do === "me" || a.do === "visit"
        ? `the visitor was logged out: ${route(a)} ended ${owner(label)}'s session (${label}); an expired or missing confirmation only closes the page, the login goes on`
        : `${route(a)} removed ${owner(label)}'s session (${label}) from the store`,
    );
  }
  if (madeByReference.length > madeByYours.length && kept.length === 0) {
    said.push(
      `${route(a)} left no new session where the reference made one: ${actor(a)} is no longer logged in`,
    );
  }
  if (madeByYours.length > madeByReference.length && kept.length === 0) {
    said.push(`${route(a)} made a session (${madeByYours.join(", ")}) that the reference does not`);
  }
  if (a.do === "confirm" && r.status === 401 && madeByYours.length > 0) {
    said.push(
      "a wrong password changed the session: only the right password renews the id (else whoever sends a wrong one moves the login to a new id, and the other holders of the cookie lose it)",
    );
  }
  // When the store failed, what the sessions hold is the store's doing, not yours.
  if (r.status >= 500) return said.join("\n") || undefined;
  for (const label of theirs) {
    if (!(label in y.store) || same(y.store[label], r.store[label])) continue;
    said.push(...fieldsRule(a, y.store[label] as Held, r.store[label] as Held, owner(label)));
  }
  return said.join("\n") || undefined;
}

function cookieRule({ action: a, yours: y, reference: r }: S) {
  if (same(y.cookies, r.cookies)) return undefined;
  return `${route(a)} sets cookies differently: ${JSON.stringify(y.cookies)} where ${JSON.stringify(r.cookies)} was expected`;
}

function bodyRule({ action: a, yours: y, reference: r }: S) {
  if (same(y.body, r.body) || y.status !== r.status) return undefined;
  return `${route(a)} answered ${JSON.stringify(y.body)} where ${JSON.stringify(r.body)} was expected`;
}

function trafficRule({ action: a, yours: y, reference: r }: S) {
  const said: string[] = [];
  const scans = (o: Observation) => count(o, "KEYS") + count(o, "SCAN") + count(o, "all");
  if (scans(y) > scans(r)) {
    said.push(
      `looked through every session in the store to answer ${route(a)} (KEYS, SCAN or all()): ask for the visitor's own session only`,
    );
  }
  if (count(y, "password checks") > count(r, "password checks")) {
    said.push(
      `${route(a)} checked a password ${count(y, "password checks")} times where ${count(r, "password checks")} was enough: each check costs tens of milliseconds of scrypt, on purpose`,
    );
  }
  if (count(y, "password checks") < count(r, "password checks")) {
    said.push(
      `${route(a)} did not check the password where the reference did: the password is checked first, and only a right one changes the session`,
    );
  }
  const writes = (o: Observation) => count(o, "set");
  if (a.do === "account" && writes(y) > writes(r)) {
    said.push(
      "GET /account wrote the session: a page that only reads the session must not write it (rolling: true already moves its expiry)",
    );
  } else if (a.do === "confirm" && writes(y) < writes(r)) {
    said.push(
      "POST /confirm answered before the new session was saved: express-session writes it only as the answer goes out, so when the store fails then, the visitor has already been told it worked (claimed success though the store failed)",
    );
  } else if (writes(y) !== writes(r)) {
    said.push(
      `${route(a)} wrote the session ${writes(y)} times where ${writes(r)} writes were expected`,
    );
  }
  if (y.early && !r.early) {
    said.push(
      `answered before the store confirmed: ${route(a)} sent its answer while the store was still deleting or writing the session`,
    );
  }
  return said.join("\n") || undefined;
}

// ---- The model.

const who = fc.constantFrom(0, 0, 0, 1, 1, 2);
const clientActions: [fc.Arbitrary<Action>, number][] = [
  [
    fc.record({
      do: fc.constant("confirm" as const),
      who,
      password: fc.constantFrom<Password>(
        "own",
        "own",
        "own",
        "wrong",
        "none",
        "another's",
        "padded",
        "space after",
        "space before",
        "trailing",
        "shouted",
        "wide",
        "zero-width",
        "form",
        "in the URL",
      ),
    }),
    5,
  ],
  [fc.record({ do: fc.constant("account" as const), who }), 4],
  [fc.record({ do: fc.constant("login" as const), who, as: fc.constantFrom(0, 0, 1) }), 3],
  // Any whole minute up to five, the fifth itself too: the end of a confirmation is exact.
  [
    fc.record({
      do: fc.constant("wait" as const),
      minutes: fc.constantFrom(4, 2, 5, 1, 3, 4.5, 0.5, 0.75),
    }),
    3,
  ],
  [fc.record({ do: fc.constant("visit" as const), who }), 2],
  [fc.record({ do: fc.constant("copy" as const), who, of: who }), 2],
  [fc.record({ do: fc.constant("me" as const), who }), 1],
  [fc.record({ do: fc.constant("logout" as const), who }), 1],
  [fc.record({ do: fc.constant("other-cookie" as const), who }), 1],
  [fc.constant({ do: "restart" as const }), 1],
];
// The fault first: fast-check draws it most often and shrinks towards it.
const fault: fc.Arbitrary<Action> = fc.record({
  do: fc.constant("fail" as const),
  op: fc.constantFrom("destroy" as const, "set" as const),
  on: fc.constantFrom(true, false),
});

/** What node-redis throws when Redis goes away mid-command: an outage, a 503 (step 03). */
class SocketClosedUnexpectedlyError extends Error {}
const redisGone = (op: string) =>
  new SocketClosedUnexpectedlyError(`Socket closed unexpectedly (the check made ${op} fail)`);

function model(module: Module, w: World, examples: Action[][]): Model<Action> {
  return {
    visitors: VISITORS,
    action: fc.oneof(
      ...[...clientActions, [fault, 1] as const].map(([arbitrary, weight]) => ({
        arbitrary,
        weight,
      })),
    ),
    examples,
    describe,
    actor: (a) => ("who" in a ? a.who : undefined),
    perform: (a, side) => perform(a, side, w),
    body: (_a, answer, side) => body(answer, side),
    cookie,
    session: (held) => session(held, w.ids),
    allowed: [
      {
        // The body and cookies of a 503 are the store error handler's; what express-session
        // does with the store after it (regenerate's new, empty session written, or the old
        // one touched) is its own.
        name: "any body, cookies and store calls with a 5xx",
        apply: (o) =>
          o.status >= 500 ? { ...o, body: null, cookies: [], traffic: {}, early: false } : o,
      },
      {
        // A count of nothing yet, written out as 0: the page counts on from it as from none.
        name: "visits: 0 where the session held no visits",
        apply: (o) => ({
          ...o,
          store: Object.fromEntries(
            Object.entries(o.store).map(([label, data]) => {
              const { visits, ...rest } = data as Record<string, unknown>;
              return [label, visits === 0 ? rest : data];
            }),
          ),
        }),
      },
      {
        // A session that holds nothing (no login, no visits) is no one's: left or not alike.
        name: "sessions that hold nothing",
        apply: (o) => ({
          ...o,
          store: Object.fromEntries(
            Object.entries(o.store).filter(([, data]) =>
              Object.keys(data as object).some((field) => field !== "ttl"),
            ),
          ),
        }),
      },
      {
        // A confirmation that is over opens nothing: kept in the session, or dropped from it
        // (with the write that drops it) when the page finds it over, alike.
        name: "a confirmation that is over: kept, or dropped by GET /account",
        apply: (o, a, side) => {
          const state = stateOf(side);
          const over = (at: unknown) =>
            typeof at === "string" &&
            at.startsWith("minute ") &&
            state.minutes - Number(at.slice("minute ".length)) >= 5 - 1e-9;
          const store = Object.fromEntries(
            Object.entries(o.store).map(([label, data]) => {
              const { confirmedAt, ...rest } = data as Record<string, unknown>;
              return [label, over(confirmedAt) ? rest : data];
            }),
          );
          const confirmedAt = "who" in a ? state.confirmedAt[a.who] : undefined;
          const dropping =
            a.do === "account" &&
            o.status === 403 &&
            confirmedAt !== undefined &&
            state.minutes - confirmedAt >= 5 - 1e-9;
          // The write: the store's set(), Redis's SET, and the final store's look for a tombstone.
          const { set: _set, SET: _SET, EXISTS: _EXISTS, ...traffic } = o.traffic;
          return { ...o, store, traffic: dropping ? traffic : o.traffic };
        },
      },
      {
        name: "more or fewer reads of the visitor's own session (get, GET)",
        apply: (o) => {
          const { get: _get, GET: _GET, ...traffic } = o.traffic;
          return { ...o, traffic };
        },
      },
    ],
    rules: [statusRule, storeRule, cookieRule, bodyRule, trafficRule],
    probe: (side) => w.redis.probe(side),
    createApp: (side) => appFor(side, module.stepUpRoutes, join(w.dir, "step-up.ts"), w),
    createReference: (side) =>
      appFor(side, reference.stepUpRoutes, join(import.meta.dirname, "solution", "step-up.ts"), w),
  };
}

const A = 0;
const B = 1;
const C = 2;
const login = (who: number, as = 0): Action => ({ do: "login", who, as });
const confirm = (who: number, password: Password = "own"): Action => ({
  do: "confirm",
  who,
  password,
});
const account = (who: number): Action => ({ do: "account", who });
const visit = (who: number): Action => ({ do: "visit", who });
const wait = (minutes: number): Action => ({ do: "wait", minutes });

const failing = (op: "destroy" | "set"): Action => ({ do: "fail", op, on: true });

export default defineCheck<Module>({
  entry: "step-up.ts",
  cases: [
    {
      name: "POST /confirm and GET /account answer like the reference, for any visitors in any order, with a store that may fail",
      timeoutMs: 30_000,
      run: async (context) =>
        differential(
          model(context.module, await world(context), [
            // An id known before the confirmation: a copy made by someone else.
            [login(A), { do: "copy", who: B, of: A }, confirm(A), account(B), account(A)],
            // What the visitor did before comes along.
            [login(A), visit(A), confirm(A), visit(A)],
            // Five minutes from the password, however much the page is used.
            [login(A), confirm(A), wait(4), account(A), wait(2), account(A)],
            [login(A), confirm(A), wait(5), account(A)],
            // Open until the fifth minute is over, not until it is half gone.
            [login(A), confirm(A), wait(4.5), account(A), wait(0.5), account(A)],
            // Confirmed partway through a minute: five minutes are 300 seconds, not clock minutes.
            [login(A), wait(0.75), confirm(A), wait(4.5), account(A)],
            // Confirmed again while confirmed: a new id, and five minutes from the new password.
            [
              login(A),
              confirm(A),
              wait(2),
              { do: "copy", who: B, of: A },
              confirm(A),
              wait(4),
              account(A),
              account(B),
            ],
            // The store fails to delete the old session, or to save the new one.
            [login(A), failing("destroy"), confirm(A), { do: "me", who: A }],
            [login(A), failing("set"), confirm(A), account(A)],
            // Another device of the same user; a wrong password, none.
            [login(A), login(C), confirm(A), account(C), account(A)],
            [login(A, 1), confirm(A, "wrong"), account(A), confirm(A, "none"), account(A)],
            // Another user's name and password: the password must be the logged-in user's.
            [login(A), confirm(A, "another's"), account(A)],
            [login(A), confirm(A, "padded"), account(A)],
            // A double submit: the second confirmation renews the id again, at once.
            [login(A), confirm(A), { do: "copy", who: B, of: A }, confirm(A), account(B)],
            // The last millisecond of the five minutes is still inside them, from a password
            // typed half a second into a minute: the time is now()'s, to the millisecond.
            [login(A), wait(1 / 120), confirm(A), wait(5 - 1 / MINUTE), account(A)],
            // A password as typed: every character of it, from JSON or a form, never a URL.
            [login(A, 1), confirm(A), account(A)],
            [
              login(A),
              confirm(A, "shouted"),
              confirm(A, "space after"),
              confirm(A, "space before"),
              confirm(A, "trailing"),
              confirm(A, "wide"),
              confirm(A, "zero-width"),
            ],
            // The session says who logged in; the database says whether that user still is.
            [login(A), confirm(A), { do: "delete-user", as: 0 }, account(A)],
            [login(A), confirm(A, "in the URL"), confirm(A, "form"), account(A)],
            // A browser that holds other cookies too; a logout after the confirmation.
            [login(A), { do: "other-cookie", who: A }, confirm(A), account(A)],
            [login(A), confirm(A), { do: "logout", who: A }, account(A)],
            [confirm(B), account(B), visit(B), login(B, 1), wait(4), wait(2), account(B)],
            // A confirmation lives in the session, which outlives the process.
            [login(A), confirm(A), { do: "restart" }, wait(1), account(A)],
          ]),
          { runs: 6, maxActions: 7 },
        ),
    },
  ],
});
