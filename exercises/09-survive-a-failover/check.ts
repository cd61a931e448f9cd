/**
 * Exercise 09: during a failover of the session store, only what shows the session waits for
 * it (and gets its 503 with Retry-After); the about page, the logo and the health check answer
 * as usual for every visitor, and cost no trip to Redis.
 *
 * A differential check (test/checks/differential.ts): scenarios of three visitors (pages,
 * images, health checks, a page the app does not have; GET, HEAD, and POST or OPTIONS where no
 * session is shown; as a script, a browser's page or an image asks, with the Accept and
 * Sec-Fetch-* headers a browser sends; with a cookie or not) run on your app and on the
 * reference side by side, each over a Redis connection of its own that the check cuts or freezes
 * at any point, as a failover does. Time passes for the app: its clocks (Date, performance.now)
 * move on and its timers (and intervals set at any point) fire, 35 s as a failover starts, and 10 minutes or 90 s between steps (during an
 * outage or not). After every request: the status, body (a 503's Retry-After, seconds or an HTTP date:
 * a wait of 1 to 60 s; how long a visit waited: no longer than the deadline createApp is given), cookies,
 * the sessions in Redis, the store's calls and the commands Redis ran. The
 * lesson's 11 classic scenarios (`examples`), then 13 drawn ones of up to 8 steps.
 */
import { availableParallelism, loadavg } from "node:os";
import express from "express";
import fc from "fast-check";
import { redisClient } from "../../lib/services/redis.ts";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import { type AppClock, withClock } from "../../test/checks/app-clock.ts";
import {
  type Answer,
  differential,
  type Model,
  type Side,
  type Step,
} from "../../test/checks/differential.ts";
import { type CheckRedis, defineCheck } from "../../test/checks/kit.ts";
import { RedisSides } from "../../test/checks/redis-probe.ts";
import { Relay, type RelayState } from "../../test/checks/relay.ts";
import * as reference from "./solution/app.ts";

type Module = typeof import("./solution/app.ts");

/**
 * The store's deadline in the check: short, so that a failover plays in a moment, and longer
 * on a busy machine, so that a healthy store always answers within it.
 */
const deadlineMs = () =>
  Math.round(200 * Math.max(1, (loadavg()[0] ?? 0) / availableParallelism()));
// "/?ref=newsletter": the visits page, reached from a link that carries a query string;
// "/about/", "/ABOUT": the about page too (Express's routes ignore case and a trailing slash);
// "/favicon.ico", "/contact": paths the app does not serve (a 404, no session either).
const PATHS = [
  "/",
  "/about",
  "/logo.svg",
  "/health",
  "/?ref=newsletter",
  "/about/",
  "/ABOUT",
  "/favicon.ico",
  "/contact",
] as const;
type Path = (typeof PATHS)[number];
type Method = "GET" | "HEAD" | "POST" | "OPTIONS";
/**
 * What the client asks for: JSON (a script, as curl asks), a page (a browser's tab) or an image,
 * with the headers a browser sends along (Sec-Fetch-*: what the request is for).
 */
const ACCEPT = {
  json: { accept: "application/json" },
  page: {
    accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "sec-fetch-dest": "document",
    "sec-fetch-mode": "navigate",
    "sec-fetch-site": "same-origin",
    "sec-fetch-user": "?1",
  },
  image: {
    accept: "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "sec-fetch-dest": "image",
    "sec-fetch-mode": "no-cors",
    "sec-fetch-site": "same-origin",
  },
} as const;
type Accept = keyof typeof ACCEPT;
/** Whether A asks for the visits page, with or without a query string. */
const visitsPage = (a: Action) => a.do === "request" && a.path.split("?")[0] === "/";
/** The about page and the logo, however spelt: a POST or an OPTIONS is drawn on them only. */
const showsNoSession = (path: string) =>
  ["/about", "/logo.svg"].includes(path.toLowerCase().replace(/\/$/, ""));
