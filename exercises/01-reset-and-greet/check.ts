/**
 * Exercise 01: GET /hello greets a newcomer and a returning visitor (reading the session,
 * never writing it); POST /reset ends the session in the store and in the browser.
 *
 * A differential check (test/checks/differential.ts): scenarios of several visitors, drawn at
 * random from what clients can do, run on your app and on the reference side by side, each with
 * its own MemoryStore; after every request the two must look the same to a visitor (status,
 * body, cookies) and to an operator (the sessions in the store, the calls made to it).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { syncBuiltinESMExports } from "node:module";
import nodeTimers from "node:timers";
import timers from "node:timers/promises";
import { promisify } from "node:util";
import express from "express";
import type session from "express-session";
import fc from "fast-check";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import { SESSION_MAX_AGE } from "../../steps/shared/workshop-session.ts";
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
import { SLOW_MS } from "../../test/checks/store-probe.ts";
import * as reference from "./solution/app.ts";

type Module = typeof import("./solution/app.ts");

const VISITORS = 3;
/** A regular's visits, more than anyone counts by hand (and than 99); and a loyal one's (over 999). */
const REGULAR = 120;
const LOYAL = 1234;
type Action =
  | { do: "visit"; who: number; times: number }
  | { do: "hello"; who: number; accept: "json" | "html" | "any" }
  | {
      do: "reset";
      who: number;
      method: Method;
      naming: number | undefined;
      accept?: "json" | "html" | "any";
    }
  | { do: "resets"; who: number; also: number }
  | { do: "regular"; who: number; visits?: number }
  | { do: "copy"; who: number; of: number }
  | { do: "forge"; who: number; of: number }
  | { do: "other-cookie"; who: number }
  | { do: "fail"; op: "destroy" | "get"; on: boolean; slow?: boolean };
/**
 * POST ends the session; the others must not (a link, a prefetch, a monitor, a preflight, and the
 * methods the task does not offer: DELETE, PUT, PATCH, and one no list of them names: PROPFIND).
 */
type Method = "POST" | "GET" | "HEAD" | "OPTIONS" | "DELETE" | "PUT" | "PATCH" | "PROPFIND";
const NOT_POST: Record<Exclude<Method, "POST">, string> = {
  GET: "a link, a prefetch or an <img src> would end the session",
  HEAD: "a link checker or an uptime monitor (HEAD) would end the session",
  OPTIONS: "a CORS preflight (OPTIONS, sent by the browser on its own) would end the session",
  DELETE:
    "the task's way to forget is POST /reset alone, and a DELETE that forgets too is one more way to end a session that nobody asked for (answer it without touching the session)",
  PUT: "the task's way to forget is POST /reset alone, and a PUT that forgets too is one more way to end a session that nobody asked for (answer it without touching the session)",
  PATCH:
    "the task's way to forget is POST /reset alone, and a PATCH that forgets too is one more way to end a session that nobody asked for (answer it without touching the session)",
  PROPFIND:
    "every method but POST must leave the session alone, not only the ones a list names: a WebDAV client's PROPFIND, or any method a proxy or a crawler sends, would end the session (answer it without touching the session)",
};

const JSON_CLIENT = { accept: "application/json" };
const ACCEPT = { json: "application/json", html: "text/html", any: "*/*" } as const;
const name = (i: number) => "ABC"[i] ?? "?";
const FORGED = ".not-the-servers-signature";
/** How long a stored session lives, when not the workshop's 30 minutes. */
const LIFETIME = "lives in the store";

/** The session id inside a session cookie's value (s%3A<id>.<signature>), signature unchecked. */
const idIn = (value: string | undefined) =>
  /^s:([^.]+)\./.exec(decodeURIComponent(value ?? ""))?.[1];

const ONES = (
  "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen " +
  "fifteen sixteen seventeen eighteen nineteen"
).split(" ");
const TENS = ["", "", ..."twenty thirty forty fifty sixty seventy eighty ninety".split(" ")];
/**
 * N (under 1000) in words, as a pattern: "three", "twenty[- ]one", "one hundred( and)? twenty",
 * and "once", "twice", "thrice".
 */
function inWords(n: number): string {
  if (n >= 100) {
    const rest = n % 100 ? `(,? and)?[- ]${inWords(n % 100)}` : "";
    return `${ONES[Math.floor(n / 100)]}[- ]hundred${rest}`;
  }
  const word =
    n < 20 ? ONES[n] : `${TENS[Math.floor(n / 10)]}${n % 10 ? `[- ]${ONES[n % 10]}` : ""}`;
  const times = ["", "once", "twice", "thrice"][n];
  return times ? `${word}|${times}` : `${word}`;
}
/** N in digits, as a pattern: "1234", or grouped by thousands ("1,234", "1 234", "1.234"). */
const digits = (n: number) => String(n).replace(/\B(?=(\d{3})+$)/g, "[,. \u00a0\u202f']?");
/** Whether MESSAGE says N visits: "3", "3x", "three", "twice", "twenty-one", "1,234"… */
const says = (message: string, n: number) =>
  new RegExp(`\\b(${digits(n)}x?${n < 1000 ? `|${inWords(n)}` : ""})\\b`, "i").test(message);

