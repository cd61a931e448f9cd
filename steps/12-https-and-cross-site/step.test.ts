import assert from "node:assert/strict";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { after, test } from "node:test";
import pg from "pg";
import type { Page } from "puppeteer-core";
import { localCertificate } from "../../lib/services/certificate.ts";
import { freePort } from "../../lib/services/net.ts";
import { launchChromium } from "../../test/harness/chromium.ts";
import {
  redisClientFor,
  startStep,
  usePrivatePostgres,
  usePrivateRedis,
} from "../../test/harness/index.ts";
import { HOST_COOKIE_NAME } from "./host-cookie.ts";

const STEP = "12-https-and-cross-site";
const PASSWORD = "correct horse battery staple";
const [redis, postgres] = await Promise.all([usePrivateRedis(), usePrivatePostgres()]);
const database = new pg.Pool({ connectionString: postgres.url, max: 2 });
database.on("error", () => {}); // PostgreSQL may stop first, when the file's tests end
after(() => database.end());
const client = await redisClientFor({ after }, redis.url);

/** A step with its HTTPS proxy and its two pages, each on a free port; ENV added. */
async function startWithSites(env: Record<string, string> = {}) {
  const [api, frontend, other] = [await freePort(), await freePort(), await freePort()];
  const step = await startStep({ after }, STEP, {
    env: {
      REDIS_URL: redis.url,
      DATABASE_URL: postgres.url,
      HTTPS_PORT: `${api}`,
      FRONTEND_PORT: `${frontend}`,
      OTHER_SITE_PORT: `${other}`,
      ...env,
    },
  });
  return {
    step,
    api: `https://localhost:${api}`,
    frontend: `https://127.0.0.1:${frontend}`,
    other: `https://127.0.0.1:${other}`,
  };
}
// Two servers for the whole file: as `npm run step:12` runs it, and one that trusts no proxy.
const [sites, trustingNone] = await Promise.all([
  startWithSites(),
  startWithSites({ TRUST_PROXY: "false" }),
]);
const { cert } = await localCertificate(); // the one the step made (or found) at start

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * METHOD URL as a client sends it: over HTTPS trusting the step's certificate, or plain HTTP
 * (FROM: the address the connection comes from, to play another machine).
 */
function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; from?: string } = {},
): Promise<Answer> {
  const target = new URL(url);
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const sent = request(
      target,
      {
        method: init.method ?? (init.body === undefined ? "GET" : "POST"),
        headers: init.headers,
        ca: cert,
        localAddress: init.from,
        lookup: (_host, _options, done) => done(null, [{ address: "127.0.0.1", family: 4 }]),
        agent: false,
      },
      (answer) => {
        let body = "";
        answer.setEncoding("utf8").on("data", (chunk: string) => {
          body += chunk;
        });
        answer.on("end", () =>
          resolve({ status: answer.statusCode ?? 0, headers: answer.headers, body }),
        );
      },
    );
    sent.on("error", reject);
    sent.end(init.body);
  });
}

const JSON_BODY = { "content-type": "application/json", accept: "application/json" };
let accounts = 0;

/** Registers a new user; their credentials as a JSON body. */
async function newUser(api: string): Promise<string> {
  const credentials = JSON.stringify({ username: `tls-${++accounts}`, password: PASSWORD });
  const registered = await send(`${api}/register`, { headers: JSON_BODY, body: credentials });
  assert.equal(registered.status, 201, `register answered ${registered.status}`);
  return credentials;
}

/** The session cookie a response sets, as "name=value", and its attributes, lower-cased. */
function sessionCookie(answer: Answer) {
  const line = (answer.headers["set-cookie"] ?? []).find((l) =>
    l.startsWith(`${HOST_COOKIE_NAME}=`),
  );
  if (!line) return undefined;
  const [pair = "", ...parts] = line.split(";").map((part) => part.trim());
  const attributes = new Map(parts.map((p) => [p.split("=")[0]?.toLowerCase(), p.split("=")[1]]));
  return { pair, attributes };
}

/** Logs a new user in through the proxy, as the API's own login page does; their cookie. */
async function loggedIn(api = sites.api): Promise<string> {
  const login = await send(`${api}/login`, {
    headers: { ...JSON_BODY, origin: api },
    body: await newUser(api),
  });
  assert.equal(login.status, 200, `login answered ${login.status}: ${login.body}`);
  const cookie = sessionCookie(login);
  assert.ok(cookie, "the login sets the session cookie");
  return cookie.pair;
}

test("behind the HTTPS proxy: a __Host- cookie, Secure, SameSite=None, Partitioned; logged in", async () => {
  const login = await send(`${sites.api}/login`, {
    headers: { ...JSON_BODY, origin: sites.api },
    body: await newUser(sites.api),
  });
  assert.equal(login.status, 200, login.body);
  const cookie = sessionCookie(login);
  assert.ok(cookie, `a Set-Cookie named ${HOST_COOKIE_NAME}: ${login.headers["set-cookie"]}`);
  const { attributes } = cookie;
  // What the __Host- prefix demands (else the browser drops the cookie), and what the step adds.
  assert.ok(attributes.has("secure"), "Secure");
  assert.equal(attributes.get("path"), "/", "Path=/");
  assert.ok(!attributes.has("domain"), "no Domain");
  assert.equal(attributes.get("samesite"), "None");
  assert.ok(attributes.has("partitioned"), "Partitioned");
  assert.ok(attributes.has("httponly"), "HttpOnly");
  const me = await send(`${sites.api}/me`, { headers: { cookie: cookie.pair } });
  assert.equal(me.status, 200, "the cookie logs the next request in");
});

