/**
 * Exercise 04: sessions in the collection workshop_sessions, ending 2 hours after the last
 * request and at most 10 minutes early; a request that changes the session is written at once,
 * a request that changes nothing writes as rarely as that allows (its touch may wait from 5 to
 * 10 minutes after the last write, no less, no more).
 *
 * A differential check (test/checks/differential.ts): scenarios of three visitors (pages, the
 * images, styles, scripts, fonts and fetch() calls that come with them, sent as a browser sends
 * them or with no such headers, time passing, a MongoDB that refuses writes, or reads), drawn
 * at random, run on your app and on the reference side by side, each with a MongoDB database of
 * its own. After every step the two must look the same to a visitor (status, visit count, the
 * cookie's expiry, the page's inspector) and to an operator (the documents in the database:
 * where, what, when each expires, and whether anything deletes them once ended; the commands
 * the driver sent, seen with command monitoring on the MongoClient each app is given), but for
 * the differences the policy allows.
 *
 * Nobody waits. "N minutes pass" ages what each side holds by N minutes: in every document its
 * `expires`, its `lastModified` and the cookie expiry written in the session; the expiry of
 * each visitor's cookie (a browser drops an expired one). The app is built on a clock 13
 * minutes behind, so that a time taken once at start-up is not taken for "now".
 *
 * The 5 classic scenarios, then 10 drawn ones of up to 7 steps (CHECK_RUNS, CHECK_DRAW to draw
 * others).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Express } from "express";
import fc from "fast-check";
import { Collection, type CommandStartedEvent, type Db, type Document, MongoClient } from "mongodb";
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
import { OPS, StoreProbe } from "../../test/checks/store-probe.ts";
import * as reference from "./solution/app.ts";

type Module = typeof import("./solution/app.ts");

const COLLECTION = "workshop_sessions";
const MINUTE = 60_000;
const LIFETIME = 120; // minutes, the policy's
const EARLY = 10; // minutes a session may end early: how far its stored expiry may lag
const MIN_WAIT = 5; // minutes an unchanged session may go unwritten in any case (README)
/** Times are compared to the quarter minute, and the policy's limits with this slack. */
const SLACK = 0.2;
/** The app is built on a clock this far behind. */
const START_BEHIND = 13 * MINUTE;
const VISITORS = 3;
/** The assets a page comes with, and what a browser says of each (Sec-Fetch-Dest, Accept). */
const ASSETS = [
  {
    path: "/favicon.ico",
    dest: "image",
    accept: "image/avif,image/webp,image/apng,image/*,*/*;q=0.8",
  },
  { path: "/style.css", dest: "style", accept: "text/css,*/*;q=0.1" },
  { path: "/app.js", dest: "script", accept: "*/*" },
  { path: "/img/logo.png", dest: "image", accept: "image/avif,image/webp,image/*,*/*;q=0.8" },
  { path: "/fonts/body.woff2", dest: "font", accept: "*/*" },
  // A script's fetch() of the page's data: a request of the page too, that changes nothing.
  { path: "/api/prefs", dest: "empty", accept: "application/json", mode: "cors" },
  // A video, the web app manifest, and a fetch() that revalidates what the browser cached: each
  // a request of the visitor's, that changes nothing.
  { path: "/media/intro.mp4", dest: "video", accept: "*/*" },
  { path: "/manifest.webmanifest", dest: "manifest", accept: "*/*", mode: "cors" },
  {
    path: "/api/news",
    dest: "empty",
    accept: "application/json",
    mode: "cors",
    headers: { "if-none-match": '"v1"' },
  },
];

/** The assets an "assets" step asks for: COUNT of them, from FIRST on. */
const assetsOf = (a: { count: number; first?: number }) =>
  ASSETS.slice(a.first ?? 0, (a.first ?? 0) + a.count);

type Action =
  | { do: "visit"; who: number; page: boolean }
  /** BROWSER: sent as a browser sends them for a page (Sec-Fetch-*), or with no such headers. */
  | { do: "assets"; who: number; count: number; browser: boolean; first?: number }
  | { do: "wait"; minutes: number }
  | { do: "refuse-writes"; on: boolean }
  | { do: "refuse-reads"; on: boolean };

/** Commands a driver sends for itself, or a store once when it starts: not a request's work. */
const IGNORED = new Set([
  "hello",
  "isMaster",
  "ismaster",
  "ping",
  "endSessions",
  "buildInfo",
  "getMore",
  "killCursors",
  "createIndexes",
  "listIndexes",
  "saslStart",
  "saslContinue",
]);
/** Commands that read more than one session: counted as such. */
const READ_ALL = new Set(["aggregate", "count", "distinct", "listCollections", "collStats"]);

