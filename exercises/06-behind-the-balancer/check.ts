/**
 * Exercise 06: behind a CDN (edge servers in 192.0.2.0/24) and the load balancer (on this
 * machine), the app sees each visitor's own address and protocol, believing exactly those two
 * proxies; the session cookie stays Secure and goes out over HTTPS only; every worker shares
 * the sessions, in Redis as sess:<id>.
 *
 * A differential check (test/checks/differential.ts): fast-check draws scenarios of three
 * visitors, each request as the proxies deliver it: from the balancer (127.0.0.1), with
 * X-Forwarded-For holding what the visitor wrote themselves (0 to 3 entries, any values,
 * CDN-looking ones too), the visitor's address (IPv4, IPv6, addresses close to the CDN's, private ones) and
 * the CDN edge's (any of 192.0.2.0/24), and X-Forwarded-Proto saying how the visitor came in
 * (https, or now and then http); now and then a health check from the balancer itself. Two
 * workers (each its own copy of the module, as each process loads its own, and its own client
 * on the side's Redis database, test/checks/redis-probe.ts) stand behind an in-process
 * round-robin, so a session moves between processes; a worker restarts now and then (a new
 * copy of the module: nothing kept of the old one's memory). The workers run on a clock of the
 * check's (test/checks/app-clock.ts): it stands still while a request is handled, so a request
 * drawn "in the same millisecond as the one before" is just that; minutes pass on it now and
 * then (and for the TTLs in Redis); and now and then Redis stops answering the workers (every
 * command fails) for a while. After every request your app and the
 * reference are compared: status, body (GET /whoami's address and protocol, the visits, the
 * page), the cookie and its attributes, what the app believes of the request (req.ip,
 * req.protocol, req.secure: what logs and rate limits use), the sessions in Redis with their
 * TTL, the other keys, and the commands Redis received. Runs: the 16 examples, then 12 drawn
 * scenarios of up to 6 steps.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import express, { type Express, type Request } from "express";
import fc from "fast-check";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import { type AppClock, withClock } from "../../test/checks/app-clock.ts";
import {
  type Answer,
  differential,
  type Model,
  type Observation,
  type Side,
  type Step,
  setCookieParts,
} from "../../test/checks/differential.ts";
import { appRedisClient, type CheckRedis, defineCheck } from "../../test/checks/kit.ts";
import { type HeldSession, RedisSides } from "../../test/checks/redis-probe.ts";

type Module = typeof import("./solution/app.ts");

const PREFIX = "sess:";
const VISITORS = 3;
const WORKERS = 2;
const BALANCER = "127.0.0.1";

/**
 * Where visitors come from: mostly the first; IPv6; addresses that only look like the CDN's; a
 * private address (an office that reaches the CDN over a private link), which no proxy of ours has.
 */
const ADDRESSES = [
  ...["203.0.113.7", "2001:db8::7", "192.0.20.9", "198.51.100.23", "192.0.211.4"],
  // Private and shared ranges (RFC 1918, carrier-grade NAT, IPv6 unique local): an office, a
  // mobile network, a VPN; none of them is a proxy of ours.
  ...["10.20.30.40", "172.20.0.9", "192.168.1.20", "100.72.1.9", "fd12:3456::5"],
  // Next door to the CDN's 192.0.2.0/24: inside a /23.
  "192.0.3.8",
];
/** What a visitor may write in X-Forwarded-For before the CDN adds to it. */
const SPOOFS = ["6.6.6.6", "192.0.2.66", "127.0.0.1", "10.0.0.1", "unknown", "2001:db8::bad"];

/** A request as the balancer delivers it: who sent it, from where, through which edge. */
interface Through {
  who: number;
  address: string;
  /** The CDN edge server's last number: 192.0.2.<edge>. */
  edge: number;
  /** What the visitor wrote in X-Forwarded-For themselves. */
  spoofed: string[];
  /**
   * What the visitor wrote in X-Real-IP, CF-Connecting-IP, True-Client-IP, X-Client-IP,
   * Fastly-Client-IP and X-Cluster-Client-IP (the proxies pass
   * them on untouched), if anything.
   */
  realIp?: string | undefined;
  /** The address the visitor wrote in a Forwarded header (RFC 7239: for=…), if any. */
  forwardedFor?: string | undefined;
  proto: "https" | "http";
  /** Sent in the same millisecond as the request before it (a busy site's visitors arrive so). */
  together: boolean;
}
type Action =
  | ({ do: "visit"; page: boolean } & Through)
  | ({ do: "whoami" } & Through)
  | { do: "health" }
  | { do: "restart"; worker: number }
  /** Minutes pass on the workers' clock (and for what Redis holds). */
  | { do: "wait"; minutes: number }
  /** Redis stops answering the workers (an outage), or answers again. */
  | { do: "redis"; down: boolean };