// Mostly A, so that one visitor's requests follow each other; B and C to tell visitors apart.
const who = fc.constantFrom(0, 0, 0, 1, 1, 2);
const clientActions: fc.Arbitrary<Action>[] = [
  fc.record({ do: fc.constant("visit" as const), who, times: fc.constantFrom(1, 1, 2, 4) }),
  fc.record({
    do: fc.constant("hello" as const),
    who,
    accept: fc.constantFrom("json", "any", "html"),
  }),
  fc.record({
    do: fc.constant("reset" as const),
    who,
    method: fc.constantFrom<Method>(
      "POST",
      "POST",
      "POST",
      "POST",
      "POST",
      "POST",
      "POST",
      "GET",
      "HEAD",
      "OPTIONS",
      "DELETE",
      "PUT",
      "PATCH",
    ),
    naming: fc.option(who, { nil: undefined, freq: 3 }),
    // A browser's form asks for HTML: still a 204, never a redirect.
    accept: fc.constantFrom("json", "json", "any", "html"),
  }),
  fc.record({ do: fc.constant("copy" as const), who, of: who }),
  fc.record({ do: fc.constant("forge" as const), who, of: who }),
  fc.record({ do: fc.constant("other-cookie" as const), who }),
];
const weights = [4, 4, 3, 1, 1, 1];
const weighted = (extra: fc.Arbitrary<Action>[] = []) =>
  fc.oneof(
    ...clientActions.map((arbitrary, i) => ({ arbitrary, weight: weights[i] ?? 1 })),
    ...extra.map((arbitrary) => ({ arbitrary, weight: 2 })),
  );

function describe(a: Action): string {
  switch (a.do) {
    case "visit":
      return `${name(a.who)}: GET /${a.times > 1 ? ` ×${a.times}` : ""}`;
    case "hello":
      return `${name(a.who)}: GET /hello (Accept: ${ACCEPT[a.accept]})`;
    case "regular":
      return `${name(a.who)} is a regular: the store's record of its session says ${a.visits ?? REGULAR} visits`;
    case "resets":
      return `${name(a.who)} and ${name(a.also)}: POST /reset at the same time (a double click, two tabs)`;
    case "reset":
      return `${name(a.who)}: ${a.method} /reset${a.accept && a.accept !== "json" ? ` (Accept: ${ACCEPT[a.accept]})` : ""}${a.method === "POST" ? "" : ` (with ?_method=POST and X-HTTP-Method-Override: POST)`}${a.naming === undefined || a.method !== "POST" ? "" : ` naming ${name(a.naming)}'s session id in the body {"sessionId", "sid"}, the query (?sessionId=, ?sid=) and an X-Session-Id header`}`;
    case "copy":
      return `${name(a.who)} gets a copy of ${name(a.of)}'s session cookie (a shared computer, a stolen cookie)`;
    case "forge":
      return `${name(a.who)} forges a cookie: ${name(a.of)}'s session id with a signature that is not the server's`;
    case "other-cookie":
      return `${name(a.who)} also holds another cookie (theme=dark), sent before the session cookie`;
    case "fail":
      if (!a.on) return `the store works again (${a.op}())`;
      return a.slow
        ? `the store becomes slow, then fails: ${a.op}() fails ${SLOW_MS} ms after it is asked (meanwhile, every timer the app sets runs out at once)`
        : `the store starts failing ${a.op}() (a broken store)`;
  }
}

