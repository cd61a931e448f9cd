/**
 * Exercise 09: during a failover of the session store, only what shows the session waits for
 * it (and gets its 503 with Retry-After); the about page, the logo and the health check answer
 * as usual for every visitor, and cost no trip to Redis.
 *
 * A differential check (test/checks/differential.ts): scenarios of three visitors (pages,
 * images, health checks, HEADs; with a cookie or not) run on your app and on the reference
 * side by side, each over a Redis connection of its own that the check cuts or freezes at any
 * point, as a failover does. After every request: the status, body, cookies, the sessions in
 * Redis, the store's calls and the commands Redis ran. The lesson's 7 classic scenarios
 * (`examples`), then 13 drawn ones of up to 8 steps.
 */
import { availableParallelism, loadavg } from "node:os";
import fc from "fast-check";
import { redisClient } from "../../lib/services/redis.ts";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
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
// "/favicon.ico": a path the app does not serve (a 404, no session either).
const PATHS = ["/", "/about", "/logo.svg", "/health", "/?ref=newsletter", "/favicon.ico"] as const;
type Path = (typeof PATHS)[number];
/** Whether A asks for the visits page, with or without a query string. */
const visitsPage = (a: Action) => a.do === "request" && a.path.split("?")[0] === "/";
type Action =
  | {
      do: "request";
      who: number;
      method: "GET" | "HEAD";
      path: Path;
      /** While Redis fails over: this many visits of the page wait for the store meanwhile. */
      crowd?: number;
    }
  | { do: "failover"; state: RelayState }
  | { do: "forget-cookie"; who: number };

const name = (i: number) => "ABC"[i] ?? "?";
const JSON_CLIENT = { accept: "application/json" };

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
 * The timers each side's app scheduled as it was made (a poller of its own, say): they never
 * fire on their own during a check; the check runs them when time passes in a failover.
 */