/** What the check keeps about one side in one scenario. */
interface SideClock {
  db: string;
  /** Every collection the app's commands named (the embedded server cannot list them). */
  collections: Set<string>;
  /** Ms of (pretended) time since the app started. */
  now: number;
  /** By session id: when its document was last written, when its visitor last sent a request. */
  lastWrite: Map<string, number>;
  lastRequest: Map<string, number>;
  /** When each visitor's session cookie expires (ms, on the real clock as aged). */
  cookieExpires: (number | undefined)[];
  /** Minutes since the acting visitor's session was last written, before this step. */
  sinceWrite: number | undefined;
  /**
   * What deletes an ended session's document: a TTL index on `expires` (the app asked MongoDB
   * for one), or a timer of the app's (connect-mongo's autoRemove "interval").
   */
  ttlIndex: boolean;
  intervals: number;
  /** The timers' callbacks, run by the check when an ended document waits for them. */
  cleanups: (() => unknown)[];
  /** While the check runs them: their commands are not a request's work. */
  cleaning: boolean;
  /**
   * By session id: the visits its visitor was last told, for a session stored encrypted
   * (connect-mongo's crypto option), whose visits the document does not show.
   */
  answered: Map<string, number>;
}

const clocks = new WeakMap<StoreProbe, SideClock>();
const clockOf = (side: Side) => clocks.get(side.probe) as SideClock;
const name = (i: number) => "ABC"[i] ?? "?";
const quarter = (ms: number) => Math.round((ms / MINUTE) * 4) / 4;
const minutes = (n: number) => `${n} minute${n === 1 ? "" : "s"}`;
const JSON_CLIENT = { accept: "application/json" };
const HTML_CLIENT = { accept: "text/html" };

/** The session id inside a session cookie's value (s%3A<id>.<signature>). */
const idIn = (value: string | undefined) =>
  /^s:([^.]+)\./.exec(decodeURIComponent(value ?? ""))?.[1];

/** Runs FN on a clock START_BEHIND behind (FN is synchronous): the app's start-up. */
function onClockBehind<T>(fn: () => T): T {
  const RealDate = globalThis.Date;
  class Behind extends RealDate {
    constructor(...args: unknown[]) {
      super(...((args.length ? args : [RealDate.now() - START_BEHIND]) as [number]));
    }
    static override now() {
      return RealDate.now() - START_BEHIND;
    }
  }
  globalThis.Date = Behind as DateConstructor;
  try {
    return fn();
  } finally {
    globalThis.Date = RealDate;
  }
}

/** Counts one command the app's driver sent into PROBE, and notes the sessions it wrote. */
function heard(event: CommandStartedEvent, probe: StoreProbe, clock: SideClock): void {
  const command = event.command as Document;
  const kind = event.commandName;
  const indexes = kind === "createIndexes" ? (command.indexes as Document[] | undefined) : [];
  // An index's key is a Map (the driver keeps the fields' order).
  const keyed = (i: Document) => (i.key instanceof Map ? i.key.has("expires") : "expires" in i.key);
  // Only an index on the sessions' own collection deletes them.
  const onSessions = command.createIndexes === COLLECTION;
  if (onSessions && indexes?.some((i) => i.expireAfterSeconds !== undefined && keyed(i)))
    clock.ttlIndex = true;
  if (IGNORED.has(kind) || clock.cleaning) return;
  // w: 0: MongoDB is asked not to answer, so a failed write is never known.
  const unconfirmed = (command.writeConcern as Document | undefined)?.w === 0;
  if (unconfirmed && (kind === "update" || kind === "insert")) probe.count(UNCONFIRMED);
  if (kind === "update") {
    for (const { q, u } of (command.updates ?? []) as { q?: Document; u?: Document }[]) {
      const id = q?._id;
      if (typeof id === "string") clock.lastWrite.set(id, clock.now);
      const whole = u?.$set && "session" in (u.$set as Document);
      probe.count(whole ? "writes of the session" : "writes of its expiry");
    }
    return;
  }
  if (kind === "insert") {
    for (const document of (command.documents ?? []) as Document[]) {
      if (typeof document._id === "string") clock.lastWrite.set(document._id, clock.now);
      probe.count("writes of the session");
    }
    return;
  }
  if (kind === "find") {
    const id = (command.filter as Document | undefined)?._id;
    probe.count(typeof id === "string" ? "reads of one session" : "reads of every session");
    return;
  }
  probe.count(READ_ALL.has(kind) ? "reads of every session" : kind);
}

// ---- What visitors do.