const name = (i: number) => "ABC"[i] ?? "?";
const edgeOf = (t: Through) => `192.0.2.${t.edge}`;

/** One side's workers for a scenario, behind the round-robin. */
interface Rig {
  /** The module's file (yours or the reference), loaded anew for every worker that starts. */
  file: string;
  clients: RedisClient[];
  workers: Express[];
  /** The worker the next request goes to. */
  next: number;
  /** The worker that answered the last request. */
  answered: number;
  /** The check's client on the side's database. */
  admin: RedisClient;
  /** What the app believed of the last request: what its logs and rate limits use. */
  seen: { ip: unknown; protocol: unknown; secure: unknown } | undefined;
  /** The workers' clock (test/checks/app-clock.ts): ahead by the minutes waited, frozen during a request. */
  clock: AppClock;
  /** Minutes waited, in ms. */
  ahead: number;
  /** The moment of the request under way (its Date.now()), and of the one before. */
  moment: number | undefined;
  lastMoment: number | undefined;
  /** Whether Redis answers the workers. */
  down: boolean;
}
const rigs = new WeakMap<Side, Rig>();
const rigOf = (side: Side): Rig => {
  const rig = rigs.get(side);
  if (!rig) throw new Error("no rig for this side");
  return rig;
};

// ---- What clients do.
const who = fc.constantFrom(0, 0, 0, 1, 1, 2);
const through = {
  who,
  address: fc.constantFrom(...ADDRESSES),
  edge: fc.integer({ min: 1, max: 254 }),
  spoofed: fc.array(fc.constantFrom(...SPOOFS), { maxLength: 3 }),
  realIp: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 2 },
    { arbitrary: fc.constantFrom(...SPOOFS), weight: 1 },
  ),
  forwardedFor: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 3 },
    { arbitrary: fc.constantFrom(...SPOOFS), weight: 1 },
  ),
  proto: fc.constantFrom("https", "https", "https", "http"),
  together: fc.constantFrom(false, false, false, true),
} as const;
const actions: fc.Arbitrary<Action> = fc.oneof(
  {
    arbitrary: fc.record({ do: fc.constant("visit" as const), page: fc.boolean(), ...through }),
    weight: 5,
  },
  { arbitrary: fc.record({ do: fc.constant("whoami" as const), ...through }), weight: 4 },
  { arbitrary: fc.record({ do: fc.constant("health" as const) }), weight: 1 },
  {
    arbitrary: fc.record({ do: fc.constant("restart" as const), worker: fc.constantFrom(0, 1) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      do: fc.constant("wait" as const),
      minutes: fc.constantFrom(10, 25, 45),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ do: fc.constant("redis" as const), down: fc.boolean() }), weight: 1 },
);

function forwarded(t: Through): Record<string, string> {
  return {
    "x-forwarded-for": [...t.spoofed, t.address, edgeOf(t)].join(", "),
    "x-forwarded-proto": t.proto,
    // Headers some proxies set with the client's address: a visitor can write them all.
    ...(t.realIp === undefined
      ? {}
      : {
          "x-real-ip": t.realIp,
          "cf-connecting-ip": t.realIp,
          "true-client-ip": t.realIp,
          "x-client-ip": t.realIp,
          "fastly-client-ip": t.realIp,
          "x-cluster-client-ip": t.realIp,
        }),
    ...(t.forwardedFor === undefined ? {} : { forwarded: `for="${t.forwardedFor}"` }),
  };
}
/** Whether the visitor wrote ADDRESS themselves, in X-Forwarded-For, X-Real-IP (and the like) or Forwarded. */
const wroteIt = (a: Through, address: unknown) =>
  a.spoofed.includes(String(address)) || a.realIp === address || a.forwardedFor === address;