test("trusting no proxy: the login answers 200, sets no cookie, and the next request is anonymous", async () => {
  const before = await client.dbSize();
  // From the frontend, whose POSTs the API lets in: the login itself succeeds.
  const login = await send(`${trustingNone.api}/login`, {
    headers: { ...JSON_BODY, origin: trustingNone.frontend },
    body: await newUser(trustingNone.api),
  });
  assert.equal(login.status, 200, `the login "works": ${login.body}`);
  assert.deepEqual(login.body, JSON.stringify({ username: `tls-${accounts}` }));
  assert.equal(login.headers["set-cookie"], undefined, "no Set-Cookie at all, and no error");
  // The login's session is in Redis, and no browser will ever bring its id.
  assert.equal(await client.dbSize(), before + 1, "one more key: a session nobody holds");
  const visit = await send(`${trustingNone.api}/`, { headers: { accept: "application/json" } });
  const again = await send(`${trustingNone.api}/`, { headers: { accept: "application/json" } });
  assert.equal(JSON.parse(visit.body).visits, 1);
  assert.equal(JSON.parse(again.body).visits, 1, "a new session on every request");
});

test("X-Forwarded-Proto is believed from the proxy's address only: not from another machine", async () => {
  const app = `http://127.0.0.1:${sites.step.port}/`;
  const spoofed = { accept: "application/json", "x-forwarded-proto": "https" };
  // 127.0.0.2 plays another machine that can reach the app's port (Linux: all of 127/8 is this one).
  const elsewhere = await send(app, { headers: spoofed, from: "127.0.0.2" });
  assert.equal(elsewhere.status, 200);
  assert.equal(elsewhere.headers["set-cookie"], undefined, "plain HTTP: no Secure cookie");
  // The same header from 127.0.0.1, where the proxy connects from, is believed.
  const fromProxyAddress = await send(app, { headers: spoofed, from: "127.0.0.1" });
  assert.ok(sessionCookie(fromProxyAddress), "from the proxy's address: believed");
});

