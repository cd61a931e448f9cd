/**
 * Exercise 12: the API's policy for pages of other origins, whose frontends are one origin and a
 * pattern (https://*.partners.example: one label in place of the *). Frontends read their
 * answers (Access-Control-Allow-Origin: their origin, credentials) and get their preflights; no
 * other page reads anything; a request that changes something from another origin is a 403;
 * every answer says Vary: Origin.
 *
 * A differential check (test/checks/differential.ts) that plays a browser: a visitor's pages on
 * many origins (front.example, partners' sites drawn at random, look-alikes of both drawn the
 * same way, spellings of both that no browser writes, null, a page of the API's own site, the API's own page, browsers that send no
 * Sec-Fetch-Site or no Origin) call the API with fetch(…, { credentials: "include" }) or post a
 * form, with the visitor's cookie; a script (no browser) calls it too; now and then a PUT, PATCH,
 * DELETE, PROPFIND, QUERY or JSON POST arrives from another origin with no preflight of the API's (a
 * gateway in front answered it). The check sends the
 * preflight when a browser would, and decides from the answers' headers, as a browser does,
 * whether the request goes out and whether the page may read the answer. Your app and the
 * reference run side by side, each with a MemoryStore; after every call the check compares what
 * the page could read, the CORS headers, the status of what changes something, Set-Cookie, and
 * the baskets in the store.
 */
import session from "express-session";
import fc from "fast-check";
import { boundForLoad } from "../../lib/services/net.ts";
import {
  type Answer,
  differential,
  type Model,
  type Side,
  type Step,
  setCookieParts,
} from "../../test/checks/differential.ts";
import { defineCheck, serveApp, wrong } from "../../test/checks/kit.ts";
import * as reference from "./solution/app.ts";

type Module = typeof import("./solution/app.ts");

const FRONTENDS = ["https://front.example", "https://*.partners.example"];
const FRONT = "https://front.example";
const PARTNER = "https://acme.partners.example";
/**
 * The API's host: every request names it (Host), as the proxy passes it on. On a port of its
 * own: its origin is https://api.shop.example:8443, which a hostname without the port misses.
 */
const HOST = "api.shop.example:8443";
/** The API's own origin, and another origin of its own site. */
const OWN = "own";
const SIBLING = "sibling";
/** Where a page comes from: an origin, OWN or SIBLING. */
type Page = string;
/** Pages not drawn: front.example, its look-alikes, partners.example itself, an empty label, the
 * API's own host over HTTP, null. */
const FIXED_PAGES: Page[] = [
  FRONT,
  "https://partners.example",
  "https://.partners.example",
  "https://front.example.evil.com",
  "https://evil-front.example",
  "http://front.example",
  "https://front.example:8443",
  "https://sub.front.example",
  "https://front-example.com",
  "https://front-example",
  "https://front.example:443",
  // The API's own host over plain HTTP, or on another port: another origin, whatever its host.
  `http://${HOST}`,
  "https://api.shop.example",
  // Ends as the API's origin does: another host of the API's own site.
  `https://evil.${HOST}`,
  "null",
  SIBLING,
  OWN,
];
/** A partner's label: acme, shop-2, 7eleven… (lowercase, as browsers write a host; never xn--). */
const LABEL = fc.stringMatching(/^[a-z0-9][a-z0-9]{0,7}(-{1,3}[a-z0-9]{1,4})?$/);
const partner = (label: string) => `https://${label}.partners.example`;
/** Look-alikes of a partner's site: each a way a match goes wrong. */
const LOOK_ALIKES: ((label: string) => Page)[] = [
  (label) => `https://${label}.partners.example.evil.com`,
  (label) => `https://${label}partners.example`,
  (label) => `https://${label}-partners.example`,
  (label) => `http://${label}.partners.example`,
  (label) => `https://${label}.partners.example:8443`,
  (label) => `https://${label}.partners.example:443`,
  (label) => `https://${label}.partners-example`,
  (label) => `https://www.${label}.partners.example`,
  (label) => `https://${label}.partners.example/`,
  (label) => `https://${label.toUpperCase()}.partners.example`,
  (label) => `https://${label}..partners.example`,
  // Not ASCII: a browser writes such a host in punycode (xn--…), never as typed.
  (label) => `https://${label}é.partners.example`,
];
/**
 * Spellings of an allowed origin that no browser writes (URL parsers tidy each one into the
 * origin itself): refused as written, never tidied up.
 */