const who = fc.constantFrom(0, 0, 1, 2);
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    arbitrary: fc.record({
      do: fc.constant("visit" as const),
      who,
      page: fc.constantFrom(false, false, true),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      do: fc.constant("assets" as const),
      who,
      count: fc.constantFrom(1, 3, ASSETS.length),
      first: fc.constantFrom(0, 0, 1, 2, 3, 4, 5, 6, 8),
      browser: fc.boolean(),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      do: fc.constant("wait" as const),
      // Never a sum between 110 and 120 minutes: there, ending early or not are both right.
      minutes: fc.constantFrom(12, 4, 9.5, 1, 3, 6, 7, 11, 125),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ do: fc.constant("refuse-writes" as const), on: fc.boolean() }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ do: fc.constant("refuse-reads" as const), on: fc.boolean() }),
    weight: 1,
  },
);

/**
 * The faults: the databases whose writes, or reads, MongoDB refuses now, one per side.
 * connect-mongo writes a session (set) and its expiry (touch) with updateOne, and reads one
 * (get) with findOne: refused in the collection's class, however the store holds it. The
 * check's own client reads with find, and writes with bulkWrite and deleteMany: never refused.
 */
const refusing = new Set<string>();
const refusingReads = new Set<string>();
const updateOne = Collection.prototype.updateOne;
Collection.prototype.updateOne = function (this: Collection, ...args: unknown[]) {
  if (refusing.has(this.dbName))
    return Promise.reject(new Error("MongoDB refused the write (a fault the check injected)"));
  return (updateOne as (...a: unknown[]) => unknown).apply(this, args);
} as typeof updateOne;
const findOne = Collection.prototype.findOne;
Collection.prototype.findOne = function (this: Collection, ...args: unknown[]) {
  if (refusingReads.has(this.dbName))
    return Promise.reject(new Error("MongoDB refused the read (a fault the check injected)"));
  return (findOne as (...a: unknown[]) => unknown).apply(this, args);
} as typeof findOne;

function describe(a: Action): string {
  switch (a.do) {
    case "visit":
      return `${name(a.who)}: GET /${a.page ? " (a browser: the page)" : ""}`;
    case "assets":
      return `${name(a.who)}: ${assetsOf(a)
        .map(({ path, headers }) => `GET ${path}${headers && a.browser ? " (If-None-Match)" : ""}`)
        .join(", ")} (requests that change nothing${
        a.browser
          ? `; a browser's, for a page: Sec-Fetch-Dest ${assetsOf(a)
              .map(({ dest }) => dest)
              .join(", ")}`
          : ""
      })`;
    case "wait":
      return `${minutes(a.minutes)} pass`;
    case "refuse-writes":
      return a.on
        ? "MongoDB starts refusing writes (a failing store)"
        : "MongoDB accepts writes again";
    case "refuse-reads":
      return a.on
        ? "MongoDB starts refusing reads (it cannot find sessions for now)"
        : "MongoDB answers reads again";
  }
}

/** Makes what SIDE holds MS older: its documents and its visitors' cookies. */
async function age(admin: MongoClient, side: Side, ms: number): Promise<void> {
  const clock = clockOf(side);
  const db = admin.db(clock.db);
  const older = (date: unknown) =>
    date instanceof Date ? new Date(date.getTime() - ms) : undefined;
  for (const collection of clock.collections) {
    const changes = (await db.collection(collection).find({}).toArray()).map((document) => {
      const change: Document = {};
      for (const field of ["expires", "lastModified"]) {
        const moved = older(document[field]);
        if (moved) change[field] = moved;
      }
      const session = agedSession(document.session, ms);
      if (session !== undefined) change.session = session;
      return { updateOne: { filter: { _id: document._id }, update: { $set: change } } };
    });
    if (changes.length > 0) await db.collection(collection).bulkWrite(changes);
  }
  clock.cookieExpires.forEach((expires, i) => {
    if (expires === undefined) return;
    clock.cookieExpires[i] = expires - ms;
    if (expires - ms <= Date.now()) {
      side.visitors[i]?.cookies.delete(COOKIE_NAME);
      clock.cookieExpires[i] = undefined;
    }
  });
  clock.now += ms;
}