type Action =
  | {
      do: "request";
      who: number;
      method: Method;
      path: Path;
      /** The visits page is always asked as JSON (its answer is compared as such). */
      accept: Accept;
      /** While Redis fails over: this many visits of the page wait for the store meanwhile. */
      crowd?: number;
      /** The crowd got its answers (503s) before this request, rather than still waiting. */
      crowdAnswered?: boolean;
    }
  | { do: "failover"; state: RelayState }
  /** Time passes for the apps (their clock, their timers): minutes while Redis answers. */
  | { do: "time-passes"; seconds: number }
  | { do: "forget-cookie"; who: number };

const name = (i: number) => "ABC"[i] ?? "?";
const JSON_CLIENT = ACCEPT.json;

/**
 * What an app sees of a failover, played by a relay between its Redis client and Redis
 * (test/checks/relay.ts): "down" (connections cut and refused, as when the primary's process is
 * gone) or "frozen" (bytes wait, unanswered, as while the client waits for a replica to be
 * promoted), then "up".
 */
async function failoverProxies(redis: CheckRedis, after: (fn: () => unknown) => void) {
  const made = { yours: await Relay.open(redis.url), reference: await Relay.open(redis.url) };
  after(() => Promise.all([made.yours.close(), made.reference.close()]));
  return made;
}

/** A client of the app, through its side's failover proxy (not connected: duplicate it). */
function template(url: string): RedisClient {
  return redisClient({
    url,
    // No queue while disconnected: a command fails at once, so "down" is a quick 503 (the
    // exercise's server.ts gets the same from the sentinel client).
    disableOfflineQueue: true,
    socket: { reconnectStrategy: () => 20 },
  });
}

/** Each side's Redis client, made by the check: through its side's failover proxy. */
const clients = new WeakMap<Side, RedisClient>();

/**
 * The timers each side's app scheduled as it was made (a poller of its own, say), and the
 * intervals it set later on (its clock catches those): they never fire on their own during a
 * check; the check runs them when time passes in a failover.
 */
const timers = new WeakMap<Side, (() => void)[]>();
function catchTimers<T>(side: Side, caught: (() => void)[], make: () => T): T {
  timers.set(side, caught);
  const { setInterval: realInterval, setTimeout: realTimeout } = globalThis;
  const keep = ((run: (...args: unknown[]) => void, _ms?: number, ...args: unknown[]) => {
    caught.push(() => run(...args));
    const handle = realTimeout(() => {}, 2 ** 31 - 1); // a real handle, that never fires
    side.after(() => clearTimeout(handle));
    return handle;
  }) as unknown as typeof setTimeout;
  globalThis.setInterval = keep as unknown as typeof setInterval;
  globalThis.setTimeout = keep;
  try {
    return make();
  } finally {
    globalThis.setInterval = realInterval;
    globalThis.setTimeout = realTimeout;
  }
}

/** Each side's app clock (test/checks/app-clock.ts): Date.now() and new Date() in the app. */
const clocks = new WeakMap<Side, AppClock>();

/**
 * SECONDS pass for the app of SIDE, STEP by STEP (one by one during a failover; by 10 s while
 * Redis answers, when a timer firing less often changes nothing): its clock (Date) moves on a
 * step, and each timer it scheduled fires (a timeout as often as an interval).
 */
async function timePasses(side: Side, seconds: number, step = 1): Promise<void> {
  const clock = clocks.get(side) ?? { aheadMs: 0 };
  for (let s = 0; s < seconds; s += step) {
    clock.aheadMs += 1000 * Math.min(step, seconds - s);
    for (const run of timers.get(side) ?? []) withClock(clock, run);
  }
  await new Promise((resolve) => setTimeout(resolve, 5)); // what they started, settled
}
/** How long a failover lasts: sentinels take 30 s to agree the primary is down, then promote. */
const FAILOVER_SECONDS = 35;

const asking = {
  json: "",
  page: " (a browser's page: Accept text/html…)",
  image: " (an image: Accept image/…)",
};

