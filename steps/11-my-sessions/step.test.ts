import assert from "node:assert/strict";
import { after, test } from "node:test";
import {
  Browser,
  COOKIE_NAME,
  redisClientFor,
  sessionIdOf,
  startStep,
  usePrivatePostgres,
  usePrivateRedis,
} from "../../test/harness/index.ts";
import { deviceLabel } from "./device-label.ts";

const STEP = "11-my-sessions";
const PASSWORD = "correct horse battery staple";
const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

const [redis, postgres] = await Promise.all([usePrivateRedis(), usePrivatePostgres()]);
const env = { REDIS_URL: redis.url, DATABASE_URL: postgres.url };
// scrypt at 2^10, as the harness sets it; the password-change race starts a server of its own.
const server = await startStep({ after }, STEP, { env });
const client = await redisClientFor({ after }, redis.url);

let accounts = 0;
const newName = () => `user-${++accounts}`;

interface Listed {
  handle: string;
  device: string;
  loggedInAt: string;
  lastSeenAt: string;
  current: boolean;
}

/** A browser of its own, logged in as USERNAME at URL, sending USER_AGENT. */
async function loggedIn(
  username: string,
  userAgent = FIREFOX,
  password = PASSWORD,
  url = server.url,
) {
  const browser = new Browser(url);
  const headers = { "user-agent": userAgent };
  const login = await browser.request("/login", { body: { username, password }, headers });
  assert.equal(login.status, 200, `login of ${username} answered ${login.status}`);
  return browser;
}

async function registered(username = newName(), url = server.url): Promise<string> {
  const browser = new Browser(url);
  const response = await browser.request("/register", { body: { username, password: PASSWORD } });
  assert.equal(response.status, 201);
  return username;
}

async function sessionsOf(browser: Browser): Promise<Listed[]> {
  const response = await browser.request("/sessions", { json: true });
  assert.equal(response.status, 200, `GET /sessions answered ${response.status}`);
  return ((await response.json()) as { sessions: Listed[] }).sessions;
}

async function me(browser: Browser): Promise<number> {
  const response = await browser.request("/me", { json: true });
  await response.arrayBuffer();
  return response.status;
}

async function userIdOf(browser: Browser): Promise<string> {
  const stored = JSON.parse((await client.get(`sess:${sessionIdOf(browser)}`)) ?? "{}");
  return stored.userId;
}

test("a login keeps a handle and a device label, never the User-Agent; the index holds it", async () => {
  const username = await registered();
  const browser = await loggedIn(username, SAFARI);
  const id = sessionIdOf(browser);
  const stored = JSON.parse((await client.get(`sess:${id}`)) ?? "{}");
  assert.equal(stored.device, "Safari on iPhone");
  assert.match(stored.handle, /^[\w-]{22}$/, "16 random bytes, base64url");
  assert.ok(!JSON.stringify(stored).includes("AppleWebKit"), "not the header itself");

  const score = await client.zScore(`user-sessions:${stored.userId}`, id);
  const expires = Date.parse(stored.cookie.expires);
  // The score is taken during the request, the stored expiry as it ends: a moment apart.
  assert.ok(score !== null && Math.abs(score - expires) < 5000, "score: the session's expiry");
  const ttl = await client.pTTL(`user-sessions:${stored.userId}`);
  assert.ok(ttl > 29 * 60 * 1000, `the index expires with its last session (PTTL ${ttl})`);
});

test("device labels: browser and system from the User-Agent, the order of the checks kept", () => {
  const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)";
  assert.equal(deviceLabel(`${chrome} HeadlessChrome/131.0.0.0 Safari/537.36`), "Chrome on Linux");
  assert.equal(deviceLabel(`${chrome} Chrome/131.0 Safari/537.36 Edg/131.0`), "Edge on Linux");
  assert.equal(deviceLabel(FIREFOX), "Firefox on Linux");
  assert.equal(deviceLabel("curl/8.5.0"), "curl");
  assert.equal(deviceLabel(undefined), "An unknown device");
});