test("CORS: the frontend's origin may read, with credentials; other origins get no CORS headers", async () => {
  const cookie = await loggedIn();
  const preflight = await send(`${sites.api}/statuses`, {
    method: "OPTIONS",
    headers: {
      origin: sites.frontend,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type",
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers["access-control-allow-origin"], sites.frontend);
  assert.equal(preflight.headers["access-control-allow-credentials"], "true");
  assert.match(String(preflight.headers["access-control-allow-methods"]), /\bPOST\b/);
  assert.match(String(preflight.headers["access-control-allow-headers"]), /content-type/i);

  const me = await send(`${sites.api}/me`, { headers: { origin: sites.frontend, cookie } });
  assert.equal(me.status, 200);
  assert.equal(me.headers["access-control-allow-origin"], sites.frontend);
  assert.equal(me.headers["access-control-allow-credentials"], "true");
  assert.match(String(me.headers.vary), /\bOrigin\b/);

  const frontendHost = new URL(sites.frontend).host;
  const strangers = [
    sites.other, // another origin of the frontend's own site
    `http://${frontendHost}`, // the frontend's host, over HTTP
    `https://${frontendHost}.evil.example`,
    "null", // a sandboxed frame, a file
  ];
  for (const origin of strangers) {
    for (const method of ["GET", "OPTIONS"]) {
      const answer = await send(`${sites.api}/me`, {
        method,
        headers: { origin, cookie, "access-control-request-method": "GET" },
      });
      assert.equal(
        answer.headers["access-control-allow-origin"],
        undefined,
        `${method}, ${origin}`,
      );
      assert.equal(answer.headers["access-control-allow-credentials"], undefined);
      assert.match(String(answer.headers.vary), /\bOrigin\b/, "Vary: Origin on every answer");
    }
  }
});

test("CSRF: another site's POST, with the cookie, is refused; the frontend's is not", async () => {
  const cookie = await loggedIn();
  const count = async () =>
    (await database.query("SELECT count(*)::int AS n FROM statuses")).rows[0].n as number;
  const before = await count();
  const form = { "content-type": "application/x-www-form-urlencoded", cookie };
  const attacks: Record<string, string>[] = [
    { ...form, origin: sites.other, "sec-fetch-site": "cross-site" }, // a form, a no-cors fetch
    { ...form, "sec-fetch-site": "cross-site" }, // a browser that sent no Origin
    { ...form, origin: "null", "sec-fetch-site": "cross-site" }, // a sandboxed frame
  ];
  for (const headers of attacks) {
    const posted = await send(`${sites.api}/statuses`, {
      headers,
      body: "body=posted+by+another+site",
    });
    assert.equal(posted.status, 403, `${JSON.stringify(headers)}: ${posted.body}`);
    const loggedOut = await send(`${sites.api}/logout`, { method: "POST", headers });
    assert.equal(loggedOut.status, 403);
  }
  assert.equal(await count(), before, "nothing posted");
  assert.equal((await send(`${sites.api}/me`, { headers: { cookie } })).status, 200, "still in");

  const fromFrontend = await send(`${sites.api}/statuses`, {
    headers: { ...JSON_BODY, cookie, origin: sites.frontend, "sec-fetch-site": "cross-site" },
    body: JSON.stringify({ body: "posted from the frontend" }),
  });
  assert.equal(fromFrontend.status, 201, fromFrontend.body);
  assert.equal(fromFrontend.headers["access-control-allow-origin"], sites.frontend);
  assert.equal(await count(), before + 1);
});

/** METHOD PATH on the API with fetch(…, { credentials: "include" }) from PAGE: what its script sees. */
function fetchFrom(page: Page, api: string, method: string, path: string, body?: unknown) {
  return page.evaluate(
    async (url, method, body) => {
      try {
        const response = await fetch(url, {
          method,
          credentials: "include",
          headers: { accept: "application/json", "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: response.status, json: await response.json() };
      } catch (error) {
        return { blocked: (error as Error).message };
      }
    },
    `${api}${path}`,
    method,
    body,
  );
}

test("in Chromium: the frontend on another site keeps one session; a page not on the list cannot", async (t) => {
  // A fresh profile of headless Chromium blocks third-party cookies: the frontend's session
  // lives only because the cookie is Partitioned.
  const browser = await launchChromium();
  t.after(() => browser.close());
  const security = await browser.target().createCDPSession();
  await security.send("Security.setIgnoreCertificateErrors", { ignore: true }); // it is ours
  const frontend = await browser.newPage();
  await frontend.goto(sites.frontend);
  const credentials = JSON.parse(await newUser(sites.api));
  const login = await fetchFrom(frontend, sites.api, "POST", "/login", credentials);
  assert.deepEqual(login, { status: 200, json: { username: credentials.username } });
  const first = await fetchFrom(frontend, sites.api, "GET", "/");
  const second = await fetchFrom(frontend, sites.api, "GET", "/");
  assert.equal(second.json?.visits, 2, `one session across requests: ${JSON.stringify(second)}`);
  assert.equal(second.json?.sessionId, first.json?.sessionId);
  assert.equal(await client.exists(`sess:${first.json?.sessionId}`), 1);

  const cdp = await frontend.createCDPSession();
  const { cookies } = await cdp.send("Network.getAllCookies");
  const kept = cookies.find((c) => c.name === HOST_COOKIE_NAME);
  assert.ok(kept, `the browser keeps ${HOST_COOKIE_NAME}: ${JSON.stringify(cookies)}`);
  assert.deepEqual(
    [kept.domain, kept.path, kept.secure, kept.httpOnly, kept.sameSite],
    ["localhost", "/", true, true, "None"],
  );
  assert.equal(kept.partitionKey?.topLevelSite, "https://127.0.0.1", "kept for this site only");

  // The API opened as a page of its own is another partition: that cookie is not sent there.
  const own = await browser.newPage();
  const me = await own.goto(`${sites.api}/me`);
  assert.equal(me?.status(), 401, "the frontend's partitioned cookie stays with the frontend");

  // A page of an origin not on the list. Same site as the frontend, so the browser even sends
  // the partitioned cookie along with its requests.
  const other = await browser.newPage();
  await other.goto(sites.other);
  const read = await fetchFrom(other, sites.api, "GET", "/me");
  assert.ok(read.blocked, `it cannot read the answer: ${JSON.stringify(read)}`);
  const json = await fetchFrom(other, sites.api, "POST", "/statuses", {
    body: "from another page",
  });
  assert.ok(json.blocked, `its JSON POST stops at the preflight: ${JSON.stringify(json)}`);
  // A request a form could send: no preflight, the cookie goes along; the API refuses it.
  const before = await database.query("SELECT count(*)::int AS n FROM statuses");
  await other.evaluate(async (url) => {
    await fetch(url, {
      method: "POST",
      mode: "no-cors",
      credentials: "include",
      body: new URLSearchParams({ body: "posted by a page not on the list" }),
    });
  }, `${sites.api}/statuses`);
  const after = await database.query("SELECT count(*)::int AS n FROM statuses");
  assert.deepEqual(after.rows, before.rows, "nothing posted");

  // Logging out from the frontend clears the partitioned cookie (a clearing cookie must be
  // Partitioned too).
  assert.equal((await fetchFrom(frontend, sites.api, "GET", "/me")).status, 200, "still in");
  assert.equal((await fetchFrom(frontend, sites.api, "POST", "/logout")).status, 200);
  const left = (await cdp.send("Network.getAllCookies")).cookies;
  assert.deepEqual(
    left.filter((c) => c.name === HOST_COOKIE_NAME),
    [],
    "the cookie is gone from the browser",
  );
});
