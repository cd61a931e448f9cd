import assert from "node:assert/strict";
import { test } from "node:test";
import { boundForLoad } from "../../lib/services/net.ts";
import {
  assertForeignCookiesStartFresh,
  Browser,
  COOKIE_NAME,
  setCookieAttributes,
  startStep,
  visitRestartVisit,
} from "../../test/harness/index.ts";

const STEP = "01-memory-store";

test("MemoryStore forgets every session when the server restarts", async (t) => {
  const { before, after, shutdown } = await visitRestartVisit(t, STEP);
  assert.deepEqual(shutdown, { ...shutdown, code: 0 }, "SIGTERM should end the server with code 0");
  const bound = boundForLoad(3000);
  assert.ok(shutdown.ms < bound.ms, `shutdown took ${shutdown.ms} ms (${bound.said})`);
  assert.equal(after.visits, 1, "after a restart the count starts again at 1");
  assert.notEqual(after.sessionId, before[0]?.sessionId, "the old session id is unknown now");
  assert.equal(after.store, "memory");
});

test("the cookie is HttpOnly, SameSite=Lax and signed; the page shows the warning", async (t) => {
  const server = await startStep(t, STEP);
  const browser = new Browser(server.url);
  const response = await browser.request("/", { json: false });
  assert.equal(response.status, 200);

  const attributes = setCookieAttributes(response, COOKIE_NAME);
  assert.ok(attributes, `a ${COOKIE_NAME} cookie is set on the first visit`);
  assert.ok(attributes.has("httponly"));
  assert.equal(attributes.get("samesite")?.toLowerCase(), "lax");
  assert.ok(attributes.has("expires"), "the cookie has an expiry (maxAge)");
  assert.match(browser.cookie(COOKIE_NAME) ?? "", /^s%3A[\w-]+\.[\w%+/-]+$/, "a signed id");

  const page = await response.text();
  assert.match(page, /<p class="count">1<\/p>/);
  assert.match(page, /purposely not designed for a production/);
  assert.match(page, /Session inspector/);
  assert.match(page, /&quot;visits&quot;: 1/, "the inspector shows the stored record");
});

test("a tampered or unknown cookie starts a fresh session", async (t) => {
  const server = await startStep(t, STEP);
  await assertForeignCookiesStartFresh(server.url);
});

test("without a cookie-writing visit, nothing is stored and no cookie is set", async (t) => {
  const server = await startStep(t, STEP);
  const response = await fetch(`${server.url}/nothing-here`);
  assert.equal(response.status, 404);
  assert.equal(response.headers.getSetCookie().length, 0, "saveUninitialized: false");
});

test("a port already in use ends with a one-paragraph message and exit code 1", async (t) => {
  const first = await startStep(t, STEP);
  const second = await startStep(t, STEP, { port: first.port, expectListening: false });
  const { code } = await second.exited;
  assert.equal(code, 1);
  assert.match(second.output(), new RegExp(`Port ${first.port} is already in use`));
  assert.doesNotMatch(second.output(), /\n\s+at /, "no stack trace");
});