async function perform(a: Action, side: Side): Promise<Answer | undefined> {
  if (a.do === "fail") {
    if (a.on) side.probe.failing.add(a.op);
    else side.probe.failing.delete(a.op);
    if (a.on && a.slow) side.probe.slow.add(a.op);
    else side.probe.slow.delete(a.op);
    return undefined;
  }
  if (a.do === "resets") {
    const both = [side.visitors[a.who], side.visitors[a.also]];
    side.notes.sentSessionCookie = both.every((v) => v?.cookies.has(COOKIE_NAME));
    const answers = await Promise.all(both.map((v) => v?.send("POST", "/reset", JSON_CLIENT)));
    return answers[1];
  }
  const visitor = side.visitors[a.who];
  if (!visitor) return undefined;
  const jar = visitor.cookies;
  side.notes.sentSessionCookie = jar.has(COOKIE_NAME);
  switch (a.do) {
    case "visit": {
      let answer: Answer | undefined;
      for (let i = 0; i < a.times; i++) answer = await visitor.send("GET", "/", JSON_CLIENT);
      return answer;
    }
    case "hello":
      return visitor.send("GET", "/hello", { accept: ACCEPT[a.accept] });
    case "reset": {
      // Whether the store holds the session that the visitor's signed cookie names.
      const sent = jar.get(COOKIE_NAME);
      const own = sent?.endsWith(encodeURIComponent(FORGED)) ? undefined : idIn(sent);
      side.notes.heldSession = own !== undefined && own in (await side.probe.sessions());
      const client = { accept: ACCEPT[a.accept ?? "json"] };
      // A method override (?_method=, X-HTTP-Method-Override) must not turn a link into a POST.
      if (a.method !== "POST")
        return visitor.send(a.method, "/reset?_method=POST", {
          ...client,
          "x-http-method-override": "POST",
        });
      const named =
        a.naming === undefined ? undefined : idIn(side.visitors[a.naming]?.cookie(COOKIE_NAME));
      if (!named) return visitor.send("POST", "/reset", client);
      const query = `?sessionId=${encodeURIComponent(named)}&sid=${encodeURIComponent(named)}`;
      return visitor.send(
        "POST",
        `/reset${query}`,
        { ...client, "x-session-id": named },
        { sessionId: named, sid: named },
      );
    }
    case "regular": {
      // Not a request: the store is told, as after as many visits, without as many requests.
      const id = idIn(jar.get(COOKIE_NAME));
      const store = side.probe.store;
      if (!id || !store) return undefined;
      const data = await new Promise<session.SessionData | null | undefined>((resolve) =>
        store.get(id, (_error, found) => resolve(found)),
      );
      if (!data) return undefined;
      await new Promise<void>((resolve) =>
        store.set(id, { ...data, visits: a.visits ?? REGULAR } as session.SessionData, () =>
          resolve(),
        ),
      );
      return undefined;
    }
    case "copy": {
      const value = side.visitors[a.of]?.cookie(COOKIE_NAME);
      if (value) jar.set(COOKIE_NAME, value);
      return undefined;
    }
    case "forge": {
      const id = idIn(side.visitors[a.of]?.cookie(COOKIE_NAME));
      if (id) jar.set(COOKIE_NAME, encodeURIComponent(`s:${id}${FORGED}`));
      return undefined;
    }
    case "other-cookie": {
      const kept = [...jar];
      jar.clear();
      jar.set("theme", "dark");
      for (const [key, value] of kept) if (key !== "theme") jar.set(key, value);
      return undefined;
    }
  }
}

/** The visits in the reference's session for this visitor (what a greeting should say). */
async function visitsOf(reference: Side, who: number): Promise<number | undefined> {
  const id = idIn(reference.visitors[who]?.cookie(COOKIE_NAME));
  const sessions = await reference.probe.sessions();
  return id ? (sessions[id] as { visits?: number } | undefined)?.visits : undefined;
}

/** A directive that gives a cache a lifetime of a second or more (max-age=60, s-maxage=5…). */
const lasting = (directive: string) => new RegExp(`(^|[,\\s])(${directive})=\\s*"?[1-9]`, "i");

/**
 * Which cache may answer in the app's place from a copy of ANSWER, and so show an old or another
 * visitor's greeting: "shared" (a CDN, a proxy: Cache-Control public, s-maxage, or a max-age
 * without private; or a lifetime in a header only CDNs obey, such as CDN-Cache-Control,
 * Cloudflare-CDN-Cache-Control, Surrogate-Control, or nginx's X-Accel-Expires: seconds, or
 * @<epoch seconds> still to come), "browser" (private with a lifetime), or none.
 * A lifetime: max-age (s-maxage), or else an Expires date still to come, or else a Last-Modified
 * long enough ago for a cache to guess one (a tenth of its age); or a while a stale copy may still
 * be shown (stale-while-revalidate, stale-if-error). CDN_HEADERS: the names of the headers the
 * app sent that only CDNs obey.
 */
function cacheMayKeep(answer: Answer, cdnHeaders: string[]): "shared" | "browser" | undefined {
  const directives = (answer.header("cache-control") ?? "").toLowerCase();
  const has = (name: string) => new RegExp(`(^|[,\\s])${name}\\b`).test(directives);
  const ages = /(^|[,\s])(s-maxage|max-age)=/.test(directives);
  const expires = Date.parse(answer.header("expires") ?? "");
  const modified = Date.parse(answer.header("last-modified") ?? "");
  const lifetime =
    (ages
      ? lasting("s-maxage|max-age").test(directives)
      : answer.header("expires") !== undefined
        ? expires > Date.now()
        : Date.now() - modified >= 10_000) ||
    lasting("stale-while-revalidate|stale-if-error").test(directives);
  const accel = (answer.header("x-accel-expires") ?? "").trim();
  const cdn =
    cdnHeaders.some((name) => lasting("s-maxage|max-age").test(answer.header(name) ?? "")) ||
    (accel.startsWith("@") ? Number(accel.slice(1)) * 1000 > Date.now() : Number(accel) >= 1);
  if (cdn) return "shared";
  if (has("no-store") || has("no-cache") || !(lifetime || has("public"))) return undefined;
  return has("private") ? "browser" : "shared";
}

