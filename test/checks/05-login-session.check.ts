/**
 * Exercise 05: logIn must give the session a new id (and delete the old one in Redis), logOut
 * must delete the session in Redis. Runs step 05's app with the exercise's login-session.ts.
 */
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { createClient } from "redis";
import { createApp } from "../../steps/05-login-logout/app.ts";
import { createRedisClient } from "../../steps/shared/redis-client.ts";
import { Browser, COOKIE_NAME, usePrivateRedis } from "../harness/index.ts";
import { listen } from "./listen.ts";
import { importTarget } from "./target.ts";

const { logIn, logOut } =
  await importTarget<typeof import("../../solutions/05-login-session/login-session.ts")>(
    "login-session.ts",
  );

const redis = await usePrivateRedis();

/** Step 05's app with the exercise's logIn and logOut, over a client of its own. */
async function startApp(t: TestContext): Promise<string> {
  const client = createRedisClient(redis.url);
  await client.connect();
  t.after(() => client.close());
  return listen(t, createApp(client, { loginSession: { logIn, logOut } }));
}

/** A redis-cli of the check's own, to look at what the app stored. */
async function redisCli(t: TestContext) {
  const cli = createClient({ url: redis.url });
  await cli.connect();
  t.after(() => cli.close());
  return cli;
}

let accounts = 0;
/** A fresh user, registered; the browser then logs in as them. */
async function logInAsNewUser(browser: Browser): Promise<void> {
  const credentials = { username: `learner-${++accounts}`, password: "correct horse battery" };
  const registered = await browser.request("/register", { body: credentials });
  assert.equal(registered.status, 201, `POST /register answered ${registered.status}`);
  const login = await browser.request("/login", { body: credentials });
  assert.equal(login.status, 200, `POST /login answered ${login.status}: ${await login.text()}`);
}

/** The session id inside the signed cookie `s%3A<id>.<signature>`. */
function sessionIdOf(browser: Browser): string {
  const value = decodeURIComponent(browser.cookie(COOKIE_NAME) ?? "");
  return value.slice(2, value.lastIndexOf("."));
}

const short = (id: string) => `${id.slice(0, 8)}…`;

test("TODO 1: logIn gives the session a new id and deletes the old one", async (t) => {
  const browser = new Browser(await startApp(t));
  const cli = await redisCli(t);
  const { sessionId: before } = await browser.visit(); // a session that exists before the login
  await logInAsNewUser(browser);
  const afterLogin = sessionIdOf(browser);

  assert.notEqual(
    afterLogin,
    before,
    `expected a new session id after logging in, but it stayed ${short(before)}: whoever knew ` +
      "the id before the login (an attacker who planted it) is now logged in as your user. " +
      "Call regenerate(req) at the start of logIn.",
  );
  assert.equal(
    await cli.exists(`sess:${before}`),
    0,
    `the session from before the login, sess:${short(before)}, is still in Redis; ` +
      "regenerate(req) deletes it.",
  );
  const me = await browser.request("/me", { json: true });
  assert.equal(me.status, 200, "with the new cookie, GET /me should know the user");
});

test("TODO 2: logOut deletes the session in Redis, so an old cookie is worthless", async (t) => {
  const browser = new Browser(await startApp(t));
  const cli = await redisCli(t);
  await logInAsNewUser(browser);
  const sessionId = sessionIdOf(browser);
  const copy = new Browser(browser.baseUrl); // another tab, or someone who copied the cookie
  copy.cookies.set(COOKIE_NAME, browser.cookie(COOKIE_NAME) ?? "");

  const logout = await browser.request("/logout", { method: "POST", json: true });
  assert.equal(logout.status, 200, `POST /logout answered ${logout.status}`);
  assert.equal(
    await cli.exists(`sess:${sessionId}`),
    0,
    `after logout the key sess:${short(sessionId)} is still in Redis: res.clearCookie only asks ` +
      "the browser to forget the cookie. Call destroy(req) in logOut.",
  );
  const replay = await copy.request("/me", { json: true });
  assert.equal(replay.status, 401, "a copy of the cookie from before the logout still logs in");
});