const SPELLINGS = (origin: string): Page[] => {
  const { host } = new URL(origin);
  const label = host.split(".")[0] ?? "";
  return [
    origin.toUpperCase().replace("HTTPS://", "https://"),
    origin.replace("https:", "HTTPS:"),
    `${origin}/`,
    `${origin}:`,
    `${origin}:0443`,
    `${origin}?x`,
    `${origin}#x`,
    `https://x@${host}`,
    `https:${host}`,
    `https:/${host}`,
    `https:\\${host}`,
    `https://${label.slice(0, 1)}\t${host.slice(1)}`,
    `https://${label.slice(0, -1)}%${label.charCodeAt(label.length - 1).toString(16)}${host.slice(label.length)}`,
  ];
};
const PAGE: fc.Arbitrary<Page> = fc.oneof(
  { arbitrary: fc.constantFrom(...FIXED_PAGES), weight: 4 },
  { arbitrary: LABEL.map(partner), weight: 3 },
  {
    arbitrary: fc
      .tuple(fc.constantFrom(...LOOK_ALIKES), LABEL)
      .map(([lookAlike, label]) => lookAlike(label)),
    weight: 4,
  },
);
/** Which of its headers a form's browser sends: both, or one of them only. */
type Sends = "both" | "no Sec-Fetch-Site" | "no Origin";
/**
 * Requests that change things and that a browser sends from another origin only after a
 * preflight (any method but GET, HEAD and POST; a POST with a JSON body): the API refuses them
 * by itself all the same, whoever answered that preflight.
 */
type Unsafe = "PUT" | "PATCH" | "DELETE" | "PROPFIND" | "QUERY" | "POST (JSON)";
/** "add-form": fetch with a URLSearchParams body, a request that needs no preflight. */
type Call = "read" | "add" | "add-form" | "empty";
type Action =
  | { do: "fetch"; page: Page; call: Call; old: boolean }
  | { do: "form"; page: Page; sends: Sends }
  | { do: "script"; call: Call }
  | { do: "unchecked"; page: Page; method: Unsafe }
  | { do: "typed" };

const VICTIM = 0;
const SCRIPT = 1;

/** Each call: its method, whether its body is JSON, and what the body is, in words. */
const ROUTE: Record<Call, { method: string; json: boolean; body: string }> = {
  read: { method: "GET", json: false, body: "" },
  add: { method: "POST", json: true, body: " with a JSON body" },
  "add-form": {
    method: "POST",
    json: false,
    body: " with a URLSearchParams body (form-encoded: no preflight)",
  },
  empty: { method: "DELETE", json: false, body: "" },
};

/** The proxy in front: HTTPS, and the API's name. */
const PROXY = { "x-forwarded-proto": "https", host: HOST };
function originOf(page: Page): string {
  if (page === OWN) return `https://${HOST}`;
  if (page === SIBLING) return "https://blog.shop.example";
  return page;
}
/** Sec-Fetch-Site, as a browser says it for a page of PAGE calling the API. */
function fetchSite(page: Page): string {
  if (page === OWN) return "same-origin";
  if (page === SIBLING) return "same-site";
  // Same site: HTTPS and a host of shop.example (the API's own host on another port, say).
  const url = URL.canParse(page) ? new URL(page) : undefined;
  if (url?.protocol === "https:" && /(^|\.)shop\.example$/.test(url.hostname)) return "same-site";
  return "cross-site";
}
/** Whether PAGE is spelled as no browser writes an Origin: uppercase, a path, a default port. */
const unlikeBrowsers = (page: Page) => URL.canParse(page) && new URL(page).origin !== page;
const shown = (page: Page) =>
  page === OWN
    ? "the API's own page"
    : page === SIBLING
      ? "https://blog.shop.example (same-site: another origin of the API's own site)"
      : page === "null"
        ? "a page with Origin: null (a sandboxed frame, a file)"
        : unlikeBrowsers(page)
          ? `Origin: ${page} (no browser writes an origin this way)`
          : page;
/** Whether PAGE is a frontend's: front.example, or one label under partners.example. */
const listed = (page: Page) =>
  page === FRONT || /^https:\/\/[a-z0-9-]+\.partners\.example$/.test(page);