/** The headers that let a cache keep an answer, as said in a message. */
const cacheHeaders = (answer: Answer, cdnHeaders: string[]) =>
  ["cache-control", "expires", "last-modified", "x-accel-expires", ...cdnHeaders]
    .filter((name) => answer.header(name) !== undefined)
    .map((name) => {
      const said = name
        .split("-")
        .map((word) => (word === "cdn" ? "CDN" : `${word.charAt(0).toUpperCase()}${word.slice(1)}`))
        .join("-");
      const guessed =
        name === "last-modified" &&
        answer.header("expires") === undefined &&
        !/max-age=/i.test(answer.header("cache-control") ?? "");
      return `${said}: ${answer.header(name)}${guessed ? " (given no lifetime, a cache guesses one: a tenth of the time since then)" : ""}`;
    })
    .join(", ");

/** Headers only CDNs obey: CDN-Cache-Control, Surrogate-Control, and a CDN's own (Cloudflare-…). */
const CDN_ONLY = /(^|-)cdn-cache-control$|^surrogate-control$/i;

async function body(a: Action, answer: Answer, side: Side, reference: Side) {
  const sent = Array.isArray(side.notes.headers) ? (side.notes.headers as string[]) : [];
  const cdnHeaders = [
    ...new Set([
      "cdn-cache-control",
      "surrogate-control",
      ...sent.filter((n) => CDN_ONLY.test(n)).map((n) => n.toLowerCase()),
    ]),
  ];
  const cache = answer.status < 400 ? cacheMayKeep(answer, cdnHeaders) : undefined;
  if (cache) return { cache, headers: cacheHeaders(answer, cdnHeaders) };
  return personalBody(a, answer, side, reference);
}

const FIRST_VISIT = "Welcome! This is your first visit.";

async function personalBody(a: Action, answer: Answer, side: Side, reference: Side) {
  const text = answer.text;
  if (answer.status >= 400) return "(an error)";
  if (a.do === "visit") {
    const json = JSON.parse(text) as { visits: number; sessionId: string };
    return {
      visits: json.visits,
      session: side.labels.get(json.sessionId) ?? "(a session not in the store)",
    };
  }
  if (a.do !== "hello") return text ? "(a body)" : "";
  let greeting: { firstVisit?: unknown; message?: unknown };
  try {
    if (!answer.header("content-type")?.includes("json")) throw new Error("not JSON");
    greeting = JSON.parse(text);
  } catch {
    return { json: false, text: text.slice(0, 60) };
  }
  const { firstVisit, message } = greeting;
  if (typeof message !== "string" || !message) return { firstVisit, message: "(no message)" };
  if (firstVisit !== false) {
    // A newcomer's greeting may be in other words than the task's, but not a returning one's.
    const asIfBack = /\b(back|again|once|twice|times|visits)\b|\d/i.test(message);
    return { firstVisit, message: asIfBack ? message : "(a newcomer's greeting)" };
  }
  const count = await visitsOf(reference, a.who);
  if (count === undefined || says(message, count))
    return { firstVisit, message: "(says the count)" };
  return { firstVisit, message: `does not say ${count}: ${JSON.stringify(message)}` };
}

function cookie(line: string) {
  const { pair, attributes } = setCookieParts(line);
  const cookieName = pair.slice(0, pair.indexOf("="));
  const maxAge = attributes.get("max-age");
  const expires = attributes.get("expires");
  const path = attributes.get("path") ?? "(none)";
  // A cleared cookie replaces the session cookie when its name, path and domain are the same,
  // and when the browser takes it at all: over http, it drops one marked Secure.
  if (
    (maxAge !== undefined && Number(maxAge) <= 0) ||
    (expires && Date.parse(expires) < Date.now())
  ) {
    const domain = attributes.get("domain") ?? "(none)";
    const secure = attributes.has("secure");
    // SameSite=None without Secure: a browser rejects the cookie, and keeps the old one.
    const rejected = attributes.get("samesite")?.toLowerCase() === "none" && !secure;
    // Partitioned (CHIPS): another cookie than the unpartitioned session cookie, which it does
    // not replace (and without Secure, a browser rejects it).
    const partitioned = attributes.has("partitioned");
    return {
      name: cookieName,
      cleared: true,
      path,
      domain,
      secure,
      ...(rejected && { rejected }),
      ...(partitioned && { partitioned }),
    };
  }
  return {
    name: cookieName,
    path,
    httpOnly: attributes.has("httponly"),
    sameSite: attributes.get("samesite")?.toLowerCase() ?? "(none)",
    expiry: attributes.has("expires") || attributes.has("max-age"),
  };
}

// ---- Rules: what is wrong at a step where your app and the reference differ, in words.
type S = Step<Action>;
const route = (a: Action) =>
  a.do === "visit"
    ? "GET /"
    : a.do === "hello"
      ? "GET /hello"
      : a.do === "reset"
        ? `${a.method} /reset`
        : a.do === "resets"
          ? "POST /reset (two at the same time)"
          : a.do;
const actor = (a: Action) => ("who" in a ? name(a.who) : "");
const count = (o: Observation, op: keyof Observation["traffic"]) => o.traffic[op] ?? 0;
const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);

