/**
 * Step 05's users in PostgreSQL: on PostgreSQL itself (Debian's package, as in production) where
 * the machine has it, else on the embedded PGlite that `npm run step:5` starts on a machine
 * without one (test/services/pglite.test.ts runs step 10, whose users are this step's, on
 * PGlite either way). Sessions stay in Redis.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import pg from "pg";
import { boundForLoad, waitUntil } from "../../lib/services/net.ts";
import { privateEngine } from "../../lib/services/postgres.ts";
import {
  Browser,
  redisClientFor,
  sessionIdOf,
  startStep,
  usePrivatePostgres,
  usePrivateRedis,
} from "../../test/harness/index.ts";

const STEP = "05-login-logout";
const PASSWORD = "correct horse battery staple";
const redis = await usePrivateRedis();
const sessions = await redisClientFor({ after }, redis.url);

async function register(browser: Browser, username: string) {
  return browser.request("/register", { body: { username, password: PASSWORD } });
}

async function logIn(browser: Browser, username: string) {
  const response = await browser.request("/login", { body: { username, password: PASSWORD } });
  assert.equal(response.status, 200, `login as ${username} answered ${response.status}`);
}

async function me(browser: Browser) {
  const response = await browser.request("/me", { json: true });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

async function postStatus(browser: Browser, body: string) {
  const response = await browser.request("/statuses", { body: { body } });
  return {
    status: response.status,
    json: (await response.json()) as { statuses?: { body: string }[]; error?: string },
  };
}

// The lessons on one engine: PostgreSQL where the machine has it, else the embedded PGlite
// (test/services/pglite.test.ts runs step 10, with this step's users, on PGlite;
// WORKSHOP_POSTGRES_ENGINE=pglite runs all of this on it).
const engine = await privateEngine();
describe(`users in PostgreSQL (${engine})`, { concurrency: true }, async () => {
  const postgres = await usePrivatePostgres(engine);
  const env = { REDIS_URL: redis.url, DATABASE_URL: postgres.url };
  const server = await startStep({ after }, STEP, { env });
  const database = new pg.Pool({ connectionString: postgres.url, max: 2 });
  database.on("error", () => {}); // the server stops at the end, maybe before the pool
  after(() => database.end());

  let accounts = 0;
  const newName = () => `${engine}-user-${++accounts}`;

  test("the app makes its tables at start, and starting again changes nothing", async (t) => {
    const { rows } = await database.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
         WHERE table_schema = 'public' ORDER BY table_name`,
    );
    assert.deepEqual(
      rows.map((row) => row.table_name),
      ["statuses", "users"],
    );
    const again = await startStep(t, STEP, { env }); // the migration runs a second time
    assert.equal((await again.stop("SIGTERM")).code, 0);
  });

  test("register, restart the app, log in: the user is still there", async (t) => {
    const first = await startStep(t, STEP, { env });
    const username = newName();
    assert.equal((await register(new Browser(first.url), username)).status, 201);
    assert.equal((await first.stop("SIGTERM")).code, 0);

    const second = await startStep(t, STEP, { env });
    const browser = new Browser(second.url);
    await logIn(browser, username);
    assert.equal((await me(browser)).body.username, username);
  });

  test("ten registrations racing for one name: exactly one 201, nine 409", async () => {
    const username = newName();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => register(new Browser(server.url), username)),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    assert.deepEqual(statuses, [201, ...Array(9).fill(409)]);
    const { rows } = await database.query("SELECT 1 FROM users WHERE username = $1", [username]);
    assert.equal(rows.length, 1, "the unique constraint let one row in");
  });

  test("statuses are kept in the database, quotes and all, and outlive the login", async () => {
    const browser = new Browser(server.url);
    const username = newName();
    await register(browser, username);
    await logIn(browser, username);
    // Text that string-built SQL would run as SQL; as a parameter it is only text.
    const tricky = "it's'); DELETE FROM users; --";
    assert.equal((await postStatus(browser, "first")).status, 201);
    const posted = await postStatus(browser, tricky);
    assert.equal(posted.status, 201);
    assert.deepEqual(
      posted.json.statuses?.map((status) => status.body),
      [tricky, "first"],
      "newest first, stored as sent",
    );
    assert.ok((await database.query("SELECT 1 FROM users")).rows.length > 0, "users intact");

    const stored = await sessions.get(`sess:${sessionIdOf(browser)}`);
    assert.ok(stored, "the session is in Redis");
    assert.doesNotMatch(stored, /first/, "a status is not in the session");

    assert.equal((await browser.request("/logout", { body: {} })).status, 200);
    await logIn(browser, username);
    const page = await (await browser.request("/home")).text();
    assert.ok(page.includes(`<li>${tricky} <small>`), "shown in the page as text");

    assert.equal((await postStatus(browser, "")).status, 400);
    assert.equal((await postStatus(browser, "x".repeat(281))).status, 400);
    assert.equal((await postStatus(new Browser(server.url), "who am I")).status, 401);
  });

  test("a user renamed in the database shows at once; a deleted one is logged out", async () => {
    const browser = new Browser(server.url);
    const [username, renamed] = [newName(), newName()];
    await register(browser, username);
    await logIn(browser, username);
    await database.query("UPDATE users SET username = $1 WHERE username = $2", [renamed, username]);
    assert.equal((await me(browser)).body.username, renamed, "/me reads the user from SQL");
    assert.match(await (await browser.request("/home")).text(), new RegExp(`Hello, ${renamed}`));

    await database.query("DELETE FROM users WHERE username = $1", [renamed]);
    assert.equal((await me(browser)).status, 401, "a deleted user is no longer logged in");
    const home = await browser.request("/home");
    assert.equal(home.status, 303);
  });

  test("PostgreSQL down: /login answers 503 within seconds, the process lives on", async (t) => {
    // A database of this test's own, so that the other tests keep theirs.
    const own = await usePrivatePostgres(engine);
    const app = await startStep(t, STEP, { env: { ...env, DATABASE_URL: own.url } });
    const browser = new Browser(app.url);
    const username = newName();
    assert.equal((await register(browser, username)).status, 201);
    // The test servers skip fsync for speed: a checkpoint first, so that the crash takes the
    // server away and not the user just written.
    const admin = new pg.Client({ connectionString: own.url });
    await admin.connect();
    await admin.query("CHECKPOINT");
    await admin.end();

    await own.crash();
    const started = Date.now();
    const refused = await browser.request("/login", {
      body: { username, password: PASSWORD },
    });
    const ms = Date.now() - started;
    assert.equal(refused.status, 503, `answered ${refused.status}: ${await refused.text()}`);
    assert.match(refused.headers.get("retry-after") ?? "", /^\d+$/);
    const bound = boundForLoad(10_000);
    assert.ok(ms < bound.ms, `the 503 took ${ms} ms (${bound.said})`);
    assert.equal((await browser.visit()).visits, 1, "the visits counter (Redis) still works");
    t.diagnostic(`${engine} killed: 503 on /login after ${ms} ms`);

    await own.start();
    await logIn(browser, username); // the pool opens new connections: no restart needed
    const stillRunning = await Promise.race([app.exited.then(() => false), Promise.resolve(true)]);
    assert.ok(stillRunning, "the process is still running");
  });

  if (engine === "postgresql") {
    test("one pool: at most 10 connections under load, none left after SIGTERM", async (t) => {
      const own = await usePrivatePostgres(engine); // only this app's connections in it
      const ownDatabase = new pg.Pool({ connectionString: own.url, max: 1 });
      ownDatabase.on("error", () => {}); // the server stops at the end, maybe before the pool
      t.after(() => ownDatabase.end());
      const connections = async () => {
        const { rows } = await ownDatabase.query<{ count: number }>(
          `SELECT count(*)::int AS count FROM pg_stat_activity
             WHERE application_name = 'session-workshop'`,
        );
        return rows[0]?.count ?? -1;
      };
      const app = await startStep(t, STEP, { env: { ...env, DATABASE_URL: own.url } });
      const browser = new Browser(app.url);
      const username = newName();
      await register(browser, username);
      await logIn(browser, username);
      // 60 pages at once, three queries each: more than the pool's 10 connections. The rest
      // wait in the pool's queue; nobody gets an error. The pool keeps what it opened for
      // 30 s (idleTimeoutMillis), so counting afterwards sees the most it held at once.
      const pages = await Promise.all(Array.from({ length: 60 }, () => browser.request("/home")));
      assert.deepEqual([...new Set(pages.map((page) => page.status))], [200]);
      const most = await connections();
      assert.ok(most > 1 && most <= 10, `the app holds ${most} connections (1 < n <= 10)`);

      assert.equal((await app.stop("SIGTERM")).code, 0);
      // pool.end() closed them; PostgreSQL's backends finish a moment after.
      await waitUntil("no connection of the app left", async () => (await connections()) === 0);
      t.diagnostic(`at most ${most} connections for 60 parallel pages; 0 after SIGTERM`);
    });
  }
});