/** " in a browser that sends no Origin", when the browser leaves a header out. */
function browser(a: Action): string {
  if (a.do === "fetch" && a.old) return " in a browser that sends no Sec-Fetch-Site";
  if (a.do === "form" && a.sends !== "both") return ` in a browser that sends ${a.sends}`;
  return "";
}

function describe(a: Action): string {
  switch (a.do) {
    case "fetch": {
      const { method, body } = ROUTE[a.call];
      return `${shown(a.page)}${browser(a)}: fetch ${method} /basket${body}, credentials: "include"`;
    }
    case "form":
      return `${shown(a.page)}${browser(a)}: a form POSTs item=… to /basket`;
    case "script":
      return `a script (no browser: no Origin, no Sec-Fetch-Site): ${ROUTE[a.call].method} /basket`;
    case "unchecked":
      return `${shown(a.page)}: ${a.method === "POST (JSON)" ? 'POST /basket {"item": "cocoa"} (JSON)' : `${a.method} /basket`} with the visitor's cookie, its preflight answered by something else than the API (a gateway in front, say)`;
    case "typed":
      return "the visitor types the API's /basket into the address bar";
  }
}

/** A comma-separated header as a list of lower-cased tokens. */
const tokens = (value: string | undefined) =>
  (value ?? "")
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);

/** What the browser makes of a preflight's answer for METHOD (JSON: a Content-Type to allow). */
function preflightVerdict(answer: Answer, origin: string, method: string, json: boolean) {
  if (answer.status < 200 || answer.status > 299) return `answered ${answer.status}`;
  const allowOrigin = answer.header("access-control-allow-origin");
  if (allowOrigin !== origin) return `Access-Control-Allow-Origin: ${allowOrigin ?? "(none)"}`;
  if (answer.header("access-control-allow-credentials") !== "true")
    return "no Access-Control-Allow-Credentials: true";
  if (!["GET", "HEAD", "POST"].includes(method)) {
    const methods = (answer.header("access-control-allow-methods") ?? "").split(",");
    if (!methods.map((m) => m.trim()).includes(method))
      return `it does not allow the method ${method}`;
  }
  if (json && !tokens(answer.header("access-control-allow-headers")).includes("content-type"))
    return "it does not allow the header Content-Type";
  return "passed";
}

interface Seen {
  /** The preflight's verdict, when one was due. */
  preflight?: string;
  /** Whether the request itself went out. */
  sent: boolean;
  /** What the page could read: the status and basket, or nothing. */
  read?: unknown;
  allowOrigin?: string;
  vary: boolean;
}