function statusRule({ action: a, yours: y, reference: r, referenceSide }: S) {
  if (y.status === r.status) return undefined;
  if (r.status >= 500 && y.status < 400) {
    if (a.do === "hello") {
      return `claimed success though the store failed: GET /hello answered ${y.status} while the store could not read the session; whether the visitor is new is not known then, and the visitor must learn it did not work (pass the error on)`;
    }
    const failing = referenceSide.probe.failing;
    const what =
      (a.do === "reset" || a.do === "resets") && failing.has("destroy")
        ? failing.has("get")
          ? "read or forget the session"
          : "forget the session"
        : "read the session";
    return `claimed success though the store failed: ${route(a)} answered ${y.status} while the store could not ${what}; the visitor must learn it did not work (pass the error on)`;
  }
  if (r.status >= 500 && y.status < 500) {
    return `${route(a)} answered ${y.status} while the store failed: the error was not passed on (next(error)), so the visitor is told something else went wrong`;
  }
  if (a.do === "reset" || a.do === "resets")
    return `POST /reset does not answer 204 No Content (it answered ${y.status})`;
  if (a.do === "hello") return `GET /hello does not answer 200 (it answered ${y.status})`;
  return `${route(a)} answered ${y.status} where ${r.status} was expected`;
}

function storeRule({ action: a, yours: y, reference: r, before, owners }: S) {
  const said: string[] = [];
  for (const label of Object.keys(y.store)) {
    if (label in r.store) continue;
    if (label in before) {
      said.push(
        a.do === "reset" || a.do === "resets"
          ? `the old cookie still names a live session: after ${route(a)}, ${owners.get(label)}'s session (${label}) is still in the store, so a kept copy of the cookie still works`
          : `${route(a)} left ${owners.get(label)}'s session (${label}) in the store where it should be gone`,
      );
    } else {
      said.push(
        a.do === "hello"
          ? "/hello stored a session: a request that only reads must not create one"
          : `${route(a)} stored a session that should not exist`,
      );
    }
  }
  for (const label of Object.keys(r.store)) {
    if (label in y.store) continue;
    const owner = owners.get(label);
    if (a.do === "reset" && a.method !== "POST") {
      said.push(
        `${a.method} /reset ended ${owner ?? "the visitor"}'s session (${label}): only a POST may forget the visitor; ${NOT_POST[a.method]}`,
      );
    } else if (owner && owner !== actor(a)) {
      said.push(
        `another visitor's session was removed: ${actor(a)}'s ${route(a)} ended ${owner}'s session (${label}), a session it had no valid cookie for`,
      );
    } else if (a.do === "reset" && a.method === "POST") {
      said.push(
        `${route(a)} ended a session it had no valid cookie for: ${owner}'s session (${label}); only the session of the request's own signed cookie may end`,
      );
    } else {
      said.push(
        `${route(a)} removed ${owner ?? "the visitor"}'s session (${label}) from the store`,
      );
    }
  }
  for (const label of Object.keys(r.store)) {
    if (!(label in y.store) || same(y.store[label], r.store[label])) continue;
    const { [LIFETIME]: lifetime, ...kept } = y.store[label] as Record<string, unknown>;
    const { [LIFETIME]: _lifetime, ...expected } = r.store[label] as Record<string, unknown>;
    if (a.do === "hello" && same(kept, expected) && lifetime !== undefined) {
      said.push(
        `/hello changed how long the session lives in the store (${String(lifetime)}, where the session cookie lives ${SESSION_MAX_AGE / 60_000} minutes): /hello only reads the session; a record that outlives its cookie lets a kept copy of the cookie work long after the browser dropped it`,
      );
      continue;
    }
    said.push(
      a.do === "hello"
        ? `/hello changed the session in the store: ${JSON.stringify(y.store[label])} where it held ${JSON.stringify(r.store[label])}`
        : `${route(a)} left ${owners.get(label)}'s session holding ${JSON.stringify(y.store[label])} where ${JSON.stringify(r.store[label])} was expected`,
    );
  }
  return said.join("\n") || undefined;
}