function describe(a: Action): string {
  switch (a.do) {
    case "health":
      return "the balancer's health check: GET /whoami from 127.0.0.1, no X-Forwarded-* headers";
    case "restart":
      return `worker ${a.worker + 1} restarts`;
    case "wait":
      return `${a.minutes} minutes pass`;
    case "redis":
      return a.down
        ? "Redis stops answering (an outage: every command fails)"
        : "Redis answers again";
    default: {
      const route = a.do === "whoami" ? "GET /whoami" : `GET / ${a.page ? "(the page)" : "(JSON)"}`;
      const headers = forwarded(a);
      const realIp =
        a.realIp === undefined
          ? ""
          : `, X-Real-IP, CF-Connecting-IP, True-Client-IP, X-Client-IP, Fastly-Client-IP and X-Cluster-Client-IP: ${a.realIp} (the visitor's own)`;
      const own =
        a.forwardedFor === undefined ? "" : `, Forwarded: ${headers.forwarded} (the visitor's own)`;
      const when = a.together ? " in the same millisecond as the request before" : "";
      return `${name(a.who)} (at ${a.address}, over ${a.proto})${when}: ${route}, delivered with X-Forwarded-For: ${headers["x-forwarded-for"]}, X-Forwarded-Proto: ${a.proto}${realIp}${own}`;
    }
  }
}

/** The real time, read outside any clock of the check's (test/checks/app-clock.ts). */
const outside = AsyncLocalStorage.snapshot();
const realNow = () => outside(() => Date.now());

async function perform(a: Action, side: Side): Promise<Answer | undefined> {
  const rig = rigOf(side);
  rig.seen = undefined;
  rig.moment = undefined;
  switch (a.do) {
    case "restart": {
      const client = rig.clients[a.worker];
      if (client) rig.workers[a.worker] = await startWorker(rig, client);
      await side.probe.settle();
      return undefined;
    }
    case "wait": {
      const ms = a.minutes * 60_000;
      rig.ahead += ms;
      // What Redis holds ages as much: each key's time to live shortened, or the key gone.
      const admin = rig.admin;
      const keys: string[] = [];
      for await (const batch of admin.scanIterator({ COUNT: 1000 })) keys.push(...batch);
      await Promise.all(
        keys.map(async (key) => {
          const left = await admin.pTTL(key);
          if (left < 0) return;
          await (left <= ms ? admin.del(key) : admin.pExpire(key, left - ms));
        }),
      );
      return undefined;
    }
    case "redis":
      rig.down = a.down;
      return undefined;
    case "health": // the balancer's own client: no cookie, no forwarding
      return side.visitors[VISITORS]?.send("GET", "/whoami", { accept: "application/json" });
  }
  // The request's moment: the workers' clock stands still while it is handled.
  // Any other request comes at least a millisecond after the one before.
  const later = Math.max(realNow() + rig.ahead, (rig.lastMoment ?? 0) + 1);
  rig.moment = a.together && rig.lastMoment !== undefined ? rig.lastMoment : later;
  rig.lastMoment = rig.moment;
  switch (a.do) {
    case "whoami":
      return side.visitors[a.who]?.send("GET", "/whoami", {
        accept: "application/json",
        ...forwarded(a),
      });
    case "visit":
      return side.visitors[a.who]?.send("GET", "/", {
        accept: a.page ? "text/html" : "application/json",
        ...forwarded(a),
      });
  }
}

// ---- What is compared.
/** Minutes from now until TIME, on a clock AHEAD ms ahead of the real one. */
const minutesUntil = (time: number, ahead: number) =>
  Math.round((time - Date.now() - ahead) / 60_000);
const ttlShown = (ttlMs: number) =>
  ttlMs < 0 ? "never expires" : `${Math.round(ttlMs / 60_000)} min`;

/** The session id inside a session cookie's value (s%3A<id>.<signature>). */
const idIn = (value: string | undefined) =>
  /^s:([^.]+)\./.exec(decodeURIComponent(value ?? ""))?.[1];

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

/** Keys other than sess:<id> (an id has no colon): where else sessions went. */
async function keysElsewhere(side: Side, admin: RedisClient): Promise<string[]> {
  const found: string[] = [];
  for await (const batch of admin.scanIterator({ COUNT: 1000 })) {
    for (const key of batch) if (!/^sess:[^:]+$/.test(key)) found.push(masked(key, side));
  }
  return found.sort();
}

/** The page as compared: the store it names, the record it shows. */
function page(html: string, side: Side) {
  const store = /<dt>Store<\/dt><dd>([^<]*)<\/dd>/.exec(html)?.[1] ?? "(not shown)";
  const where = /read back from ([^<]*?):<\/p>/.exec(html)?.[1];
  return {
    store,
    record: where ? masked(where, side) : "the store holds nothing for this session",
  };
}