async function perform(a: Action, side: Side): Promise<Answer | undefined> {
  const victim = side.visitors[VICTIM];
  const script = side.visitors[SCRIPT];
  if (!victim || !script) return undefined;
  const proxy = PROXY;
  const seen: Seen = { sent: true, vary: false };
  side.notes.seen = seen;
  let answer: Answer;
  if (a.do === "typed") {
    answer = await victim.send("GET", "/basket", {
      ...proxy,
      accept: "text/html",
      "sec-fetch-site": "none",
      "sec-fetch-mode": "navigate",
    });
  } else if (a.do === "script") {
    const { method } = ROUTE[a.call];
    const item = a.call === "add" ? { item: "tea" } : undefined;
    answer = await script.send(method, "/basket", { ...proxy, accept: "application/json" }, item);
  } else if (a.do === "unchecked") {
    const headers = {
      ...proxy,
      origin: originOf(a.page),
      "sec-fetch-site": fetchSite(a.page),
      "sec-fetch-mode": "cors",
    };
    answer =
      a.method === "POST (JSON)"
        ? await victim.send("POST", "/basket", headers, { item: "cocoa" })
        : await victim.send(a.method, "/basket", headers);
  } else if (a.do === "form") {
    // A form's POST: no preflight, whatever its origin; the answer goes to the window, not a script.
    const origin = originOf(a.page);
    const site: Record<string, string> =
      a.sends === "no Sec-Fetch-Site"
        ? {}
        : { "sec-fetch-site": fetchSite(a.page), "sec-fetch-mode": "navigate" };
    const withOrigin: Record<string, string> = a.sends === "no Origin" ? {} : { origin };
    const headers = {
      ...proxy,
      ...site,
      ...withOrigin,
      "content-type": "application/x-www-form-urlencoded",
    };
    answer = await victim.send("POST", "/basket", headers, "item=a+form%27s+item");
  } else {
    const { method, json } = ROUTE[a.call];
    const origin = originOf(a.page);
    const own = a.page === OWN;
    const site: Record<string, string> = a.old
      ? {}
      : { "sec-fetch-site": fetchSite(a.page), "sec-fetch-mode": "cors" };
    // A browser sends Origin with every cross-origin call, and with a same-origin one that is no GET.
    const withOrigin: Record<string, string> = !own || method !== "GET" ? { origin } : {};
    if (!own && (json || !["GET", "HEAD", "POST"].includes(method))) {
      // A preflight never carries cookies.
      const preflight = await victim.withoutCookies().send("OPTIONS", "/basket", {
        ...proxy,
        ...site,
        origin,
        "access-control-request-method": method,
        ...(json ? { "access-control-request-headers": "content-type" } : {}),
      });
      seen.preflight = preflightVerdict(preflight, origin, method, json);
      if (seen.preflight !== "passed") {
        seen.sent = false;
        return preflight;
      }
    }
    // fetch writes a URLSearchParams body's type with its charset, as no form does.
    const form = a.call === "add-form";
    const type: Record<string, string> = form
      ? { "content-type": "application/x-www-form-urlencoded;charset=UTF-8" }
      : {};
    answer = await victim.send(
      method,
      "/basket",
      { ...proxy, ...site, ...withOrigin, ...type, accept: "application/json" },
      json ? { item: "cocoa" } : form ? "item=cocoa" : undefined,
    );
    const readable =
      own ||
      (answer.header("access-control-allow-origin") === origin &&
        answer.header("access-control-allow-credentials") === "true");
    seen.read = readable ? { status: answer.status, body: answer.text } : undefined;
  }
  seen.allowOrigin = answer.header("access-control-allow-origin");
  seen.vary = tokens(answer.header("vary")).includes("origin") || answer.header("vary") === "*";
  return answer;
}

const pageOf = (a: Action): Page | undefined => ("page" in a ? a.page : undefined);

function body(a: Action, answer: Answer, side: Side) {
  const seen = side.notes.seen as Seen;
  const page = pageOf(a);
  const allowOrigin =
    seen.allowOrigin === undefined
      ? "(none)"
      : page && seen.allowOrigin === originOf(page)
        ? "(the page's origin)"
        : seen.allowOrigin;
  return {
    preflight: seen.preflight ?? "(none)",
    sent: seen.sent,
    read: seen.read ?? "(nothing)",
    allowOrigin: seen.sent ? allowOrigin : "(not sent)",
    vary: seen.sent ? seen.vary : "(not sent)",
    changes: answer.status,
  };
}

function cookie(line: string) {
  const { pair } = setCookieParts(line);
  return pair.slice(0, pair.indexOf("="));
}

// ---- Rules: what is wrong, in words, where your app and the reference differ.
type S = Step<Action>;
type Body = ReturnType<typeof body>;
const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);

function readRule({ action: a, yours, reference }: S) {
  const y = yours.body as Body;
  const r = reference.body as Body;
  const page = pageOf(a);
  if (!page || a.do !== "fetch") return undefined;
  const said: string[] = [];
  if (y.read !== "(nothing)" && r.read === "(nothing)") {
    said.push(
      `another site can read the answers: ${shown(page)} is not on the list, yet it got Access-Control-Allow-Origin: ${y.allowOrigin === "(the page's origin)" ? originOf(page) : y.allowOrigin} with credentials, and read the visitor's basket`,
    );
  } else if (y.read === "(nothing)" && r.read !== "(nothing)" && y.sent) {
    const why =
      y.allowOrigin === "*"
        ? "Access-Control-Allow-Origin: * (browsers refuse it for requests with credentials)"
        : y.allowOrigin === "(none)"
          ? "no Access-Control-Allow-Origin"
          : y.allowOrigin !== "(the page's origin)"
            ? `Access-Control-Allow-Origin: ${y.allowOrigin}`
            : "no Access-Control-Allow-Credentials: true";
    said.push(`the frontend ${page} cannot read the answer to its ${ROUTE[a.call].method}: ${why}`);
  }
  if (y.preflight !== r.preflight) {
    if (r.preflight === "passed") {
      const what = a.call === "add" ? "JSON POST" : ROUTE[a.call].method;
      said.push(`the frontend's ${what} stops at the preflight: ${y.preflight}`);
    } else if (y.preflight === "passed") {
      said.push(
        `another site's preflight passes: ${shown(page)} is not on the list, yet the browser may send its ${ROUTE[a.call].method}`,
      );
    }
  }
  return said.join("\n") || undefined;
}