function cookieRule({ action: a, yours: y, reference: r }: S) {
  if (same(y.cookies, r.cookies)) return undefined;
  if (a.do === "reset" && a.method !== "POST") {
    return `${a.method} /reset changed the cookies (${JSON.stringify(y.cookies)}): only a POST may forget the visitor; ${NOT_POST[a.method]}`;
  }
  type C = {
    name: string;
    cleared?: boolean;
    path: string;
    domain?: string;
    secure?: boolean;
    rejected?: boolean;
    partitioned?: boolean;
  };
  const mine = (y.cookies as C[]).filter((c) => c.name === COOKIE_NAME);
  const theirs = (r.cookies as C[]).filter((c) => c.name === COOKIE_NAME);
  if (a.do === "hello" && mine.length > theirs.length) {
    return "/hello set a cookie: it only reads the session, so it sends no Set-Cookie";
  }
  const cleared = theirs.find((c) => c.cleared);
  const last = mine.at(-1);
  if (cleared) {
    if (!last)
      return `the session cookie is not cleared: ${route(a)} sends no Set-Cookie for ${COOKIE_NAME}`;
    if (!last.cleared)
      return `the session cookie is not cleared: ${route(a)} sets a live ${COOKIE_NAME} cookie`;
    if (last.path !== cleared.path) {
      return `the session cookie is not cleared: the path is not the cookie's (Path=${last.path}, the session cookie has Path=${cleared.path}; a cookie is only replaced by one with the same name and path)`;
    }
    if (last.domain !== cleared.domain) {
      return `the session cookie is not cleared: the domain is not the cookie's (Domain=${last.domain}, the session cookie has ${cleared.domain === "(none)" ? "none" : `Domain=${cleared.domain}`}; a cookie is only replaced by one with the same name, path and domain)`;
    }
    if (last.partitioned && !cleared.partitioned) {
      return "the session cookie is not cleared: the clearing cookie says Partitioned, and a partitioned cookie is another cookie than the session cookie, which is not partitioned (without Secure, browsers even reject it), so the old one stays; clear it as it was set";
    }
    if ("rejected" in last) {
      return "the session cookie is not cleared: the clearing cookie says SameSite=None without Secure, and browsers reject such a cookie, so the old one stays; clear it as it was set";
    }
    if (last.secure && !cleared.secure) {
      return 'the session cookie is not cleared over http: the clearing cookie is marked Secure, and a browser drops a Secure cookie that comes over plain http (the session cookie is secure: "auto", Secure only over HTTPS); clear it as it was set';
    }
  }
  const other = (y.cookies as C[]).find((c) => c.name !== COOKIE_NAME);
  if (other && !(r.cookies as C[]).some((c) => c.name === other.name))
    return `${route(a)} sets a cookie named ${other.name}: the session cookie is ${COOKIE_NAME} (express-session's default name is connect.sid; this app names its own)`;
  return `${route(a)} sets cookies differently: ${JSON.stringify(y.cookies)} where ${JSON.stringify(r.cookies)} was expected`;
}

function bodyRule({ action: a, yours: y, reference: r, referenceSide }: S) {
  if (same(y.body, r.body) || y.status !== r.status) return undefined;
  const mine = y.body as Record<string, unknown>;
  const theirs = r.body as Record<string, unknown>;
  if (typeof mine === "object" && mine !== null && "cache" in mine)
    return mine.cache === "shared"
      ? `${route(a)} lets shared caches keep a visitor's own answer (${String(mine.headers)}): a CDN or proxy would show it to other visitors; an answer about the session is private`
      : `${route(a)} lets the browser answer from its own copy (${String(mine.headers)}): after a visit or a reset, the visitor is shown an old greeting; an answer about the session changes with it`;
  if (a.do === "hello" && typeof mine === "object" && typeof theirs === "object") {
    if (mine.json === false)
      return `GET /hello does not answer JSON to a client that sends Accept: ${ACCEPT[a.accept]} (it answered ${JSON.stringify(mine.text)})`;
    if (theirs.firstVisit === false && mine.firstVisit !== false)
      return "a returning visitor is greeted as new (firstVisit should be false once the session holds visits)";
    if (theirs.firstVisit === true && mine.firstVisit !== true) {
      const value = referenceSide.visitors[a.who]?.cookie(COOKIE_NAME);
      const why = !value
        ? "it brought no session cookie"
        : value.endsWith(encodeURIComponent(FORGED))
          ? "its cookie's signature is not the server's, so the cookie names no session (trusting the id inside it lets anyone read another visitor's session)"
          : "its cookie names a session the store does not hold";
      return `a visitor without a session is greeted as returning: ${why}`;
    }
    if (theirs.firstVisit === true && mine.message !== theirs.message)
      return `a newcomer is greeted as a returning visitor: ${JSON.stringify(mine.message)} (the task's words for a first visit: "${FIRST_VISIT}"; nothing about coming back, nor a count)`;
    if (mine.message !== theirs.message)
      return `the greeting does not say how many visits: ${String(mine.message)}`;
  }
  if (
    a.do === "visit" &&
    typeof mine === "object" &&
    typeof theirs === "object" &&
    mine.session !== theirs.session
  ) {
    return `GET / continued ${String(mine.session)} where the reference started ${String(theirs.session)}: the old cookie still names a live session`;
  }
  return `${route(a)} answered ${JSON.stringify(y.body)} where ${JSON.stringify(r.body)} was expected`;
}

function trafficRule({ action: a, yours: y, reference: r }: S) {
  const said: string[] = [];
  if (count(y, "all") + count(y, "length") > count(r, "all") + count(r, "length")) {
    said.push(
      `read every session in the store to answer one visitor (${route(a)}): ask for the visitor's own session only`,
    );
  }
  const writes = (o: Observation) => count(o, "set") + count(o, "touch");
  if (a.do === "reset" && writes(y) > writes(r)) {
    said.push(
      `wrote to the store after forgetting the session (${route(a)}): the store got set/touch calls after destroy, which a store may answer by bringing the session back`,
    );
  } else if (count(y, "set") > count(r, "set")) {
    said.push(
      a.do === "hello"
        ? "/hello wrote to the store: a request that changes nothing must not write the session"
        : `${route(a)} wrote the session ${count(y, "set")} times where ${count(r, "set")} writes were expected (one write per changed session)`,
    );
  }
  if (y.early && !r.early) {
    said.push(
      `answered before the store confirmed: ${route(a)} sent its answer while the store was still working (destroy or save not finished); with a slower store a kept cookie still works after the 204, and a failure can no longer be reported`,
    );
  }
  return said.join("\n") || undefined;
}