test("/sessions lists the user's own sessions, this one first, and never a session id", async () => {
  const [ada, bob] = [await registered(), await registered()];
  const adaOnLaptop = await loggedIn(ada, FIREFOX);
  const adaOnPhone = await loggedIn(ada, SAFARI);
  const bobs = await loggedIn(bob);

  const listed = await sessionsOf(adaOnPhone);
  assert.deepEqual(
    listed.map(({ device, current }) => ({ device, current })),
    [
      { device: "Safari on iPhone", current: true },
      { device: "Firefox on Linux", current: false },
    ],
  );
  assert.equal((await sessionsOf(bobs)).length, 1, "Bob sees his one session, not Ada's");

  const ids = [adaOnLaptop, adaOnPhone, bobs].map(sessionIdOf);
  const json = await (await adaOnPhone.request("/sessions", { json: true })).text();
  const page = await adaOnPhone.request("/sessions", { json: false });
  assert.equal(page.headers.get("cache-control"), "no-store");
  const html = await page.text();
  assert.match(html, /Firefox on Linux[\s\S]*name="handle" value="[\w-]{22}"/);
  for (const id of ids) {
    assert.ok(!json.includes(id) && !html.includes(id), "no session id in the JSON or the page");
  }
  const anonymous = await new Browser(server.url).request("/sessions", { json: true });
  assert.equal(anonymous.status, 401);
});

test("ending another session by its handle logs that browser out: key and index entry gone", async () => {
  const username = await registered();
  const laptop = await loggedIn(username, FIREFOX);
  const phone = await loggedIn(username, SAFARI);
  const userId = await userIdOf(laptop);
  const phoneId = sessionIdOf(phone);
  const handle = (await sessionsOf(laptop)).find((s) => !s.current)?.handle;

  const response = await laptop.request("/sessions/end", { body: { handle } });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { ended: 1 });
  assert.equal(await client.exists(`sess:${phoneId}`), 0, "the phone's session is gone");
  assert.equal(await client.zScore(`user-sessions:${userId}`, phoneId), null, "out of the index");
  assert.equal(await client.exists(`ended:${phoneId}`), 1, "buried: a late write cannot undo it");
  assert.equal(await me(phone), 401, "the phone is logged out");
  assert.equal(await me(laptop), 200, "the laptop is not");
});

test("another user's handle, or a made-up one: 404, and nothing is ended", async () => {
  const [ada, eve] = [await registered(), await registered()];
  const adas = await loggedIn(ada);
  const eves = await loggedIn(eve);
  const adasHandle = (await sessionsOf(adas))[0]?.handle;
  const before = await client.dbSize();

  for (const handle of [adasHandle, "made-up-handle", sessionIdOf(adas)]) {
    const response = await eves.request("/sessions/end", { body: { handle } });
    assert.equal(response.status, 404, `Eve ending ${handle}: ${response.status}`);
  }
  const noHandle = await eves.request("/sessions/end", { body: {} });
  assert.equal(noHandle.status, 400);
  assert.equal(await me(adas), 200, "Ada is still logged in");
  assert.equal(await me(eves), 200, "and so is Eve");
  assert.equal(await client.dbSize(), before, "not a key more or less in Redis");
});

test("ending this session by its handle is a logout: the cookie is cleared", async () => {
  const username = await registered();
  const browser = await loggedIn(username);
  const id = sessionIdOf(browser);
  const handle = (await sessionsOf(browser))[0]?.handle;
  const response = await browser.request("/sessions/end", { body: { handle } });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { loggedOut: true });
  assert.equal(browser.cookie(COOKIE_NAME), undefined, "the cookie is cleared");
  assert.equal(await client.exists(`sess:${id}`), 0);
});

test("end every other session: all others gone, this one stays", async () => {
  const username = await registered();
  const others = [await loggedIn(username), await loggedIn(username, SAFARI)];
  const keeper = await loggedIn(username);
  const response = await keeper.request("/sessions/end-others", { method: "POST", json: true });
  assert.deepEqual(await response.json(), { ended: 2 });
  for (const other of others) assert.equal(await me(other), 401);
  assert.equal((await sessionsOf(keeper)).length, 1);
  assert.equal(await me(keeper), 200);
});