function headerRule({ action: a, yours, reference }: S) {
  const y = yours.body as Body;
  const r = reference.body as Body;
  const page = pageOf(a);
  const said: string[] = [];
  if (
    y.sent &&
    r.sent &&
    y.allowOrigin !== r.allowOrigin &&
    page &&
    !listed(page) &&
    page !== OWN
  ) {
    said.push(
      `${shown(page)} is not on the list, yet it got Access-Control-Allow-Origin: ${y.allowOrigin === "(the page's origin)" ? originOf(page) : y.allowOrigin}`,
    );
  }
  if (r.vary === true && y.vary === false) {
    said.push(
      page && listed(page)
        ? `the answer for the frontend ${page} carries no Vary: Origin: a shared cache could hand it, CORS headers and all, to any other site`
        : "the answer to a page not on the list carries no Vary: Origin: a shared cache could hand it to a frontend, which then cannot read it",
    );
  }
  return said.join("\n") || undefined;
}

function changeRule({ action: a, yours, reference, before }: S) {
  const y = yours.body as Body;
  const r = reference.body as Body;
  const changed = !same(yours.store, reference.store);
  const page = pageOf(a);
  const who = page ? shown(page) : "a script";
  const old = browser(a) ? ` (${browser(a).trim().replace(/^in /, "")})` : "";
  if (changed && r.changes === 403 && y.changes !== 403) {
    const how = a.do === "form" ? "a form on" : "a call from";
    const where =
      page && fetchSite(page) === "same-site"
        ? "another origin of this site (same-site)"
        : "another site";
    return `${how} ${where} changed the basket: ${who}${old} was not refused (403), and the store holds ${JSON.stringify(yours.store)} where it held ${JSON.stringify(before)}`;
  }
  if (a.do === "unchecked" && r.changes === 403 && y.changes !== 403) {
    return `a ${a.method} from another origin was not refused: ${describe(a)} answered ${y.changes}, not 403. Every method but GET, HEAD and OPTIONS changes things, not only those the API has routes for today, whatever the body's type, and the API refuses them itself`;
  }
  if (y.changes === 403 && r.changes !== 403 && y.sent) {
    if (a.do === "script")
      return "a client that is no browser (no Origin, no Sec-Fetch-Site) was refused: it carries no visitor's cookie, so it is no forgery; it must pass";
    if (page === OWN) return "the API's own page was refused: its own origin must pass";
    if (page && listed(page))
      return `refused the frontend ${page}: ${a.do === "form" ? "its form" : "its call"} answered 403`;
    return `${describe(a)} was refused with a 403`;
  }
  if (
    y.changes !== r.changes &&
    (r.changes === 403 || y.changes === 403 || y.read !== "(nothing)")
  ) {
    return `${describe(a)} answered ${y.changes} where ${r.changes} was expected`;
  }
  if (changed)
    return `the store holds ${JSON.stringify(yours.store)} where ${JSON.stringify(reference.store)} was expected`;
  return undefined;
}