function model(module: Module, extra: fc.Arbitrary<Action>[], examples: Action[][]): Model<Action> {
  return {
    visitors: VISITORS,
    action: weighted(extra),
    examples,
    describe,
    actor: (a) => ("who" in a ? a.who : undefined),
    perform,
    body,
    cookie,
    session: (data) => {
      // The record's own expiry, in whole minutes from now: the workshop's 30, or else shown.
      const { cookie, ...rest } = data as { cookie?: { expires?: string | null } };
      const expires = cookie?.expires;
      const minutes = expires ? Math.round((Date.parse(expires) - Date.now()) / 60_000) : undefined;
      if (minutes === SESSION_MAX_AGE / 60_000) return rest;
      return {
        ...rest,
        [LIFETIME]: minutes === undefined ? "until the browser closes" : `${minutes} minutes`,
      };
    },
    allowed: [
      {
        name: "any 5xx, with any cookies, when the store fails",
        apply: (o) => (o.status >= 500 ? { ...o, status: 500, cookies: [] } : o),
      },
      {
        // Nothing to forget: the store need not be asked. Asked, and failing, it must be heard.
        name: "204 without asking a failing store to forget a session it never held",
        apply: (o, a, side) =>
          a.do === "reset" &&
          a.method === "POST" &&
          !side.notes.heldSession &&
          side.probe.failing.has("destroy") &&
          o.status === 204 &&
          !o.traffic.destroy &&
          !o.traffic.clear
            ? { ...o, status: 500, body: "(an error)", cookies: [] }
            : o,
      },
      {
        // Judged by what it changes (the store, the cookies), not by what it answers.
        name: "any answer to a reset that is not a POST (a 404, a 405…)",
        apply: (o, a) =>
          a.do === "reset" && a.method !== "POST"
            ? { ...o, status: 0, body: "(any answer: not a POST)" }
            : o,
      },
      {
        name: "more or fewer reads of the visitor's own session (get)",
        apply: (o) => {
          const { get: _get, ...traffic } = o.traffic;
          return { ...o, traffic };
        },
      },
      {
        // Judged by what the store holds afterwards: a destroy of a session the store never
        // held, or none, is the same to a visitor and to an operator.
        name: "how the store is asked to forget (destroy, clear)",
        apply: (o) => {
          const { destroy: _destroy, clear: _clear, ...traffic } = o.traffic;
          return { ...o, traffic };
        },
      },
      {
        name: "clearing, or not, the cookie of a visitor who sent none",
        apply: (o, a, side) =>
          a.do === "reset" && !side.notes.sentSessionCookie
            ? {
                ...o,
                cookies: (o.cookies as { name: string }[]).filter((c) => c.name !== COOKIE_NAME),
              }
            : o,
      },
    ],
    rules: [statusRule, storeRule, cookieRule, bodyRule, trafficRule],
    createApp: (side) => inTime(side, module.createApp()),
    createReference: (side) => inTime(side, reference.createApp()),
  };
}

// ---- Time, for an app whose store is slow: its own timers run out at once. An app that stops
// waiting for the store and answers anyway is seen doing it, without the check waiting as long.

/** Which side's app a timer is set by: the side whose request is being handled. */
const handling = new AsyncLocalStorage<Side>();

function inTime(side: Side, app: express.Express): express.Express {
  return express().use((req, res, next) => {
    // The names of the headers the app sends (a CDN's own cache header among them).
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => typeof res;
    res.writeHead = ((...args: unknown[]) => {
      const given = args.find((arg) => typeof arg === "object" && arg !== null);
      side.notes.headers = [
        ...res.getHeaderNames(),
        ...(Array.isArray(given)
          ? given.filter((_, i) => i % 2 === 0).map(String)
          : Object.keys(given ?? {})),
      ];
      return writeHead(...args);
    }) as typeof res.writeHead;
    // An app that gives up on a slow store with req/res.setTimeout: its timeout runs out at once.
    for (const target of [req, res] as const) {
      const real = target.setTimeout.bind(target) as (ms: number, run?: () => void) => unknown;
      (target as { setTimeout: unknown }).setTimeout = (ms: number, run?: () => void) => {
        real(side.probe.slow.size && ms > 0 ? 1 : ms, run);
        return target;
      };
    }
    handling.run(side, () => app(req, res, next));
  });
}

/**
 * From now on, the timers set by an app whose store is slow run out at once: setTimeout and
 * setInterval (global and node:timers), node:timers/promises' setTimeout and scheduler.wait,
 * util.promisify(setTimeout), AbortSignal.timeout. Installed once for the process, never
 * removed: checks run side by side in it.
 */