async function body(a: Action, answer: Answer, side: Side, admin: RedisClient) {
  const operator = {
    believed: rigOf(side).seen ?? "(no request reached the app)",
    keysElsewhere: await keysElsewhere(side, admin),
  };
  if (answer.status >= 400) return { answer: "(an error)", ...operator };
  if (a.do === "visit" && a.page) return { ...page(answer.text, side), ...operator };
  const json = JSON.parse(answer.text) as Record<string, unknown>;
  if (a.do !== "visit") return { ip: json.ip, protocol: json.protocol, ...operator };
  return {
    visits: json.visits,
    session: side.labels.get(String(json.sessionId)) ?? "(a session not under sess:)",
    store: json.store,
    ...operator,
  };
}

/** A Set-Cookie line as compared; its lifetime read on the workers' clock, AHEAD ms ahead. */
function cookie(line: string, ahead: number) {
  const { pair, attributes } = setCookieParts(line);
  const expires = attributes.get("expires");
  return {
    name: pair.slice(0, pair.indexOf("=")),
    secure: attributes.has("secure"),
    httpOnly: attributes.has("httponly"),
    sameSite: attributes.get("samesite")?.toLowerCase() ?? "(none)",
    path: attributes.get("path") ?? "(none)",
    lifetime: expires
      ? `${minutesUntil(Date.parse(expires), ahead)} min`
      : "until the browser closes",
  };
}

function session(data: unknown) {
  const { session: stored, ttlMs } = data as HeldSession;
  const { visits } = (stored ?? {}) as { visits?: unknown };
  return { visits, ttl: ttlShown(ttlMs) };
}

/** A command as compared: what it does, not how it was spelled or grouped. */
function kind(command: string): string | undefined {
  // The Store API's calls (get, set, touch…): judged by the commands Redis received.
  if (command === command.toLowerCase()) return undefined;
  const bare = command.replace(/^lua:/, "");
  if (["GET", "TTL", "PTTL", "EXISTS", "TYPE"].includes(bare)) return undefined; // reads
  if (/^P?EXPIRE(AT)?$/.test(bare)) return undefined; // renewals: judged by the TTL they leave
  if (["MULTI", "EXEC", "EVAL", "EVALSHA", "FCALL", "SCRIPT"].includes(bare)) return undefined;
  if (["SET", "SETEX", "PSETEX"].includes(bare)) return "SET";
  return bare;
}

// ---- Rules: what is wrong where your app and the reference differ, in words.
type S = Step<Action>;
type Body = Record<string, unknown>;
const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);

/** Who ADDRESS is, for request A: the visitor, something the visitor wrote, the CDN, the balancer. */
function whose(address: unknown, a: Action): string {
  if (!("address" in a)) return `${String(address)}`;
  if (address === a.address) return `${address}, the visitor's own address`;
  if (address === edgeOf(a)) return `${address}, the CDN edge server's`;
  if (address === BALANCER) return `${address}, the load balancer's`;
  if (wroteIt(a, address)) {
    const header = a.spoofed.includes(String(address))
      ? "X-Forwarded-For"
      : a.realIp === address
        ? "X-Real-IP (or CF-Connecting-IP, True-Client-IP, X-Client-IP, Fastly-Client-IP, X-Cluster-Client-IP)"
        : "Forwarded";
    return `${String(address)}, which the visitor wrote in ${header} themselves`;
  }
  return String(address);
}