function model(module: Module, examples: Action[][]): Model<Action> {
  const build = (create: Module["createApp"]) => create(new session.MemoryStore(), FRONTENDS);
  return {
    visitors: 2,
    action: fc.oneof(
      {
        arbitrary: fc.record({
          do: fc.constant("fetch" as const),
          page: PAGE,
          call: fc.constantFrom<Call>("read", "add", "add", "empty", "add-form"),
          old: fc.boolean(),
        }),
        weight: 6,
      },
      {
        arbitrary: fc.record({
          do: fc.constant("form" as const),
          page: PAGE,
          sends: fc.constantFrom<Sends>("both", "both", "no Sec-Fetch-Site", "no Origin"),
        }),
        weight: 3,
      },
      {
        arbitrary: fc.record({
          do: fc.constant("script" as const),
          call: fc.constantFrom<Call>("read", "add", "empty"),
        }),
        weight: 1,
      },
      { arbitrary: fc.record({ do: fc.constant("typed" as const) }), weight: 1 },
      {
        arbitrary: fc.record({
          do: fc.constant("unchecked" as const),
          page: PAGE,
          method: fc.constantFrom<Unsafe>(
            "PUT",
            "PATCH",
            "DELETE",
            "PROPFIND",
            "QUERY",
            "POST (JSON)",
          ),
        }),
        weight: 1,
      },
    ),
    examples,
    describe,
    actor: (a) => (a.do === "script" ? SCRIPT : VICTIM),
    perform,
    body: (a, answer, side) => body(a, answer, side),
    cookie,
    session: (data) => (data as { basket?: unknown }).basket ?? "(no basket)",
    allowed: [
      {
        // Refusing, or answering unreadably, a GET from a page not on the list: nobody reads it.
        name: "a GET from a page not on the list: answered without CORS headers, or refused",
        apply: (o, a) => {
          const page = pageOf(a);
          const b = o.body as Body;
          if (a.do !== "fetch" || ROUTE[a.call].method !== "GET" || !page) return o;
          if (listed(page) || page === OWN || b.read !== "(nothing)") return o;
          return { ...o, status: 0, body: { ...b, changes: "(not read)" }, cookies: [] };
        },
      },
      {
        name: "how a preflight from a page not on the list is refused",
        apply: (o, a) => {
          const b = o.body as Body;
          if (b.sent) return o;
          const page = pageOf(a);
          const preflight = page && listed(page) ? b.preflight : "(refused)";
          return { ...o, status: 0, body: { ...b, preflight, changes: "(not sent)" } };
        },
      },
      {
        name: "the store's traffic",
        apply: (o) => ({ ...o, traffic: {} }),
      },
    ],
    rules: [readRule, headerRule, changeRule],
    createApp: () => build(module.createApp),
    createReference: () => build(reference.createApp),
  };
}

const fetchFrom = (page: Page, call: Call, old = false): Action => ({
  do: "fetch",
  page,
  call,
  old,
});
const form = (page: Page, sends: Sends = "both"): Action => ({ do: "form", page, sends });
const reads = (...pages: Page[]) => pages.map((page) => fetchFrom(page, "read"));