function describe(a: Action): string {
  switch (a.do) {
    case "request": {
      const request = `${name(a.who)}: ${a.method} ${a.path}${asking[a.accept]}`;
      if (!a.crowd) return request;
      return a.crowdAnswered
        ? `${a.crowd} visits of / with A's cookie wait for the store at once, and get their answers; then ${request}`
        : `${a.crowd} visits of / with A's cookie wait for the store at once; meanwhile ${request}`;
    }
    case "failover":
      return {
        down: "the primary dies: every connection to Redis is cut and refused",
        frozen: "the primary dies: Redis answers nobody while a replica is promoted",
        up: "a replica is promoted: Redis answers again",
      }[a.state];
    case "time-passes":
      return `${a.seconds % 60 === 0 ? `${a.seconds / 60} minutes` : `${a.seconds} seconds`} pass`;
    case "forget-cookie":
      return `${name(a.who)} opens a private window (no cookie)`;
  }
}

/** The longest Retry-After that fits a failover: it is over in about 30 s, often in 2. */
const RETRY_AFTER_MAX_S = 60;
/**
 * How a 503's Retry-After reads: "a few seconds" when it asks the visitor to come back within
 * 1 to RETRY_AFTER_MAX_S seconds (the reference says 2, or 5 when the connection is cut), in
 * seconds or as a date (read against the app's clock); the header as sent otherwise.
 */
function retryAfter(answer: Answer, side: Side): string | undefined {
  const value = answer.header("retry-after");
  if (value === undefined) return undefined;
  // A number of seconds, or an HTTP date (IMF-fixdate: "Tue, 08 Dec 2026 10:00:02 GMT").
  const seconds = /^\d+$/.test(value.trim())
    ? Number(value.trim())
    : /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value.trim())
      ? Math.ceil((Date.parse(value) - (Date.now() + (clocks.get(side)?.aheadMs ?? 0))) / 1000)
      : Number.NaN;
  return seconds >= 1 && seconds <= RETRY_AFTER_MAX_S ? "a few seconds" : value;
}

/**
 * How long a visit of the page waited for its answer, against the deadline the app was given
 * (the check's stand-in for the 2 seconds): within it (a failover's 503 comes at the deadline),
 * or well past it (half the deadline more, and 150 ms more for a busy machine).
 */
function waited(side: Side): string {
  const ms = Number(side.notes.waitedMs ?? 0);
  const deadline = Number(side.notes.deadlineMs ?? 0);
  return ms > 1.5 * deadline + 150 ? `${Math.round(ms)} ms` : "within the deadline";
}

function body(a: Action, answer: Answer, side: Side): unknown {
  if (a.do !== "request") return undefined;
  if (answer.status >= 400) {
    const error = { error: true, retryAfter: retryAfter(answer, side) };
    return visitsPage(a) && !a.crowd ? { ...error, waited: waited(side) } : error;
  }
  if (a.method === "HEAD") return "";
  if (a.path === "/health") return "(a health answer)"; // what it says beyond 200 is yours
  if (!visitsPage(a)) return answer.text;
  const json = JSON.parse(answer.text) as { visits: number; sessionId: string };
  return { visits: json.visits, session: side.labels.get(json.sessionId) ?? "(not in Redis)" };
}

function cookie(line: string) {
  const [pair = ""] = line.split(";");
  return pair.slice(0, pair.indexOf("="));
}

// ---- Rules: what is wrong at a step where your app and the reference differ, in words.
type S = Step<Action>;
const where = (a: Action) => (a.do === "request" ? `${a.method} ${a.path}` : "");
const failingOver = (s: S) => s.referenceSide.notes.state !== "up";
const sentCookie = (s: S) => s.referenceSide.notes.sentCookie === true;