function addressRule({ action: a, yours: y, reference: r }: S) {
  if (y.status !== r.status) return undefined;
  const mine = y.body as Body;
  const theirs = r.body as Body;
  const said: string[] = [];
  const believedMine = mine.believed as Body;
  const believedTheirs = theirs.believed as Body;
  const ip = "ip" in mine ? mine.ip : believedMine.ip;
  const expected = "ip" in theirs ? theirs.ip : believedTheirs.ip;
  if (ip !== expected && a.do !== "restart") {
    const head =
      "ip" in mine
        ? "GET /whoami answers"
        : "the app believes (req.ip, what logs and rate limits use)";
    if (!("address" in a)) {
      said.push(
        `${head} ${String(ip)} for the balancer's own health check, which came from ${BALANCER} with no X-Forwarded-For`,
      );
    } else if (wroteIt(a, ip)) {
      said.push(
        `the app believes an address the visitor wrote: ${head} ${whose(ip, a)}; only the entries the CDN and the balancer added can be believed`,
      );
    } else if (ip === edgeOf(a)) {
      said.push(
        `the app sees the CDN's address, not the visitor's: ${head} ${whose(ip, a)}; there are two proxies in front (the CDN's edge servers are all of 192.0.2.0/24)`,
      );
    } else if (ip === BALANCER) {
      said.push(
        `the app sees the balancer's address, not the visitor's: ${head} ${BALANCER}; it believes no proxy's X-Forwarded-For`,
      );
    } else if (expected === a.address && ADDRESSES.some((other) => other === ip)) {
      said.push(
        `the address is not this request's: ${head} ${String(ip)}, an address an earlier request came from, where ${whose(expected, a)} was expected; a visitor may come back from another network, and each request is seen from the address it came from`,
      );
    } else {
      said.push(`${head} ${whose(ip, a)} where ${whose(expected, a)} was expected`);
    }
  } else if (!same(believedMine, believedTheirs) && "ip" in mine && a.do !== "restart") {
    said.push(
      `GET /whoami answers right, but the app itself believes ${JSON.stringify(believedMine)} of the request where ${JSON.stringify(believedTheirs)} was expected: req.ip and req.protocol, what logs, rate limits and express-session use, must see the visitor too`,
    );
  }
  const protocol = "protocol" in mine ? mine.protocol : believedMine.protocol;
  const protocolExpected = "protocol" in theirs ? theirs.protocol : believedTheirs.protocol;
  if (protocol !== protocolExpected) {
    said.push(
      protocolExpected === "https"
        ? `the app does not see that the visitor came over HTTPS: it believes ${String(protocol)} (X-Forwarded-Proto: https, set by the CDN)`
        : `the app believes HTTPS where the visitor came over ${String(protocolExpected)}`,
    );
  } else if (believedMine.secure !== believedTheirs.secure) {
    said.push(
      `the app believes the request ${believedMine.secure ? "came" : "did not come"} over HTTPS (req.secure) where the visitor came over ${String(protocolExpected)}`,
    );
  }
  return said.join("\n") || undefined;
}

function statusRule({ action: a, yours: y, reference: r, referenceSide }: S) {
  if (y.status === r.status) return undefined;
  const route = a.do === "visit" ? "GET /" : "GET /whoami";
  if (rigOf(referenceSide).down && r.status >= 500 && y.status < 400) {
    return `kept serving while Redis was down: ${route} answered ${y.status} where the reference answers ${r.status}; a session a worker keeps elsewhere meanwhile (its own memory) is that worker's alone, so the balancer's next request, on the other worker, knows nothing of it, and it is gone when Redis is back; when the shared store fails, the request fails (let the error reach the store error handler: 503)`;
  }
  if (rigOf(referenceSide).down && r.status === 503) {
    return `${route} answered ${y.status} while Redis was down, where the reference answers 503: let the store's error reach Express, whose store error handler answers 503 (Service Unavailable: try again later)`;
  }
  if (!rigOf(referenceSide).down && r.status < 400 && y.status >= 500) {
    return `still failing after Redis answers again: ${route} answered ${y.status} where the reference answers ${r.status}; once the shared store is back, every worker serves again (a worker that stops asking Redis after a failure never finds out that it is back)`;
  }
  return undefined;
}

function cookieRule({ action: a, yours: y, reference: r, referenceSide }: S) {
  if (same(y.cookies, r.cookies) || y.status !== r.status) return undefined;
  type C = ReturnType<typeof cookie>;
  const mine = (y.cookies as C[]).find((c) => c.name === COOKIE_NAME);
  const theirs = (r.cookies as C[]).find((c) => c.name === COOKIE_NAME);
  const overHttp = "proto" in a && a.proto === "http";
  if (theirs && !mine) {
    return "no session cookie behind the proxies: the app believes the request came over plain HTTP, and express-session never sends a Secure cookie over HTTP";
  }
  if (mine && !theirs && overHttp) {
    return mine.secure
      ? "a Secure cookie over plain HTTP: the visitor came over http (X-Forwarded-Proto: http), yet the app believes it is HTTPS and sends the session cookie"
      : "a cookie without Secure over plain HTTP: the visitor came over http, and the session cookie went out readable by anyone on the way; the policy is Secure, always";
  }
  if (mine && theirs && mine.secure !== theirs.secure) {
    return "the session cookie is not marked Secure: the visitor only ever talks HTTPS to the CDN, so the cookie must never travel in clear";
  }
  const waited = rigOf(referenceSide).ahead / 60_000;
  if (mine && theirs && mine.lifetime !== theirs.lifetime && waited > 0) {
    return `the session cookie's end was fixed in advance: a session started ${waited} minutes into the scenario gets a cookie that lasts ${mine.lifetime} where ${theirs.lifetime} was expected; each session's 30 minutes count from when that session starts (maxAge), not from when the worker started`;
  }
  return `the session cookie differs: ${JSON.stringify(y.cookies)} where ${JSON.stringify(r.cookies)} was expected`;
}

