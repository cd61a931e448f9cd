import assert from "node:assert/strict";
import { test } from "node:test";
// Straight from browser.ts: the harness index loads the Redis and MongoDB drivers too.
import { Browser, setCookieAttributes } from "../../lib/browser.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import { listen } from "./listen.ts";
import { importTarget } from "./target.ts";

const { createApp } =
  await importTarget<typeof import("../../solutions/01-reset-and-greet/app.ts")>("app.ts");

type Greeting = import("../../solutions/01-reset-and-greet/app.ts").Greeting;

async function hello(browser: Browser): Promise<{ greeting: Greeting; setsCookie: boolean }> {
  const response = await browser.request("/hello", { json: true });
  assert.ok(
    response.status === 200,
    response.status === 404
      ? "GET /hello answered 404 Not Found: there is no such route yet (TODO 1)"
      : `GET /hello answered ${response.status}, expected 200 with JSON { firstVisit, message }`,
  );
  const setsCookie = response.headers.getSetCookie().length > 0;
  return { greeting: (await response.json()) as Greeting, setsCookie };
}

test("GET /hello greets a first visit differently from a returning visitor", async (t) => {
  const browser = new Browser(await listen(t, createApp()));

  const first = await hello(browser);
  assert.equal(
    first.greeting.firstVisit,
    true,
    "a browser without a session asked GET /hello and got firstVisit: false. A session that " +
      "holds no visits yet (req.session.visits is undefined) is a first visit",
  );
  assert.equal(
    first.setsCookie,
    false,
    "GET /hello set a cookie: it should only read the session, never write to it",
  );

  await browser.visit();
  await browser.visit();
  const again = await hello(browser);
  assert.equal(
    again.greeting.firstVisit,
    false,
    "after two visits to GET /, GET /hello still says firstVisit: true",
  );
  assert.notEqual(
    again.greeting.message,
    first.greeting.message,
    `a returning visitor got the same message as a new one ("${again.greeting.message}")`,
  );
  assert.match(
    again.greeting.message,
    /\b2\b/,
    `after two visits the message should say how many there were (2), it says "${again.greeting.message}"`,
  );
});

test("POST /reset destroys the session and clears the cookie", async (t) => {
  const url = await listen(t, createApp());
  const browser = new Browser(url);
  await browser.visit();
  const { sessionId } = await browser.visit();
  const oldCookie = browser.cookie(COOKIE_NAME) ?? "";

  const reset = await browser.request("/reset", { method: "POST", json: true });
  assert.ok(
    reset.status >= 200 && reset.status < 400,
    reset.status === 404
      ? "POST /reset answered 404 Not Found: there is no such route yet (TODO 2)"
      : `POST /reset answered ${reset.status} ${reset.statusText}, expected 204 No Content`,
  );
  const cleared = setCookieAttributes(reset, COOKIE_NAME);
  assert.ok(
    cleared,
    `POST /reset sent no Set-Cookie for ${COOKIE_NAME}: clear the cookie with ` +
      "res.clearCookie(COOKIE_NAME) so that the browser forgets it",
  );
  const expires = Date.parse(cleared.get("expires") ?? "");
  assert.ok(
    cleared.get("max-age") === "0" || expires < Date.now(),
    `POST /reset set the ${COOKIE_NAME} cookie again instead of clearing it ` +
      "(expected an Expires date in the past): use res.clearCookie(COOKIE_NAME)",
  );

  // Someone who kept a copy of the old cookie must not get the session back.
  const copy = new Browser(url);
  copy.cookies.set(COOKIE_NAME, oldCookie);
  const replay = await copy.visit();
  assert.ok(
    replay.visits === 1 && replay.sessionId !== sessionId,
    `after POST /reset the old cookie still finds the session (visits: ${replay.visits}). ` +
      "Clearing the cookie is not enough: remove the session from the store with " +
      "req.session.destroy(callback)",
  );
});

test("after a reset, the visitor is greeted as new again", async (t) => {
  const browser = new Browser(await listen(t, createApp()));
  await browser.visit();
  await browser.request("/reset", { method: "POST", json: true });

  const { greeting } = await hello(browser);
  assert.equal(
    greeting.firstVisit,
    true,
    "after POST /reset, GET /hello should say firstVisit: true",
  );
  assert.equal((await browser.visit()).visits, 1, "after POST /reset the count starts again at 1");
});