function statusRule(s: S) {
  const { action: a, yours: y, reference: r } = s;
  if (a.do !== "request" || y.status === r.status) return undefined;
  const withCookie = sentCookie(s) ? "a visitor with a session cookie" : "a visitor";
  if (a.path === "/health" && r.status === 200 && !failingOver(s)) {
    return `GET /health answered ${y.status}: the load balancer keeps a process in rotation on a 200`;
  }
  if (a.path === "/health" && r.status === 200) {
    return `the health check failed during a failover: ${where(a)} answered ${y.status}, and the load balancer takes this process out of rotation; every process shares the store, so every process fails its check at once and the failover becomes a full outage${a.crowdAnswered ? " (the visits that failed, or waited long, waited for the store: they say the store is failing over, not that this process cannot answer)" : ""}`;
  }
  if (r.status < 400 && failingOver(s)) {
    return `${where(a)} waited for the session store during a failover and answered ${y.status}: a page or image that shows no session answers as usual for ${withCookie}`;
  }
  if (r.status === 503 && y.status === 500) {
    return `${where(a)} answered 500 during a failover: a store that is failing over (slow, or its connection cut) is not a crash; the visitor gets the 503 with Retry-After that says "try again in a moment" (the store error handlers, after the routes, turn the store's errors into it)`;
  }
  return `${where(a)} answered ${y.status} where ${r.status} was expected`;
}

function retryRule({ action: a, yours: y, reference: r }: S) {
  const mine = (y.body as { retryAfter?: string } | undefined)?.retryAfter;
  const theirs = (r.body as { retryAfter?: string } | undefined)?.retryAfter;
  if (y.status !== 503 || r.status !== 503 || !theirs || mine === theirs) return;
  if (mine === undefined)
    return `the 503 of ${where(a)} has no Retry-After header: the visitor (and a crawler) cannot tell when to come back`;
  return `the 503 of ${where(a)} says Retry-After: ${mine}: the header gives a number of seconds (or an HTTP date, as toUTCString() writes it), and a failover is over in seconds, so the visitor should be told to come back within 1 to ${RETRY_AFTER_MAX_S} seconds`;
}

function deadlineRule(s: S) {
  const { action: a, yours: y, reference: r } = s;
  const mine = (y.body as { waited?: string } | undefined)?.waited;
  const theirs = (r.body as { waited?: string } | undefined)?.waited;
  if (mine === undefined || mine === theirs || mine === "within the deadline") return undefined;
  const deadline = Number(s.referenceSide.notes.deadlineMs ?? 0);
  return `${where(a)} waited ${mine} for the store before its ${y.status}, where the deadline createApp is given is ${deadline} ms (the check's stand-in for the 2 seconds of STORE_DEADLINE_MS): the policy is that no visitor waits longer than the deadline during a failover, no slack added; give the store the deadline as it is`;
}

function trafficRule(s: S) {
  const { action: a, yours: y, reference: r } = s;
  if (a.do !== "request") return undefined;
  const calls = (t: Record<string, number>) =>
    Object.entries(t).filter(([op]) => op === op.toLowerCase());
  const commands = (t: Record<string, number>) =>
    Object.entries(t).filter(([op]) => op !== op.toLowerCase());
  const list = (ops: [string, number][]) => ops.map(([op, n]) => `${op}×${n}`).join(" ") || "none";
  if (visitsPage(a)) {
    if (!calls(y.traffic).some(([op, n]) => n > (r.traffic[op] ?? 0))) return undefined;
    const asked = `${where(a)} called the store ${list(calls(y.traffic))} where the reference calls it ${list(calls(r.traffic))}`;
    if (!failingOver(s))
      return `${asked}: each call more is one more trip to Redis, on every visit`;
    return `${asked}, during a failover: each call waits up to the deadline, so trying the store again makes the visitor wait once more per try, and piles commands on a store that is promoting a replica; one try, then the 503 with Retry-After lets the visitor come back`;
  }
  if (calls(y.traffic).length > calls(r.traffic).length) {
    return `${where(a)} read the session from the store, though it shows none: every such request costs a trip to Redis (a page with twenty images, twenty-one), and waits during a failover`;
  }
  const extra = commands(y.traffic).filter(([op, n]) => n > (r.traffic[op] ?? 0));
  if (extra.length) {
    const sent = list(extra);
    if (a.path === "/health")
      return `the health check asked Redis (${sent}): it says whether this process can answer; every process shares the store, so in a failover every process fails it at once (and each check costs a round trip)`;
    return `${where(a)} sent commands to Redis (${sent}) where the reference sends none: it costs every request a round trip, and waits during a failover`;
  }
  return undefined;
}