function bodyRule(yoursSide: () => Side | undefined) {
  return ({ action: a, yours: y, reference: r, referenceSide }: S) => {
    if (y.status !== r.status || a.do !== "visit") return undefined;
    const mine = y.body as Body;
    const theirs = r.body as Body;
    const said: string[] = [];
    const worker = rigOf(referenceSide).answered + 1;
    if (mine.session !== theirs.session) {
      const owner = yoursSide()?.owners.get(String(mine.session));
      if (owner && owner !== name(a.who)) {
        said.push(
          a.together
            ? `another visitor's session: ${name(a.who)} was given ${String(mine.session)}, the session ${owner} started, having come in the same millisecond; an id made from the time (or a count) is the same for visitors who come together, and anyone who knows when a visitor came can work it out: an id must be random (express-session's own: 24 random bytes)`
            : `another visitor's session: ${name(a.who)} was given ${String(mine.session)}, the session ${owner} started; two workers handed out the same session id`,
        );
      }
    }
    if (!same(mine.visits, theirs.visits)) {
      said.push(
        Number(mine.visits) === 1
          ? `a session started on one worker is unknown to another: ${name(a.who)} is counted from 1 again on worker ${worker}`
          : `another worker answered with an old count: ${name(a.who)} was told ${String(mine.visits)} visits where ${String(theirs.visits)} were expected (worker ${worker})`,
      );
    }
    if (mine.store !== theirs.store) {
      said.push(
        `the page names the wrong store: "${String(mine.store)}" where the sessions are in Redis`,
      );
    }
    if (!same(mine.record, theirs.record)) {
      said.push(
        `the page's inspector does not show the session's record: it shows ${JSON.stringify(mine.record)} where ${JSON.stringify(theirs.record)} was expected`,
      );
    }
    return said.join("\n") || undefined;
  };
}

function storeRule({ yours: y, reference: r }: S) {
  const said: string[] = [];
  const elsewhere = (y.body as Body).keysElsewhere as string[] | undefined;
  if (elsewhere?.length && !same(elsewhere, (r.body as Body).keysElsewhere)) {
    said.push(
      `the session is not in Redis under sess:<id>: your app wrote ${elsewhere.join(", ")}`,
    );
  }
  const lost = Object.keys(r.store).filter((label) => !(label in y.store));
  if (lost.length && !elsewhere?.length) {
    said.push(
      `the session is not in Redis under sess:<id>: Redis holds no key for ${lost.join(", ")}`,
    );
  }
  for (const label of Object.keys(r.store)) {
    const mine = y.store[label] as ReturnType<typeof session> | undefined;
    const theirs = r.store[label] as ReturnType<typeof session>;
    if (mine && mine.ttl !== theirs.ttl) {
      said.push(
        mine.ttl === "never expires"
          ? `the key sess:${label} never expires, where it should expire in ${theirs.ttl}: a session nobody ends stays in Redis for good`
          : `the key sess:${label} expires in ${mine.ttl} where ${theirs.ttl} was expected`,
      );
    }
  }
  return said.join("\n") || undefined;
}

function trafficRule({ yours: y, reference: r }: S) {
  if (same(y.traffic, r.traffic)) return undefined;
  const scans = ["KEYS", "SCAN"].filter((c) => (y.traffic[c] ?? 0) > (r.traffic[c] ?? 0));
  if (scans.length) {
    return `read every key in Redis to answer one visitor (${scans.join(", ")}): Redis runs one command at a time, so with every worker's visitors in it, all of them wait; read the visitor's own key`;
  }
  if ((y.traffic.SET ?? 0) > (r.traffic.SET ?? 0)) {
    return `wrote the session ${y.traffic.SET} times where ${r.traffic.SET ?? 0} writes were expected`;
  }
  const others = Object.keys(y.traffic).filter((c) => !(c in r.traffic));
  return others.length
    ? `sent Redis commands the reference does not: ${others.map((c) => `${c}×${y.traffic[c]}`).join(" ")}`
    : undefined;
}