/** The session (a JSON string, or an object with stringify: false) with its cookie's expiry MS older. */
function agedSession(session: unknown, ms: number): unknown {
  const parsed = typeof session === "string" ? tryJson(session) : session;
  const cookie = (parsed as { cookie?: { expires?: unknown } } | undefined)?.cookie;
  if (!cookie || (typeof cookie.expires !== "string" && !(cookie.expires instanceof Date)))
    return undefined;
  cookie.expires = new Date(new Date(cookie.expires).getTime() - ms).toISOString();
  return typeof session === "string" ? JSON.stringify(parsed) : parsed;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function perform(a: Action, side: Side, admin: MongoClient): Promise<Answer | undefined> {
  const clock = clockOf(side);
  if (a.do === "refuse-writes") {
    if (a.on) refusing.add(clock.db);
    else refusing.delete(clock.db);
    return undefined;
  }
  if (a.do === "refuse-reads") {
    if (a.on) refusingReads.add(clock.db);
    else refusingReads.delete(clock.db);
    return undefined;
  }
  if (a.do === "wait") {
    clock.sinceWrite = undefined;
    await age(admin, side, a.minutes * MINUTE);
    return { status: 200, text: "", header: () => undefined, setCookies: [] };
  }
  const visitor = side.visitors[a.who];
  if (!visitor) return undefined;
  const before = idIn(visitor.cookie(COOKIE_NAME));
  const written = before === undefined ? undefined : clock.lastWrite.get(before);
  clock.sinceWrite = written === undefined ? undefined : (clock.now - written) / MINUTE;
  let answer: Answer | undefined;
  if (a.do === "visit") {
    answer = await visitor.send("GET", "/", a.page ? HTML_CLIENT : JSON_CLIENT);
  } else {
    for (const { path, dest, accept, mode, headers: more } of assetsOf(a)) {
      const headers: Record<string, string> = a.browser
        ? {
            accept,
            "sec-fetch-dest": dest,
            "sec-fetch-mode": mode ?? "no-cors",
            "sec-fetch-site": "same-origin",
            ...more,
          }
        : {};
      answer = await visitor.send("GET", path, headers);
    }
  }
  const after = idIn(visitor.cookie(COOKIE_NAME)) ?? before;
  if (a.do === "visit" && after && answer && answer.status < 400) {
    const told = (tryJson(answer.text) as { visits?: unknown } | undefined)?.visits;
    const had = after === before ? (clock.answered.get(after) ?? 0) : 0;
    clock.answered.set(after, typeof told === "number" ? told : had + 1);
  }
  side.notes.renewal = before !== undefined && after === before;
  if (after) clock.lastRequest.set(after, clock.now);
  for (const line of answer?.setCookies ?? []) {
    const cookie = cookieView(line);
    if (cookie.name !== COOKIE_NAME) continue;
    clock.cookieExpires[a.who] =
      typeof cookie.expiresIn === "number" ? Date.now() + cookie.expiresIn * MINUTE : undefined;
  }
  return answer;
}

const INSPECTOR = "What the store holds for this session";

function body(a: Action, answer: Answer, side: Side): unknown {
  if (a.do === "wait") return "";
  if (answer.status >= 400) return a.do === "assets" ? "(not found)" : "(an error)";
  if (a.do === "visit" && a.page) {
    return answer.text.includes(INSPECTOR)
      ? "(the page shows the session's document)"
      : "(the page shows no document)";
  }
  try {
    const json = JSON.parse(answer.text) as { visits: number; sessionId: string };
    return {
      visits: json.visits,
      session: side.labels.get(json.sessionId) ?? "(a session not in the database)",
    };
  } catch {
    return answer.text.slice(0, 60);
  }
}

/** One Set-Cookie line as compared: its expiry in minutes from now. */
function cookieView(line: string) {
  const { pair, attributes } = setCookieParts(line);
  const maxAge = attributes.get("max-age");
  const expires = attributes.get("expires");
  const ms =
    maxAge !== undefined
      ? Number(maxAge) * 1000
      : expires !== undefined
        ? Date.parse(expires) - Date.now()
        : undefined;
  return {
    name: pair.slice(0, pair.indexOf("=")),
    expiresIn: ms === undefined ? "(no expiry: it lives until the browser closes)" : quarter(ms),
    httpOnly: attributes.has("httponly"),
    path: attributes.get("path") ?? "(none)",
  };
}

const NEVER_DELETED = "(ended, and nothing will ever delete it)";
const UNCONFIRMED = "writes MongoDB does not confirm (w: 0)";
/**
 * The clock of the side whose app is starting, through all its start-up sets off: the timers
 * it sets are counted there (they run as usual). connect-mongo sets its "interval" timer once
 * the client answers, after createApp has returned.
 */
const starting = new AsyncLocalStorage<SideClock>();
const realInterval = globalThis.setInterval;
globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
  const clock = starting.getStore();
  if (clock) {
    clock.intervals++;
    const [fn, , ...rest] = args;
    if (typeof fn === "function") clock.cleanups.push(() => fn(...rest));
  }
  return realInterval(...args);
}) as typeof setInterval;
/** A session document as compared: where it is, its visits, how far its expiry lags. */
interface DocumentView {
  collection: string;
  visits: unknown;
  /** Minutes by which `expires` falls short of 2 hours after the session's last request. */
  lag: number | string;
}