function cookieRule({ action: a, yours: y, reference: r }: S) {
  if (JSON.stringify(y.cookies) === JSON.stringify(r.cookies)) return undefined;
  return `${where(a)} sets cookies differently: ${JSON.stringify(y.cookies)} where ${JSON.stringify(r.cookies)} was expected`;
}

function sessionRule(s: S) {
  const { action: a, yours: y, reference: r } = s;
  const sameStore = JSON.stringify(y.store) === JSON.stringify(r.store);
  // Another status brings another body: statusRule says what is wrong then (retryRule, when
  // only the Retry-After differs).
  if (sameStore && (y.status !== r.status || JSON.stringify(y.body) === JSON.stringify(r.body)))
    return undefined;
  if (sameStore && (retryRule(s) || deadlineRule(s))) return undefined;
  if (visitsPage(a) && y.status === 200 && r.status === 200) {
    return `${where(a)} answered ${JSON.stringify(y.body)} where ${JSON.stringify(r.body)} was expected (the count goes on in the same session after a failover, never a fresh one)`;
  }
  return `after ${where(a)}, Redis holds ${JSON.stringify(y.store)} where ${JSON.stringify(r.store)} was expected`;
}

function model(
  module: Module,
  sides: RedisSides,
  failovers: Awaited<ReturnType<typeof failoverProxies>>,
): Model<Action> {
  const who = fc.constantFrom(0, 0, 1, 2);
  const request = fc
    .record({
      do: fc.constant("request" as const),
      who,
      method: fc.constantFrom(
        "GET",
        "GET",
        "GET",
        "HEAD",
        "POST",
        "OPTIONS",
      ) as fc.Arbitrary<Method>,
      path: fc.constantFrom(...PATHS),
      accept: fc.constantFrom("json", "page", "image") as fc.Arbitrary<Accept>,
    })
    // A POST or an OPTIONS only where the reference shows no session; the visits page as JSON.
    .map(
      (r): Action => ({
        ...r,
        method:
          r.method === "GET" || r.method === "HEAD" || showsNoSession(r.path) ? r.method : "GET",
        accept: visitsPage(r) ? "json" : r.accept,
      }),
    );
  // The faults first: fast-check draws them most often, and shrinks towards them.
  const failover = fc.record({
    do: fc.constant("failover" as const),
    state: fc.constantFrom("down", "frozen", "up") as fc.Arbitrary<RelayState>,
  });
  const forget = fc.record({ do: fc.constant("forget-cookie" as const), who });
  // Minutes while Redis answers, a long outage while it does not.
  const wait = fc.record({
    do: fc.constant("time-passes" as const),
    seconds: fc.constantFrom(600, 90),
  });

  // One template client per side, duplicated for each scenario: making a client from options
  // costs node-redis tens of milliseconds of CPU, a duplicate almost nothing.
  const templates = {
    yours: template(sides.url("yours", failovers.yours.port)),
    reference: template(sides.url("reference", failovers.reference.port)),
  };

  async function createSide(make: Module["createApp"], side: Side) {
    failovers[side.name].set("up");
    const client = templates[side.name].duplicate();
    client.on("error", () => {});
    clients.set(side, client);
    side.after(() => (client.isOpen ? client.destroy() : undefined));
    side.notes.state = "up";
    const caught: (() => void)[] = [];
    const clock: AppClock = { aheadMs: 0, intervals: caught };
    clocks.set(side, clock);
    // On the app's clock too: what the client tells the app (its events) happens in its time.
    await withClock(clock, () => client.connect());
    const deadline = deadlineMs();
    side.notes.deadlineMs = deadline;
    const app = withClock(clock, () => catchTimers(side, caught, () => make(client, deadline)));
    // The app reads its own clock (Date), which time passing in a failover moves on.
    const front = express();
    front.use((req, res, next) => withClock(clock, () => app(req, res, next)));
    return front;
  }

  const visit = (w: number): Action => ({
    do: "request",
    who: w,
    method: "GET",
    path: "/",
    accept: "json",
  });
  const get = (w: number, path: Path): Extract<Action, { do: "request" }> => ({
    do: "request",
    who: w,
    method: "GET",
    path,
    accept: "json",
  });
  const as = (r: Extract<Action, { do: "request" }>, accept: Accept) => ({ ...r, accept });
  const down: Action = { do: "failover", state: "down" };
  const freeze: Action = { do: "failover", state: "frozen" };
  const up: Action = { do: "failover", state: "up" };
  const minutes = (n: number): Action => ({ do: "time-passes", seconds: n * 60 });
  const seconds = (n: number): Action => ({ do: "time-passes", seconds: n });

  return {
    visitors: 3,
    action: fc.oneof(
      { arbitrary: request, weight: 6 },
      { arbitrary: failover, weight: 2 },
      { arbitrary: forget, weight: 1 },
      { arbitrary: wait, weight: 1 },
    ),
    examples: [
      [get(0, "/health")],
      // As a browser asks: the page, then its image.
      [visit(0), as(get(0, "/about"), "page"), as(get(0, "/logo.svg"), "image"), get(0, "/health")],
      // Other methods, other spellings of the about page, and a page the app does not have.
      [
        visit(0),
        { ...get(0, "/about"), method: "HEAD" },
        { ...get(0, "/about"), method: "POST" },
        { ...get(0, "/logo.svg"), method: "OPTIONS" },
        as(get(0, "/about/"), "page"),
        as(get(0, "/ABOUT"), "page"),
        as(get(0, "/contact"), "page"),
      ],
      [visit(0), down, get(0, "/about"), get(1, "/logo.svg"), get(1, "/health"), visit(0), up],
      [visit(0), freeze, get(0, "/health"), get(0, "/logo.svg"), visit(0), up, visit(0)],
      // A new visitor during a failover: the session is created, and its write has a deadline too.
      [freeze, visit(0)],
      [visit(0), visit(1), down, visit(1), up, visit(1)],
      // A visit that fails, then the health check: it must not learn from the visit either.
      [visit(0), down, visit(0), get(1, "/health")],
      // Many visits waiting at once: the health check answers all the same.
      [visit(0), freeze, { ...get(1, "/health"), crowd: 25 }],
      // ... and once they all got their 503 (a hundred and more): the visits failed, this
      // process still answers.
      [visit(0), freeze, { ...get(1, "/health"), crowd: 150, crowdAnswered: true }],
      // Minutes of quiet, then a long outage: the health check answers all along.
      [
        visit(0),
        minutes(10),
        get(1, "/health"),
        down,
        get(1, "/health"),
        seconds(90),
        get(1, "/health"),
        up,
        visit(0),
      ],
    ],
    describe,
    actor: (a) => ("who" in a ? a.who : undefined),
    async perform(a, side) {
      if (a.do === "time-passes") {
        // While Redis answers, a timer firing every 10 s rather than every second changes nothing.
        await timePasses(side, a.seconds, side.notes.state === "up" ? 10 : 1);
        return undefined;
      }
      if (a.do === "failover") {
        failovers[side.name].set(a.state);
        side.notes.state = a.state;
        const client = clients.get(side);
        const until = async (ok: () => boolean) => {
          while (!ok()) await new Promise((resolve) => setTimeout(resolve, 5));
        };
        // The client has seen the cut before any visitor comes: both sides alike.
        if (a.state === "down" && client) await until(() => !client.isReady);
        // A failover takes seconds: what the app does on a timer meanwhile happens now.
        if (a.state !== "up") await timePasses(side, FAILOVER_SECONDS);
        if (a.state === "up" && client) {
          // Reconnected, and what waited answered: counted here, not in the next request.
          await until(() => client.isReady);
          await timePasses(side, 1);
          await client.ping().catch(() => {});
          await side.probe.settle();
        }
        return undefined;
      }
      const visitor = side.visitors[a.who];
      if (!visitor) return undefined;
      if (a.do === "forget-cookie") {
        visitor.cookies.clear();
        return undefined;
      }
      side.notes.sentCookie = visitor.cookies.has(COOKIE_NAME);
      const headers = ACCEPT[a.accept];
      if (!a.crowd || side.notes.state === "up") {
        // How long the visit waited, in real time (the store's deadline runs on it).
        const start = performance.now();
        const answer = await visitor.send(a.method, a.path, headers);
        side.notes.waitedMs = performance.now() - start;
        return answer;
      }
      // A crowd on the visits page with A's cookie, waiting for the store (each has asked it).
      const calls = () => (side.probe.traffic.get ?? 0) + (side.probe.traffic.set ?? 0);
      const asked = calls() + a.crowd;
      const cookie = side.visitors[0]?.cookie(COOKIE_NAME);
      const crowd = Array.from({ length: a.crowd }, () => {
        const browser = visitor.withoutCookies();
        if (cookie) browser.cookies.set(COOKIE_NAME, cookie);
        return browser.send("GET", "/", JSON_CLIENT).catch(() => undefined);
      });
      for (let tries = 0; calls() < asked && tries < 200; tries++)
        await new Promise((resolve) => setTimeout(resolve, 5));
      // They wait as long as the production deadline would make them (the check's is shorter).
      await timePasses(side, reference.STORE_DEADLINE_MS / 1000);
      if (a.crowdAnswered) await Promise.all(crowd);
      const answer = await visitor.send(a.method, a.path, headers);
      await Promise.all(crowd);
      return answer;
    },
    body,
    cookie,
    session: (held) => {
      const { session } = held as { session: { visits?: number } };
      return { visits: session.visits };
    },
    allowed: [
      {
        // A POST or an OPTIONS of a page that shows no session: a 404, a 405, the Allow header
        // Express answers by itself, a catch-all of your own... all fine, without the store.
        name: "a POST or an OPTIONS of a page without session, answered any way but a failure",
        apply: (o, a) =>
          a.do === "request" &&
          (a.method === "POST" || a.method === "OPTIONS") &&
          o.status !== 500 &&
          o.status !== 503
            ? { ...o, status: 200, body: "(answered, without the store)" }
            : o,
      },
      {
        // A HEAD of the visits page counts no visit and shows no session: it may skip the
        // store (no reads, and no 503 while it fails over), or not.
        name: "a HEAD of the visits page, with the session or without",
        apply: (o, a) =>
          a.do === "request" && a.method === "HEAD" && visitsPage(a) && o.status !== 500
            ? { ...o, status: o.status === 503 ? 200 : o.status, body: "", traffic: {} }
            : o,
      },
    ],
    rules: [statusRule, retryRule, deadlineRule, trafficRule, cookieRule, sessionRule],
    probe: (sideName) => sides.probe(sideName),
    createApp: (side) => createSide(module.createApp, side),
    createReference: (side) => createSide(reference.createApp, side),
  };
}

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "during a failover, only the visits page waits for the store; the rest answers, for every visitor",
      timeoutMs: 40_000,
      run: async ({ module, redis, after }) => {
        const server = await redis();
        // The app's client (template, below) sends no PING by itself: each is the app's.
        const sides = await RedisSides.start(server, { pings: true });
        const proxies = await failoverProxies(server, after);
        await differential(model(module, sides, proxies), { runs: 13, maxActions: 8 });
      },
    },
  ],
});