// ---- The two sides.
/** The module in FILE, loaded anew: a process of its own, with nothing in its memory yet. */
let loads = 0;
const loadAgain = async (file: string) =>
  (await import(`${pathToFileURL(file).href}?process-${++loads}`)) as Module;

/** What node-redis throws when Redis stops answering: an outage (a 503 by the store error handler). */
class SocketClosedUnexpectedlyError extends Error {}
const EVENTS = new Set(["on", "once", "off", "addListener", "removeListener", "emit"]);

/** CLIENT as a worker gets it: while RIG says Redis is down, every command fails. */
function faulty(client: RedisClient, rig: Rig): RedisClient {
  return new Proxy(client, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      if (rig.down && typeof key === "string" && !EVENTS.has(key)) {
        return () =>
          Promise.reject(
            new SocketClosedUnexpectedlyError("Socket closed unexpectedly (the check's outage)"),
          );
      }
      return value.bind(target);
    },
  });
}

/** A worker process: the module loaded anew and its app made, on the workers' clock. */
const startWorker = (rig: Rig, client: RedisClient) =>
  withClock(rig.clock, async () => (await loadAgain(rig.file)).createApp(faulty(client, rig)));

/**
 * SIDE's app for a scenario: two workers behind a round-robin that also notes what the app
 * believed of each request. Each worker is a process of its own: its own copy of the module
 * in FILE, loaded anew for the scenario, and its own client of CLIENTS.
 */
async function rigFor(side: Side, clients: RedisClient[], file: string, admin: RedisClient) {
  const rig: Rig = {
    file,
    clients,
    admin,
    workers: [],
    next: 0,
    answered: 0,
    seen: undefined,
    clock: { aheadMs: 0 },
    ahead: 0,
    moment: undefined,
    lastMoment: undefined,
    down: false,
  };
  rig.clock = {
    get aheadMs() {
      return rig.moment === undefined ? rig.ahead : rig.moment - realNow();
    },
  };
  rig.workers = await Promise.all(clients.map((client) => startWorker(rig, client)));
  rigs.set(side, rig);
  const balancer = express();
  balancer.use((req: Request, res, next) => {
    const worker = rig.next;
    rig.next = (rig.next + 1) % WORKERS;
    rig.answered = worker;
    res.on("finish", () => {
      // The worker's Express handled the request: req.ip and req.protocol are its view.
      rig.seen = { ip: req.ip, protocol: req.protocol, secure: req.secure };
    });
    const app = rig.workers[worker];
    if (app) withClock(rig.clock, () => app(req, res, next));
    else next();
  });
  return balancer;
}