let hurried = false;
function hurryTimers(): void {
  if (hurried) return;
  hurried = true;
  const { setTimeout: realTimeout, setInterval: realInterval } = globalThis;
  const realPromise = timers.setTimeout;
  const { scheduler } = timers;
  const realWait = scheduler.wait;
  const due = (ms: number | undefined) => (handling.getStore()?.probe.slow.size ? 0 : ms);
  const realAbort = AbortSignal.timeout;
  AbortSignal.timeout = (ms: number) => realAbort.call(AbortSignal, due(ms) ?? ms);
  const promised = ((ms?: number, ...rest: unknown[]) =>
    realPromise(due(ms), ...rest)) as typeof timers.setTimeout;
  const timeout = Object.assign(
    (run: () => void, ms?: number, ...args: unknown[]) => realTimeout(run, due(ms), ...args),
    { [promisify.custom]: promised },
  ) as unknown as typeof setTimeout;
  const interval = ((run: () => void, ms?: number, ...args: unknown[]) =>
    realInterval(run, due(ms), ...args)) as typeof setInterval;
  globalThis.setTimeout = timeout;
  globalThis.setInterval = interval;
  nodeTimers.setTimeout = timeout;
  nodeTimers.setInterval = interval;
  timers.setTimeout = promised;
  scheduler.wait = (ms: number, options?: Parameters<typeof realWait>[1]) =>
    realWait.call(scheduler, due(ms) ?? ms, options);
  syncBuiltinESMExports();
}

const A = 0;
const B = 1;
const C = 2;
const visit = (who: number, times = 1): Action => ({ do: "visit", who, times });
const hello = (who: number): Action => ({ do: "hello", who, accept: "json" });
const reset = (who: number): Action => ({ do: "reset", who, method: "POST", naming: undefined });
const bothReset = (who: number, also: number): Action => ({ do: "resets", who, also });

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "GET /hello and POST /reset answer like the reference, for any visitors in any order",
      timeoutMs: 30_000,
      run: ({ module }) =>
        differential(
          model(
            module,
            [],
            [
              [hello(A)],
              [visit(A, 2), hello(A), visit(A), hello(A), visit(A)],
              [visit(A, 2), { do: "copy", who: B, of: A }, reset(A), visit(B), hello(C)],
              // A browser's form (Accept: text/html) resets too: 204, like any client.
              [
                visit(A, 2),
                { do: "reset", who: A, method: "POST", naming: undefined, accept: "html" },
                visit(A),
              ],
              [reset(A)],
              // A regular, greeted after more visits than anyone counts by hand.
              [visit(A, 4), visit(A, 2), hello(A)],
              [visit(A, 12), hello(A), visit(A, 25), hello(A)],
              // And after more than a hundred, and a thousand: said exactly (not "99+", "999+").
              [
                visit(A),
                { do: "regular", who: A },
                hello(A),
                { do: "regular", who: A, visits: LOYAL },
                hello(A),
              ],
              // A link or a prefetch (GET), a monitor (HEAD), a preflight (OPTIONS), and the
              // methods the task does not offer (DELETE, PUT, PATCH, and any other: PROPFIND).
              [
                visit(A),
                ...(["GET", "HEAD", "OPTIONS", "DELETE", "PUT", "PATCH", "PROPFIND"] as const).map(
                  (method): Action => ({ do: "reset", who: A, method, naming: undefined }),
                ),
                hello(A),
              ],
              // A browser that holds other cookies too.
              [visit(A), { do: "other-cookie", who: A }, reset(A), visit(A)],
              // Attacks: a forged cookie, a body naming another visitor's session.
              [visit(A), visit(B), { do: "reset", who: B, method: "POST", naming: A }, visit(A)],
              [visit(A, 2), { do: "forge", who: B, of: A }, hello(B), reset(B), visit(A)],
            ],
          ),
          { runs: 15, maxActions: 6 },
        ),
    },
    {
      name: "GET /hello and POST /reset say so when the store fails to read or to forget the session",
      timeoutMs: 30_000,
      run: ({ module }) => {
        const fault = fc.record({
          do: fc.constant("fail" as const),
          op: fc.constantFrom("destroy" as const, "destroy" as const, "get" as const),
          on: fc.boolean(),
          slow: fc.boolean(),
        });
        const broken: Action = { do: "fail", op: "destroy", on: true };
        const slowThenBroken: Action = { ...broken, slow: true };
        const unreadable: Action = { do: "fail", op: "get", on: true };
        const examples = [
          [visit(A), broken, reset(A), hello(A)],
          [visit(A), slowThenBroken, reset(A), hello(A)],
          [visit(B), visit(C), slowThenBroken, bothReset(B, C)],
          // A store that cannot read the visitor's session: neither a newcomer nor back.
          [visit(A), unreadable, hello(A)],
        ];
        hurryTimers();
        return differential(model(module, [fault], examples), { runs: 6 });
      },
    },
  ],
});