/**
 * With ended documents and no TTL index: runs the app's timers once (as if their time had
 * come), and waits a little for the documents to go. What is still there is never deleted.
 */
async function cleanUp(db: Db, clock: SideClock): Promise<void> {
  const ended = async () => {
    let n = 0;
    for (const collection of clock.collections) {
      n += await db.collection(collection).countDocuments({ expires: { $lte: new Date() } });
    }
    return n;
  };
  if ((await ended()) === 0) return;
  clock.cleaning = true;
  try {
    for (const cleanup of clock.cleanups) {
      try {
        await cleanup();
      } catch {
        // a timer that fails deletes nothing: what stays is seen below
      }
    }
    for (let tries = 0; tries < 15 && (await ended()) > 0; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    clock.cleaning = false;
  }
}

/** The live session documents of SIDE's database (any collection), id → view. */
async function documents(admin: MongoClient, clock: SideClock) {
  const db = admin.db(clock.db);
  if (!clock.ttlIndex && clock.cleanups.length > 0) await cleanUp(db, clock);
  const views: Record<string, DocumentView> = {};
  for (const collection of [...clock.collections].sort()) {
    for (const document of await db.collection(collection).find({}).toArray()) {
      const id = String(document._id);
      const expires = document.expires instanceof Date ? document.expires.getTime() : undefined;
      // Expired: MongoDB deletes it within a minute or so (or the app's timer does), and no
      // store serves it. With neither, it stays for ever: an operator sees it.
      if (expires !== undefined && expires <= Date.now()) {
        if (clock.ttlIndex) continue;
        views[String(document._id)] = { collection, visits: undefined, lag: NEVER_DELETED };
        continue;
      }
      const session =
        typeof document.session === "string" ? tryJson(document.session) : document.session;
      const readable = (session as { cookie?: unknown } | undefined)?.cookie !== undefined;
      const last = clock.lastRequest.get(id);
      const due =
        last === undefined ? undefined : Date.now() + (last - clock.now) + LIFETIME * MINUTE;
      views[id] = {
        collection,
        // Encrypted at rest: the visits its visitor was told stand for what it holds.
        visits: readable
          ? (session as { visits?: unknown }).visits
          : (clock.answered.get(id) ?? "(unreadable)"),
        lag:
          expires === undefined
            ? "(no expires field)"
            : due === undefined
              ? "(a session nobody asked for)"
              : quarter(due - expires),
      };
    }
  }
  return views;
}

// ---- Rules: what is wrong at a step where your app and the reference differ, in words.
type S = Step<Action>;
const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
const count = (o: Observation, op: string) => o.traffic[op] ?? 0;

function statusRule({ action: a, yours: y, reference: r, referenceSide }: S) {
  if (y.status === r.status) return undefined;
  if (y.status === 304 && a.do === "assets" && a.browser && assetsOf(a).some((x) => x.headers))
    return `a revalidation skipped the session: ${describe(a)} answered 304 where ${r.status} was expected; a browser revalidating what it cached (If-None-Match) is a request of the visitor's like any other, and pushes back the session's expiry as the others do`;
  if (r.status >= 500 && y.status < 500 && refusingReads.has(clockOf(referenceSide).db)) {
    type C = ReturnType<typeof cookieView>;
    const fresh = (y.cookies as C[]).some((c) => c.name === COOKIE_NAME);
    return `hid a failed read of the session: ${describe(a)} answered ${y.status}${fresh ? " with a new session cookie" : ""} while MongoDB could not read the visitor's session; taken for "no session", it is replaced by a new one and the visits are lost. The visitor must learn it did not work (pass the store's error on)`;
  }
  if (r.status >= 500 && y.status < 400)
    return `claimed success though MongoDB refused the write: ${describe(a)} answered ${y.status} while the session could not be saved; the visitor must learn it did not work (pass the store's error on)`;
  return `${describe(a)} answered ${y.status} where ${r.status} was expected`;
}

function cookieRule({ yours: y, reference: r }: S) {
  if (same(y.cookies, r.cookies)) return undefined;
  type C = ReturnType<typeof cookieView>;
  const mine = (y.cookies as C[]).find((c) => c.name === COOKIE_NAME);
  const theirs = (r.cookies as C[]).find((c) => c.name === COOKIE_NAME);
  if (mine && mine.expiresIn !== (theirs?.expiresIn ?? LIFETIME)) {
    return `the cookie does not live 2 hours: ${typeof mine.expiresIn === "number" ? `it expires ${minutes(mine.expiresIn)} after the visit` : `it has ${mine.expiresIn}`} (the policy: the session ends ${LIFETIME} minutes after the last request)`;
  }
  return `sets cookies differently: ${JSON.stringify(y.cookies)} where ${JSON.stringify(r.cookies)} was expected`;
}

function bodyRule({ action: a, yours: y, reference: r }: S) {
  if (!("who" in a) || same(y.body, r.body) || y.status !== r.status) return undefined;
  if (!same(y.store, r.store)) return undefined; // the store rule says why
  if (a.do === "visit" && a.page) {
    return `the page's inspector does not show the session's document: it reads another collection than the store writes`;
  }
  const mine = y.body as { visits?: number };
  const theirs = r.body as { visits?: number };
  if (theirs.visits === 1 && (mine.visits ?? 0) > 1) {
    return `a session outlives the policy: ${name(a.who)}'s session was still served more than ${LIFETIME} minutes after its last request`;
  }
  if (mine.visits === 1 && (theirs.visits ?? 0) > 1) {
    return `a session ended more than ${EARLY} minutes early: ${name(a.who)} got a new session`;
  }
  return `GET / answered ${JSON.stringify(y.body)} where ${JSON.stringify(r.body)} was expected`;
}

function storeRule({ yours: y, reference: r, owners }: S) {
  const said: string[] = [];
  const whose = (label: string) => `${owners.get(label) || "a visitor"}'s session (${label})`;
  const mine = y.store as Record<string, DocumentView>;
  const theirs = r.store as Record<string, DocumentView>;
  for (const label of Object.keys(theirs)) {
    const doc = mine[label];
    if (!doc) {
      said.push(
        `the session is not in the collection ${COLLECTION}: your database holds no live document for ${whose(label)} (another database? expired already?)`,
      );
    } else if (doc.collection !== COLLECTION) {
      said.push(
        `the session is not in the collection ${COLLECTION}: ${whose(label)} is a document of ${doc.collection}`,
      );
    } else if (doc.lag !== theirs[label]?.lag) {
      said.push(
        typeof doc.lag === "number" && doc.lag > 0
          ? `the session's expiry falls more than ${EARLY} minutes behind: the document of ${whose(label)} expires ${minutes(doc.lag)} before the end of its session (${LIFETIME} minutes after its last request); the policy allows ${EARLY}`
          : typeof doc.lag === "number"
            ? `the document of ${whose(label)} expires ${minutes(-doc.lag)} after its session ends (${LIFETIME} minutes after its last request)`
            : `the document of ${whose(label)} has ${doc.lag}`,
      );
    } else if (!same(doc, theirs[label])) {
      said.push(
        `the document of ${whose(label)} holds ${JSON.stringify(doc)} where ${JSON.stringify(theirs[label])} was expected`,
      );
    }
  }
  for (const label of Object.keys(mine)) {
    if (label in theirs) continue;
    if (mine[label]?.lag === NEVER_DELETED) {
      said.push(
        `ended sessions are never deleted: the document of ${whose(label)} is still in MongoDB after its session ended, with no TTL index on expires in ${COLLECTION} (autoRemove "native") and no timer of the app's that deletes it (run once its time came, it left the ended document there); the collection only grows`,
      );
      continue;
    }
    said.push(
      `your database holds a live document the reference does not: ${whose(label)} (${JSON.stringify(mine[label])})`,
    );
  }
  return said.join("\n") || undefined;
}

/** What the rules know of your side beyond the step. */
interface Memo {
  raw: Observation | undefined;
  clock: SideClock | undefined;
}

const without = (traffic: Observation["traffic"], op: string) => {
  const { [op]: _dropped, ...rest } = traffic;
  return rest;
};

/**
 * What is wrong with the writes of the expiry alone in a request A that came SINCE minutes
 * after its session's last write: "more" (a write the policy does not need), "fewer" (the
 * expiry of a session nobody changes left to lag more than 10 minutes), or nothing.
 */
function touchVerdict(a: Action, since: number | undefined, o: Observation) {
  const writes = count(o, "writes of its expiry");
  if (writes > 1 || (writes > 0 && (since === undefined || since < MIN_WAIT - SLACK))) {
    return "more";
  }
  if (a.do === "assets" && writes === 0 && since !== undefined && since > EARLY + SLACK) {
    return "fewer";
  }
  return undefined;
}

const trafficRule =
  (memo: Memo) =>
  ({ action: a, yours: y, reference: r }: S) => {
    const said: string[] = [];
    if (a.do === "wait") return undefined;
    const route = describe(a);
    if (count(y, UNCONFIRMED) > 0)
      return `${route}: the session was written without waiting for MongoDB to confirm it (writeConcern w: 0): a write that fails is never known, and the visitor is told it worked`;
    if (count(y, "reads of every session") > count(r, "reads of every session")) {
      said.push(
        `read every session to answer one visitor: ${route} sent ${count(y, "reads of every session")} command(s) that read the whole collection`,
      );
    }
    const whole = "writes of the session";
    const raw = memo.raw ?? y;
    const since = memo.clock?.sinceWrite;
    const ago =
      since === undefined || since < 0.25
        ? ""
        : `, ${minutes(since)} after the session's last write`;
    const verdict = touchVerdict(a, since, raw);
    if (a.do === "assets" && (verdict === "more" || count(y, whole) > count(r, whole))) {
      const writes = count(raw, whole) + count(raw, "writes of its expiry");
      said.push(
        `requests that change nothing write more often than the policy needs: ${route} wrote ${writes} time(s)${ago} (the stored expiry may lag ${EARLY} minutes: no write is needed before ${MIN_WAIT}, one after ${EARLY})`,
      );
    } else if (verdict === "fewer") {
      said.push(
        `the session's expiry falls more than ${EARLY} minutes behind: ${route} came${ago}, and nothing pushed back the session's expiry`,
      );
    } else if (a.do === "visit" && count(y, whole) < count(r, whole)) {
      said.push(
        `a request that changes the session is not written at once: GET / wrote the session ${count(y, whole)} time(s) where ${count(r, whole)} were expected`,
      );
    } else if (a.do === "visit" && (verdict === "more" || count(y, whole) > count(r, whole))) {
      const writes = count(raw, whole) + count(raw, "writes of its expiry");
      said.push(
        `write more often than the policy needs: GET / wrote ${writes} times${ago}, where one write of the changed session is enough`,
      );
    }
    if (said.length > 0) return said.join("\n");
    for (const op of new Set([...Object.keys(y.traffic), ...Object.keys(r.traffic)])) {
      if (count(y, op) !== count(r, op)) {
        said.push(`${route}: ${op} ${count(y, op)} where ${count(r, op)} were expected`);
      }
    }
    return said.join("\n") || undefined;
  };

/** The MongoDB side of the check: a monitored client per app, and the check's own client. */
interface Databases {
  admin: MongoClient;
  clients: Record<Side["name"], MongoClient>;
  dbs: Record<Side["name"], string>;
  collections: Record<Side["name"], Set<string>>;
  /** The probe and clock of each side's scenario in progress: where its commands count. */
  current: Partial<Record<Side["name"], { probe: StoreProbe; clock: SideClock }>>;
}

async function databases(
  mongo: () => Promise<string>,
  after: (fn: () => unknown) => void,
): Promise<Databases> {
  const [yoursUrl, referenceUrl] = await Promise.all([mongo(), mongo()]);
  const connect = async (url: string, monitorCommands: boolean) => {
    const client = new MongoClient(url, { monitorCommands, serverSelectionTimeoutMS: 2000 });
    await client.connect();
    after(() => client.close());
    return client;
  };
  const [admin, yours, theirs] = await Promise.all([
    connect(yoursUrl, false),
    connect(yoursUrl, true),
    connect(referenceUrl, true),
  ]);
  const found: Databases = {
    admin,
    clients: { yours, reference: theirs },
    dbs: { yours: yours.db().databaseName, reference: theirs.db().databaseName },
    collections: { yours: new Set(), reference: new Set() },
    current: {},
  };
  for (const sideName of ["yours", "reference"] as const) {
    found.clients[sideName].on("commandStarted", (event) => {
      const collection = (event.command as Document)[event.commandName];
      if (typeof collection === "string" && event.commandName !== "hello") {
        found.collections[sideName].add(collection);
      }
      const current = found.current[sideName];
      if (current) heard(event, current.probe, current.clock);
    });
  }
  return found;
}

/** Empties the COLLECTIONS of DB (the embedded server has no dropDatabase). */
async function emptied(db: Db, collections: Set<string>): Promise<void> {
  for (const collection of collections) await db.collection(collection).deleteMany({});
}

function model(module: Module, mongo: Databases, examples: Action[][]): Model<Action> {
  const memo: Memo = { raw: undefined, clock: undefined };
  const probe = async (sideName: Side["name"]) => {
    const clock: SideClock = {
      db: mongo.dbs[sideName],
      collections: mongo.collections[sideName],
      now: 0,
      lastWrite: new Map(),
      lastRequest: new Map(),
      cookieExpires: [],
      sinceWrite: undefined,
      ttlIndex: false,
      intervals: 0,
      cleanups: [],
      cleaning: false,
      answered: new Map(),
    };
    mongo.current[sideName] = undefined; // the last scenario's stragglers count nowhere
    refusing.delete(clock.db);
    refusingReads.delete(clock.db);
    await emptied(mongo.admin.db(clock.db), clock.collections);
    const storeProbe = new StoreProbe(() => documents(mongo.admin, clock));
    clocks.set(storeProbe, clock);
    mongo.current[sideName] = { probe: storeProbe, clock };
    return storeProbe;
  };
  const start = (side: Side, create: (client: MongoClient) => Express) => {
    if (side.name === "yours") memo.clock = clockOf(side);
    return starting.run(clockOf(side), () => onClockBehind(() => create(mongo.clients[side.name])));
  };
  return {
    visitors: VISITORS,
    action,
    examples,
    describe,
    actor: (a) => ("who" in a ? a.who : undefined),
    perform: (a, side) => perform(a, side, mongo.admin),
    body,
    cookie: cookieView,
    session: (view) => view,
    allowed: [
      {
        // rolling: true sends it at every request; the reference, when the session changed.
        name: `the same session's cookie sent again for ${LIFETIME} minutes, or not`,
        apply: (o, _a, side) =>
          side.notes.renewal
            ? {
                ...o,
                cookies: (o.cookies as ReturnType<typeof cookieView>[]).filter(
                  (c) => c.name !== COOKIE_NAME || c.expiresIn !== LIFETIME,
                ),
              }
            : o,
      },
      {
        name: `a stored expiry from on time to ${EARLY} minutes early`,
        apply: (o) => ({
          ...o,
          store: Object.fromEntries(
            Object.entries(o.store as Record<string, DocumentView>).map(([id, view]) => [
              id,
              typeof view.lag === "number" && view.lag >= -SLACK && view.lag <= EARLY + SLACK
                ? { ...view, lag: "(on time, or at most 10 minutes early)" }
                : view,
            ]),
          ),
        }),
      },
      {
        // Kept for the rules' words: your side's observation before anything was allowed.
        name: "(none: the raw observation is kept)",
        apply: (o, _a, side) => {
          if (side.name === "yours") memo.raw = o;
          return o;
        },
      },
      {
        name: `for the expiry alone, no write before ${MIN_WAIT} minutes after the last, one after ${EARLY} (none needed with a change), either in between`,
        apply: (o, a, side) =>
          a.do !== "wait" && touchVerdict(a, clockOf(side).sinceWrite, o) === undefined
            ? { ...o, traffic: without(o.traffic, "writes of its expiry") }
            : o,
      },
      {
        // What the store sends MongoDB is compared, not how express-session calls the store.
        name: "reads of the visitor's own session; calls to the store's methods",
        apply: (o) => {
          const traffic = { ...o.traffic };
          for (const op of ["reads of one session", ...OPS]) delete traffic[op];
          return { ...o, traffic };
        },
      },
    ],
    rules: [statusRule, cookieRule, storeRule, bodyRule, trafficRule(memo)],
    probe,
    createApp: (side) => start(side, (client) => module.createApp(client)),
    createReference: (side) => start(side, (client) => reference.createApp(client)),
  };
}

const A = 0;
const B = 1;
const visit = (who: number, page = false): Action => ({ do: "visit", who, page });
const assets = (who: number, count = 3, browser = false): Action => ({
  do: "assets",
  who,
  count,
  browser,
});
const wait = (minutes: number): Action => ({ do: "wait", minutes });

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "sessions live 2 hours in workshop_sessions; requests that change nothing write as rarely as the 10 minutes allow, for any visitors and waits",
      timeoutMs: 40_000,
      run: async ({ module, mongo, after }) =>
        differential(
          model(module, await databases(mongo, after), [
            // A page and its images, then the same a few minutes later (not yet 5 after the write).
            [visit(A), assets(A), wait(4.75), assets(A), wait(9.5), assets(A), visit(A)],
            // Just over the 10 minutes the policy allows: a browser's image request.
            [visit(A), wait(1), wait(9.22), assets(A, 1, true)],
            // Each kind of request a page makes, as a browser makes it, past the 10 minutes.
            ...[1, 2, 3, 4, 5, 6, 7, 8].map((first) => [
              visit(A),
              wait(1),
              wait(9.5),
              { ...assets(A, 1, true), first },
            ]),
            // The page's inspector, and a second visitor.
            [visit(A, true), visit(B), assets(B), wait(12), assets(A, 3, true), assets(B)],
            // A session over: 2 hours and more without a request.
            [visit(A), wait(125), visit(A)],
            // A store that fails: the visit is not kept, and the visitor must learn it; a session
            // that cannot be read is not taken for none.
            [
              visit(A),
              { do: "refuse-writes", on: true },
              visit(A),
              { do: "refuse-writes", on: false },
              visit(A),
              { do: "refuse-reads", on: true },
              visit(A),
              { do: "refuse-reads", on: false },
              visit(A),
            ],
          ]),
          { runs: 10, maxActions: 7, shrinkTries: 30 },
        ),
    },
  ],
});