/** The lesson's classic scenarios, tried first: a partner's look-alikes, one each. */
const EXAMPLES: Action[][] = [
  [fetchFrom(FRONT, "add"), fetchFrom(FRONT, "read")],
  [fetchFrom(PARTNER, "add"), fetchFrom(PARTNER, "empty"), fetchFrom(partner("shop-2"), "read")],
  [fetchFrom(PARTNER, "add"), ...reads("https://acme.partners.example.evil.com")],
  [fetchFrom(PARTNER, "add"), form("https://acme.partners.example.evil.com")],
  [fetchFrom(FRONT, "add-form"), fetchFrom("https://evil-front.example", "add-form")],
  [fetchFrom(PARTNER, "add"), ...reads("https://evilpartners.example")],
  [fetchFrom(PARTNER, "add"), ...reads("https://acme-partners.example")],
  [fetchFrom(PARTNER, "add"), ...reads("https://partners.example")],
  [fetchFrom(PARTNER, "add"), ...reads("http://acme.partners.example")],
  [fetchFrom(PARTNER, "add"), ...reads("https://acme.partners.example:8443")],
  [
    fetchFrom(PARTNER, "add"),
    ...reads("https://a.b.partners.example", "https://.partners.example"),
  ],
  [fetchFrom(PARTNER, "add"), ...reads("https://acme.partners.example/")],
  [fetchFrom(PARTNER, "add"), ...reads("https://ACME.partners.example")],
  [
    fetchFrom(FRONT, "add"),
    ...reads("https://front.example.evil.com", "https://evil-front.example"),
  ],
  [fetchFrom(FRONT, "add"), ...reads("http://front.example", "https://front.example:8443")],
  [fetchFrom(FRONT, "add"), ...reads("https://sub.front.example", "https://front-example.com")],
  [fetchFrom(FRONT, "add"), fetchFrom("null", "read"), form("null")],
  [fetchFrom(FRONT, "add"), form("null", "no Sec-Fetch-Site")],
  [fetchFrom(FRONT, "add"), form("https://evil-front.example", "no Sec-Fetch-Site")],
  [fetchFrom(FRONT, "add"), form(SIBLING)],
  [fetchFrom(FRONT, "add"), form(SIBLING, "no Origin"), form(`${PARTNER}.evil.com`, "no Origin")],
  [
    fetchFrom(OWN, "add"),
    fetchFrom(OWN, "empty"),
    form(OWN, "no Origin"),
    { do: "script", call: "add" },
  ],
  [fetchFrom(OWN, "add"), form(`http://${HOST}`), fetchFrom(`http://${HOST}`, "empty")],
  [{ do: "script", call: "add" }, { do: "typed" }, fetchFrom(FRONT, "read")],
  // A label may start with a digit (RFC 1123): 7eleven is a partner as acme is.
  [fetchFrom(partner("7eleven"), "add"), fetchFrom(partner("7eleven"), "read")],
  // A label of one character is one label too.
  [fetchFrom(partner("x"), "add"), fetchFrom(partner("x"), "read")],
  // Any spelling of a frontend's origin that a URL parser tidies into it: a browser never sends one.
  [fetchFrom(FRONT, "add"), ...reads(...SPELLINGS(FRONT)), form(`${FRONT}/`)],
  [
    fetchFrom(PARTNER, "add"),
    ...reads(...SPELLINGS(PARTNER)),
    form(`https://x@acme.partners.example`),
  ],
  // A label is a label: punycode (café), two hyphens; two dots make no label.
  [
    fetchFrom(partner("xn--caf-dma"), "add"),
    fetchFrom(partner("shop--2"), "read"),
    ...reads("https://acme..partners.example", "https://café.partners.example"),
  ],
  // Any method, any body, that changes things; a host that ends as the API's does.
  [
    fetchFrom(FRONT, "add"),
    { do: "unchecked", page: "https://evil-front.example", method: "POST (JSON)" },
    { do: "unchecked", page: SIBLING, method: "PROPFIND" },
    form(`https://evil.${HOST}`),
  ],
  // A default port written out; a dot matched as any character; the API's host on another port.
  [
    fetchFrom(PARTNER, "add"),
    ...reads("https://acme.partners.example:443", "https://acme.partners-example"),
  ],
  [fetchFrom(FRONT, "add"), ...reads("https://front.example:443", "https://front-example")],
  [fetchFrom(FRONT, "add"), form("https://api.shop.example")],
  // Any method that changes things, not only those the API has routes for today.
  [
    fetchFrom(FRONT, "add"),
    { do: "unchecked", page: "https://evil-front.example", method: "PUT" },
    { do: "unchecked", page: SIBLING, method: "PATCH" },
    { do: "unchecked", page: "https://evil-front.example", method: "QUERY" },
  ],
];

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "front.example and the partners' sites read and change their baskets; no other page reads an answer or changes anything",
      timeoutMs: 30_000,
      run: ({ module }) => differential(model(module, EXAMPLES), { runs: 15, maxActions: 5 }),
    },
    {
      name: "who is a frontend comes from the list the app is given: without the partners' pattern, no partner; without front.example, not front.example; *.example, one label; a pattern's own scheme and port; each of two patterns",
      timeoutMs: 30_000,
      run: async ({ module }) => {
        // Each list, and a frontend it leaves out: that one is another site to this app.
        const lists: [string[], string][] = [
          [["https://front.example"], PARTNER],
          [["https://www.shop.example", "https://*.partners.example"], FRONT],
        ];
        for (const [only, left] of lists) {
          const { site, close } = await serveApp(module.createApp(new session.MemoryStore(), only));
          try {
            const cross = { ...PROXY, origin: left, "sec-fetch-site": "cross-site" };
            const read = await fetch(`${site.url}/basket`, { headers: cross });
            const posted = await fetch(`${site.url}/basket`, {
              method: "POST",
              headers: { ...cross, "content-type": "application/x-www-form-urlencoded" },
              body: "item=tea",
            });
            const allowed = read.headers.get("access-control-allow-origin");
            if (allowed)
              wrong(
                `given ${JSON.stringify(only)} as its frontends (FRONTEND_ORIGINS), the app still let ${left} in: its read got Access-Control-Allow-Origin: ${allowed}; the list the app is given says who is a frontend, not an origin or a pattern written in the code`,
              );
            if (posted.status !== 403)
              wrong(
                `given ${JSON.stringify(only)} as its frontends (FRONTEND_ORIGINS), a form POST from ${left} (no session cookie) answered ${posted.status}, not 403: a request from another origin that changes something is refused, whether it brings a cookie or not, and the list the app is given says who is a frontend`,
              );
          } finally {
            await close();
          }
        }
        // Other patterns: another length (one label in place of the * there too), a scheme and
        // a port of their own, two patterns (each counts). Each list, an origin, whether it is
        // a frontend, and the rule.
        const ONE_LABEL = "a pattern's * is one label, whatever the number of labels after it";
        const ITS_OWN =
          "a pattern's scheme and port are its own, as an origin's are: the origin must have the very same, not https and the default port always";
        const EACH = "every pattern in the list counts, not only the first one";
        const patterns: [string[], [string, boolean][], string][] = [
          [
            ["https://*.example"],
            [
              ["https://acme.example", true],
              ["https://a.b.example", false],
            ],
            ONE_LABEL,
          ],
          [
            ["https://*.partners.example:8443"],
            [
              ["https://acme.partners.example:8443", true],
              [PARTNER, false],
            ],
            ITS_OWN,
          ],
          [
            ["http://*.dev.example:5173"],
            [
              ["http://x.dev.example:5173", true],
              ["https://x.dev.example:5173", false],
            ],
            ITS_OWN,
          ],
          [
            ["https://*.shops.example", "https://*.partners.example"],
            [
              ["https://x.shops.example", true],
              [PARTNER, true],
            ],
            EACH,
          ],
        ];
        for (const [list, origins, rule] of patterns) {
          const { site: other, close: closeOther } = await serveApp(
            module.createApp(new session.MemoryStore(), list),
          );
          try {
            for (const [origin, frontend] of origins) {
              const read = await fetch(`${other.url}/basket`, {
                headers: { ...PROXY, origin, "sec-fetch-site": "cross-site" },
              });
              if (Boolean(read.headers.get("access-control-allow-origin")) !== frontend)
                wrong(
                  `given ${JSON.stringify(list)} as its frontends (FRONTEND_ORIGINS), the app ${frontend ? "refused" : "let in"} ${origin}: ${rule}`,
                );
            }
          } finally {
            await closeOther();
          }
        }
      },
    },
    {
      name: "a long Origin, which any site can send, is judged as fast as a short one",
      timeoutMs: 30_000,
      run: async ({ module }) => {
        const { site, close } = await serveApp(
          module.createApp(new session.MemoryStore(), FRONTENDS),
        );
        // The best of two, in ms: a look-alike whose one label has LETTERS letters (or an "a"
        // and a run of LETTERS hyphens).
        const judged = async (letters: number, fill: string) => {
          const times: number[] = [];
          for (const _ of [1, 2]) {
            const started = performance.now();
            await fetch(`${site.url}/basket`, {
              headers: {
                ...PROXY,
                origin: `https://${fill === "a" ? "" : "a"}${fill.repeat(letters)}.partners.examplx`,
              },
            }).then((answer) => answer.arrayBuffer());
            times.push(performance.now() - started);
          }
          return Math.round(Math.min(...times));
        };
        try {
          // A matcher that backtracks (a regular expression with a repeat inside a repeat,
          // such as ([a-z0-9]+-?)+) takes about twice as long for each letter more. Stopped at
          // the first length that costs 100 ms more than 4 letters (more on a busy machine),
          // twice, and over twice what two letters fewer cost: a growth, not a busy moment.
          // A run of hyphens too: a label's hyphens repeated inside a repeat, such as
          // ([a-z0-9]|-+)+, backtrack the same way.
          const slower = boundForLoad(100);
          for (const fill of ["a", "-"]) {
            const what = fill === "a" ? "letters" : "hyphens in a row";
            let before = await judged(4, fill);
            for (let letters = 12; letters <= 28; letters += 2) {
              const ms = await judged(letters, fill);
              const short = await judged(4, fill);
              if (
                ms > short + slower.ms &&
                (await judged(letters, fill)) > short + slower.ms &&
                ms > 2 * before
              )
                wrong(
                  `an Origin of ${letters} ${what} took ${ms} ms to judge, where one of 4 took ${short} ms and one of ${letters - 2} ${before} ms: the match backtracks, and each ${fill === "a" ? "letter" : "hyphen"} more multiplies its time (40 of them: hours of a blocked server). Any site can send such an Origin; match without a repeat inside a repeat (or compare the parts of new URL(origin))`,
                );
              before = ms;
            }
          }
        } finally {
          await close();
        }
      },
    },
  ],
});