/** The model; FILE: your app.ts, loaded anew for each worker (the reference's beside it). */
async function model(
  file: string,
  redis: CheckRedis,
  after: (fn: () => unknown) => void,
): Promise<Model<Action>> {
  const sides = await RedisSides.start(redis);
  // Each side's clients, one per worker, made once for all scenarios (a client costs more to
  // make than a scenario to run); one the app closed is made again.
  const clients: Record<Side["name"], RedisClient[]> = { yours: [], reference: [] };
  after(() => {
    for (const client of [...clients.yours, ...clients.reference])
      if (client.isOpen) client.destroy();
  });
  const database: Partial<Record<Side["name"], number>> = {};
  const clientsOf = async (side: Side) => {
    const admin = sides.admin(side.name);
    database[side.name] ??= Number(
      /\bdb=(\d+)/.exec(String(await admin.sendCommand(["CLIENT", "INFO"])))?.[1] ?? 0,
    );
    const own = clients[side.name];
    for (let i = 0; i < WORKERS; i++) {
      if (own[i]?.isOpen) continue;
      const url = new URL(redis.url);
      url.pathname = `/${database[side.name]}`;
      const client = appRedisClient(url.href); // createRedisClient's options
      client.on("error", () => {});
      await client.connect();
      own[i] = client;
    }
    return own;
  };
  let yours: Side | undefined;
  let reference: Side | undefined;
  return {
    visitors: VISITORS + 1, // and the balancer's health check
    action: actions,
    examples: EXAMPLES,
    describe,
    actor: (a) => ("who" in a ? a.who : undefined),
    perform,
    body: (a, answer, side) => body(a, answer, side, sides.admin(side.name)),
    // The minutes waited are alike on both sides: read on the reference's clock.
    cookie: (line) => cookie(line, reference ? rigOf(reference).ahead : 0),
    session,
    allowed: [
      {
        name: "what a failure's page says",
        apply: (o) => (o.status >= 400 ? { ...o, cookies: [] } : o),
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
    ],
    rules: [statusRule, addressRule, cookieRule, bodyRule(() => yours), storeRule, trafficRule],
    probe: (side) => sides.probe(side, PREFIX),
    createApp: async (side) => {
      yours = side;
      return rigFor(side, await clientsOf(side), file, sides.admin(side.name));
    },
    createReference: async (side) => {
      reference = side;
      return rigFor(
        side,
        await clientsOf(side),
        join(import.meta.dirname, "solution", "app.ts"),
        sides.admin(side.name),
      );
    },
  };
}

const A = 0;
const B = 1;
const from = (who: number, more: Partial<Through> = {}): Through => ({
  who,
  together: false,
  address: ADDRESSES[0] ?? "",
  edge: 50,
  spoofed: [],
  proto: "https",
  ...more,
});
const whoami = (t: Through): Action => ({ do: "whoami", ...t });
const visit = (t: Through, page = false): Action => ({ do: "visit", page, ...t });

/** The lesson's classic scenarios, tried first. */
const EXAMPLES: Action[][] = [
  [visit(from(A)), whoami(from(A, { spoofed: ["6.6.6.6"] }))],
  // The same visitor, come back from another address: the address is the request's, not the session's.
  [visit(from(A)), whoami(from(A, { address: "198.51.100.23" }))],
  [visit(from(A)), visit(from(A)), visit(from(A)), whoami(from(A, { edge: 200 }))],
  [visit(from(A)), visit(from(B)), visit(from(A)), visit(from(B))],
  [visit(from(A), true)],
  [visit(from(A, { proto: "http" }))],
  [whoami(from(B, { address: "192.0.20.9", spoofed: ["6.6.6.6", "192.0.2.66"] }))],
  [whoami(from(A, { realIp: "6.6.6.6" })), whoami(from(A, { forwardedFor: "6.6.6.6" }))],
  // The CDN's first and last edge servers: every address of 192.0.2.0/24 is one.
  [
    whoami(from(A, { edge: 1, spoofed: ["6.6.6.6"] })),
    whoami(from(B, { edge: 254, spoofed: ["6.6.6.6"] })),
  ],
  // A visitor at a private address: trusting private networks believes what it wrote.
  [whoami(from(B, { address: "10.20.30.40", spoofed: ["6.6.6.6"] }))],
  [
    whoami(from(B, { address: "172.20.0.9", spoofed: ["6.6.6.6"] })),
    whoami(from(B, { address: "192.168.1.20", spoofed: ["6.6.6.6"] })),
    whoami(from(B, { address: "100.72.1.9", spoofed: ["6.6.6.6"] })),
    whoami(from(B, { address: "fd12:3456::5", spoofed: ["6.6.6.6"] })),
  ],
  [whoami(from(B, { address: "192.0.3.8", spoofed: ["6.6.6.6"] }))],
  [
    whoami(from(A, { address: "2001:db8::7", spoofed: ["127.0.0.1", "6.6.6.6"] })),
    { do: "health" },
  ],
  // A session begun when the workers have been up a while lasts as long as one begun at once.
  [{ do: "wait", minutes: 10 }, visit(from(A)), visit(from(B))],
  // Visitors who come in the same millisecond, on one worker and the other, get sessions of their own.
  [visit(from(A)), visit(from(B, { together: true })), visit(from(2, { together: true }))],
  // Redis down: no worker keeps sessions of its own meanwhile; once it answers again, every
  // worker serves again.
  [
    visit(from(A)),
    { do: "redis", down: true },
    visit(from(A)),
    visit(from(B)),
    { do: "redis", down: false },
    visit(from(A)),
    visit(from(B)),
  ],
];

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "behind the CDN and the balancer: the visitor's own address and protocol, a Secure cookie over HTTPS only, sessions shared by every worker",
      timeoutMs: 30_000,
      run: async ({ dir, redis, after }) =>
        differential(await model(join(dir, "app.ts"), await redis(), after), {
          runs: 12,
          maxActions: 6,
        }),
    },
  ],
});