test("the index rolls with each request and prunes the expired; a listing never SCANs", async () => {
  const username = await registered();
  const browser = await loggedIn(username);
  const userId = await userIdOf(browser);
  const key = `user-sessions:${userId}`;
  const id = sessionIdOf(browser);
  const atLogin = (await client.zScore(key, id)) ?? 0;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(await me(browser), 200);
  assert.ok(((await client.zScore(key, id)) ?? 0) > atLogin, "the score moved with the request");

  // A session Redis has already let expire, still in the index: pruned by the next listing.
  await client.zAdd(key, { score: Date.now() - 1000, value: "expired-session" });
  const scans = async () => (await client.info("commandstats")).match(/cmdstat_(scan|keys):/g);
  const before = await scans();
  assert.equal((await sessionsOf(browser)).length, 1);
  assert.equal(await client.zScore(key, "expired-session"), null, "pruned");
  assert.deepEqual(await scans(), before, "no SCAN or KEYS over the whole store");
});

test("a password change ends every session; this browser stays, under a new id", async () => {
  const username = await registered();
  const other = await loggedIn(username, SAFARI);
  const browser = await loggedIn(username);
  const [before, otherId] = [sessionIdOf(browser), sessionIdOf(other)];
  const NEW = "a brand new passphrase";

  const wrong = await browser.request("/password", {
    body: { currentPassword: "not-the-password", newPassword: NEW },
  });
  assert.equal(wrong.status, 403);
  assert.equal(await me(other), 200, "a wrong current password changes nothing");

  const changed = await browser.request("/password", {
    body: { currentPassword: PASSWORD, newPassword: NEW },
  });
  assert.equal(changed.status, 200);
  assert.deepEqual(await changed.json(), { passwordChanged: true });
  assert.notEqual(sessionIdOf(browser), before, "a new session id");
  assert.equal(await me(browser), 200, "this browser is still logged in");
  assert.equal(await me(other), 401, "the other device is out");
  assert.equal(await client.exists(`sess:${otherId}`), 0);
  assert.equal((await sessionsOf(browser)).length, 1);

  const oldLogin = await new Browser(server.url).request("/login", {
    body: { username, password: PASSWORD },
  });
  assert.equal(oldLogin.status, 401, "the old password no longer logs in");
  await loggedIn(username, FIREFOX, NEW);
});

// The race of step 08, met by a revocation: the other device's requests load its session just
// before the password change ends it, and write it back just after (GET /home saves the session
// it loaded). Each trial sends a request of the other device every 5 ms for as long as the
// change runs (its two scrypt hashes take tens of ms). Measured here without the mark (the
// check in valid-after.ts removed): the session was written back and stayed logged in in 60
// of 68 trials (88%), so 6 trials all miss such a bug with odds of about 3 in a million.
// With the mark, the written-back copy is ended at its next request: 0 of 26.
test("a password change is final: requests of another device racing it never keep it logged in (6 trials)", async (t) => {
  // scrypt at full cost, as `npm run step:11` runs it: the change's two hashes are the window.
  const { url } = await startStep(t, STEP, { env: { ...env, SCRYPT_N: undefined } });
  const TRIALS = 6;
  const username = await registered(newName(), url);
  let password = PASSWORD;
  const changer = await loggedIn(username, FIREFOX, password, url);
  let writtenBack = 0;
  let stillLoggedIn = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const other = await loggedIn(username, SAFARI, password, url);
    const otherId = sessionIdOf(other);
    const next = `passphrase number ${trial}`;
    let answered = false;
    const changing = changer
      .request("/password", { body: { currentPassword: password, newPassword: next } })
      .finally(() => {
        answered = true;
      });
    const racing: Promise<unknown>[] = [];
    while (!answered) {
      const tab = new Browser(url);
      tab.cookies.set(COOKIE_NAME, other.cookie(COOKIE_NAME) ?? "");
      racing.push(tab.request("/home").then((response) => response.arrayBuffer()));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal((await changing).status, 200, `trial ${trial}: the change`);
    await Promise.all(racing);
    password = next;
    if ((await client.exists(`sess:${otherId}`)) === 1) writtenBack++;
    if ((await me(other)) === 200) stillLoggedIn++;
  }
  console.log(
    `# written back after the change in ${writtenBack} of ${TRIALS} trials; still logged in in ${stillLoggedIn}`,
  );
  assert.equal(stillLoggedIn, 0, `the other device stayed logged in in ${stillLoggedIn} trials`);
});