const timers = new WeakMap<Side, (() => void)[]>();
function catchTimers<T>(side: Side, make: () => T): T {
  const caught: (() => void)[] = [];
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

/** Time passes: each timer the app of SIDE scheduled fires (a timeout as often as an interval). */
async function timePasses(side: Side): Promise<void> {
  for (const run of timers.get(side) ?? []) run();
  await new Promise((resolve) => setTimeout(resolve, 5)); // what they started, settled
}

function describe(a: Action): string {
  switch (a.do) {
    case "request":
      return a.crowd
        ? `${a.crowd} visits of / with A's cookie wait for the store at once; meanwhile ${name(a.who)}: ${a.method} ${a.path}`
        : `${name(a.who)}: ${a.method} ${a.path}`;
    case "failover":
      return {
        down: "the primary dies: every connection to Redis is cut and refused",
        frozen: "the primary dies: Redis answers nobody while a replica is promoted",
        up: "a replica is promoted: Redis answers again",
      }[a.state];
    case "forget-cookie":
      return `${name(a.who)} opens a private window (no cookie)`;
  }
}

function body(a: Action, answer: Answer, side: Side): unknown {
  if (a.do !== "request") return undefined;
  if (answer.status >= 400) {
    return { error: true, retryAfter: answer.header("retry-after") !== undefined };
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
    return `the health check failed during a failover: ${where(a)} answered ${y.status}, and the load balancer takes this process out of rotation; every process shares the store, so every process fails its check at once and the failover becomes a full outage`;
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
  const mine = y.body as { retryAfter?: boolean } | undefined;
  const theirs = r.body as { retryAfter?: boolean } | undefined;
  if (y.status !== 503 || r.status !== 503 || !theirs?.retryAfter || mine?.retryAfter) return;
  return `the 503 of ${where(a)} has no Retry-After header: the visitor (and a crawler) cannot tell when to come back`;
}

function trafficRule(s: S) {
  const { action: a, yours: y, reference: r } = s;
  if (a.do !== "request" || visitsPage(a)) return undefined;
  const calls = (t: Record<string, number>) =>
    Object.entries(t).filter(([op]) => op === op.toLowerCase());
  const commands = (t: Record<string, number>) =>
    Object.entries(t).filter(([op]) => op !== op.toLowerCase());
  if (calls(y.traffic).length > calls(r.traffic).length) {
    return `${where(a)} read the session from the store, though it shows none: every such request costs a trip to Redis (a page with twenty images, twenty-one), and waits during a failover`;
  }
  const extra = commands(y.traffic).filter(([op, n]) => n > (r.traffic[op] ?? 0));
  if (extra.length) {
    const sent = extra.map(([op, n]) => `${op}×${n}`).join(" ");
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

function sessionRule({ action: a, yours: y, reference: r }: S) {
  const sameStore = JSON.stringify(y.store) === JSON.stringify(r.store);
  // Another status brings another body: statusRule says what is wrong then.
  if (sameStore && (y.status !== r.status || JSON.stringify(y.body) === JSON.stringify(r.body)))
    return undefined;
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
  const request = fc.record({
    do: fc.constant("request" as const),
    who,
    method: fc.constantFrom("GET", "GET", "GET", "HEAD") as fc.Arbitrary<"GET" | "HEAD">,
    path: fc.constantFrom(...PATHS),
  });
  // The faults first: fast-check draws them most often, and shrinks towards them.
  const failover = fc.record({
    do: fc.constant("failover" as const),
    state: fc.constantFrom("down", "frozen", "up") as fc.Arbitrary<RelayState>,
  });
  const forget = fc.record({ do: fc.constant("forget-cookie" as const), who });

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
    await client.connect();
    clients.set(side, client);
    side.after(() => (client.isOpen ? client.destroy() : undefined));
    side.notes.state = "up";
    return catchTimers(side, () => make(client, deadlineMs()));
  }

  const visit = (w: number): Action => ({ do: "request", who: w, method: "GET", path: "/" });
  const get = (w: number, path: Path): Extract<Action, { do: "request" }> => ({
    do: "request",
    who: w,
    method: "GET",
    path,
  });
  const down: Action = { do: "failover", state: "down" };
  const freeze: Action = { do: "failover", state: "frozen" };
  const up: Action = { do: "failover", state: "up" };

  return {
    visitors: 3,
    action: fc.oneof(
      { arbitrary: request, weight: 6 },
      { arbitrary: failover, weight: 2 },
      { arbitrary: forget, weight: 1 },
    ),
    examples: [
      [get(0, "/health")],
      [visit(0), get(0, "/about"), get(0, "/logo.svg"), get(0, "/health")],
      [visit(0), { do: "request", who: 0, method: "HEAD", path: "/about" }],
      [visit(0), down, get(0, "/about"), get(1, "/logo.svg"), get(1, "/health"), visit(0), up],
      [visit(0), freeze, get(0, "/health"), get(0, "/logo.svg"), visit(0), up, visit(0)],
      [visit(0), visit(1), down, visit(1), up, visit(1)],
      // A visit that fails, then the health check: it must not learn from the visit either.
      [visit(0), down, visit(0), get(1, "/health")],
      // Many visits waiting at once: the health check answers all the same.
      [visit(0), freeze, { ...get(1, "/health"), crowd: 25 }],
    ],
    describe,
    actor: (a) => ("who" in a ? a.who : undefined),
    async perform(a, side) {
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
        if (a.state !== "up") await timePasses(side);
        if (a.state === "up" && client) {
          // Reconnected, and what waited answered: counted here, not in the next request.
          await until(() => client.isReady);
          await timePasses(side);
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
      if (!a.crowd || side.notes.state === "up") return visitor.send(a.method, a.path, JSON_CLIENT);
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
      const answer = await visitor.send(a.method, a.path, JSON_CLIENT);
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
        // A HEAD of the visits page counts no visit and shows no session: it may skip the
        // store (no reads, and no 503 while it fails over), or not.
        name: "a HEAD of the visits page, with the session or without",
        apply: (o, a) =>
          a.do === "request" && a.method === "HEAD" && visitsPage(a) && o.status !== 500
            ? { ...o, status: o.status === 503 ? 200 : o.status, body: "", traffic: {} }
            : o,
      },
    ],
    rules: [statusRule, retryRule, trafficRule, cookieRule, sessionRule],
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
