/**
 * Step 10: sessions in PostgreSQL (connect-pg-simple), beside step 05's users, on PostgreSQL
 * itself where the machine has it, else on the embedded PGlite that `npm run step:10` starts on
 * a machine without one (test/services/pglite.test.ts runs the step on PGlite either way).
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import pg from "pg";
import { boundForLoad, waitUntil } from "../../lib/services/net.ts";
import { privateEngine } from "../../lib/services/postgres.ts";
import {
  assertForeignCookiesStartFresh,
  assertHungStoreAnswers503,
  assertSecureBehindHttpsProxy,
  assertSessionsSurviveRestart,
  Browser,
  COOKIE_NAME,
  logoutRaceResurrections,
  needsPostgresql,
  sessionIdOf,
  startStep,
  usePrivatePostgres,
} from "../../test/harness/index.ts";

const STEP = "10-postgres-store";
const PASSWORD = "correct horse battery staple";

// The lessons on one engine: PostgreSQL where the machine has it, else the embedded PGlite
// (test/services/pglite.test.ts runs this step on PGlite too; WORKSHOP_POSTGRES_ENGINE=pglite
// runs all of this on it).
// Awaited before the first test(): an await between two test() calls lets node:test run the
// first and, finding nothing after it, the file's after() hooks, before the second exists.
const withoutPostgresql = await needsPostgresql();
const engine = await privateEngine();
describe(`sessions in PostgreSQL (${engine})`, { concurrency: true }, async () => {
  const postgres = await usePrivatePostgres(engine);
  // Expired rows are pruned every second or so here (60 s by default).
  const env = { DATABASE_URL: postgres.url, SESSION_PRUNE_SECONDS: "1" };
  const server = await startStep({ after }, STEP, { env });
  const database = new pg.Pool({ connectionString: postgres.url, max: 2 });
  database.on("error", () => {}); // the server stops at the end, maybe before the pool
  after(() => database.end());

  const row = async (sid: string) =>
    (
      await database.query<{ sess: { visits?: number; username?: string }; expire: Date }>(
        "SELECT sess, expire FROM session WHERE sid = $1",
        [sid],
      )
    ).rows[0];

  test("sessions survive a restart of the server", async (t) => {
    await assertSessionsSurviveRestart(t, STEP, "postgres", { env });
  });

  test("each session is a row: sid, the session as json, expire = cookie.expires", async () => {
    const browser = new Browser(server.url);
    const { sessionId } = await browser.visit();
    const stored = await row(sessionId);
    assert.ok(stored, `a row with sid ${sessionId} in the session table`);
    assert.equal(stored.sess.visits, 1);
    const expires = Date.parse((stored.sess as { cookie: { expires: string } }).cookie.expires);
    // expire is stored in whole seconds, rounded up (connect-pg-simple: Math.ceil).
    const expire = (
      await database.query<{ epoch: number }>(
        "SELECT extract(epoch FROM expire AT TIME ZONE current_setting('TimeZone'))::float AS epoch FROM session WHERE sid = $1",
        [sessionId],
      )
    ).rows[0]?.epoch;
    assert.equal(expire, Math.ceil(expires / 1000), "expire = cookie.expires, in seconds");
    const page = await (await browser.request("/")).text();
    assert.match(page, /the row sid = &#39;|the row sid = '/, "the page shows where the row is");
  });

  test("an expired row is not revived, and pruning deletes it", async () => {
    const browser = new Browser(server.url);
    const { sessionId } = await browser.visit();
    await database.query(
      "UPDATE session SET expire = localtimestamp - interval '1 minute' WHERE sid = $1",
      [sessionId],
    );
    const next = await browser.visit();
    assert.equal(next.visits, 1, "get() ignores an expired row");
    assert.notEqual(next.sessionId, sessionId);
    await waitUntil(
      `the expired row ${sessionId} to be pruned`,
      async () => !(await row(sessionId)),
      {
        timeoutMs: 30_000,
        everyMs: 250,
      },
    );
    assert.ok(await row(next.sessionId), "the live session stays");
  });

  test("a tampered, unknown or unreadable session starts a fresh one", async () => {
    await assertForeignCookiesStartFresh(server.url);
    const browser = new Browser(server.url);
    const { sessionId } = await browser.visit();
    // A json string where the session should be: connect-pg-simple cannot use it.
    await database.query("UPDATE session SET sess = to_json('{broken'::text) WHERE sid = $1", [
      sessionId,
    ]);
    const next = await browser.visit();
    assert.equal(next.visits, 1);
  });

  test("register, log in, restart the app: still logged in; logout deletes the row", async (t) => {
    const first = await startStep(t, STEP, { env });
    const browser = new Browser(first.url);
    const username = `${engine}-ten`;
    const registered = await browser.request("/register", {
      body: { username, password: PASSWORD },
    });
    assert.equal(registered.status, 201);
    const login = await browser.request("/login", { body: { username, password: PASSWORD } });
    assert.equal(login.status, 200);
    const sid = sessionIdOf(browser);
    assert.equal((await row(sid))?.sess.username, username, "the login is in the row");
    assert.equal((await first.stop("SIGTERM")).code, 0);

    const second = await startStep(t, STEP, { env });
    browser.baseUrl = second.url;
    const me = await browser.request("/me", { json: true });
    assert.equal(me.status, 200, "still logged in after the restart");
    assert.equal(((await me.json()) as { username: string }).username, username);

    const old = browser.cookie(COOKIE_NAME);
    assert.ok(old, "the browser holds the session cookie");
    assert.equal((await browser.request("/logout", { body: {} })).status, 200);
    assert.equal(await row(sid), undefined, "the row is deleted at logout");
    const replay = new Browser(second.url);
    replay.cookies.set(COOKIE_NAME, old ?? "");
    assert.equal((await replay.request("/me", { json: true })).status, 401);
    // Written back by a request that loaded the session before the logout? Refused.
    assert.equal(
      (await database.query("SELECT 1 FROM ended_sessions WHERE sid = $1", [sid])).rows.length,
      1,
      "the ended id is remembered for a while",
    );
  });

  test("a logout is final: 8 requests racing it never bring the row back (30 trials)", async () => {
    const TRIALS = 30;
    const credentials = { username: `${engine}-racer`, password: PASSWORD };
    const registered = await new Browser(server.url).request("/register", { body: credentials });
    assert.equal(registered.status, 201);
    const resurrected = await logoutRaceResurrections(
      server.url,
      credentials,
      TRIALS,
      async (sid) => (await row(sid)) !== undefined,
    );
    assert.equal(
      resurrected,
      0,
      `the row came back after logout in ${resurrected} of ${TRIALS}. The server printed:\n${server.output().slice(-2000)}`,
    );
  });

  test("a NUL in a name, a password or a status: 400 with a message, never 500", async () => {
    const browser = new Browser(server.url);
    const username = `${engine}-nul`;
    const credentials = { username, password: PASSWORD };
    assert.equal((await browser.request("/register", { body: credentials })).status, 201);
    assert.equal((await browser.request("/login", { body: credentials })).status, 200);
    const NUL = "\u0000";
    const cases: [string, Record<string, string>][] = [
      ["/login", { username: `${username}${NUL}`, password: PASSWORD }],
      ["/login", { username, password: `${PASSWORD}${NUL}` }],
      ["/register", { username: `${engine}-nul-2`, password: `${PASSWORD}${NUL}` }],
      ["/statuses", { body: `hello${NUL}world` }],
    ];
    for (const [path, fields] of cases) {
      for (const encoding of ["json", "form"] as const) {
        const response = await browser.request(
          path,
          encoding === "json" ? { body: fields } : { form: fields },
        );
        const what = `${path} ${JSON.stringify(fields)} (${encoding})`;
        const text = await response.text();
        assert.equal(response.status, 400, `${what}: ${text.slice(0, 200)}`);
        assert.match(text, /U\+0000/, `${what}: the 400 says why`);
      }
    }
  });

  test("ended_sessions rows are deleted once their ten minutes are over", async () => {
    const old = `an-old-tombstone-${engine}`;
    await database.query(
      "INSERT INTO ended_sessions (sid, until) VALUES ($1, now() - interval '1 minute')",
      [old],
    );
    const browser = new Browser(server.url);
    await browser.visit();
    assert.equal((await browser.request("/logout", { method: "POST", json: true })).status, 200);
    const { rows } = await database.query("SELECT 1 FROM ended_sessions WHERE sid = $1", [old]);
    assert.equal(rows.length, 0, "a logout's tombstone deletes the expired ones");
  });

  if (engine === "postgresql") {
    test("TRUST_PROXY: through a real HTTPS proxy the cookie is Secure; else the header is ignored", async (t) => {
      const behindProxy = await startStep(t, STEP, { env: { ...env, TRUST_PROXY: "loopback" } });
      await assertSecureBehindHttpsProxy(t, {
        trusting: behindProxy.url,
        trustingNone: server.url,
      });
    });
  }

  test("two processes starting at once on an empty database: both serve", async (t) => {
    const fresh = await usePrivatePostgres(engine);
    const both = await Promise.all(
      [1, 2].map(() => startStep(t, STEP, { env: { ...env, DATABASE_URL: fresh.url } })),
    );
    for (const app of both) assert.equal((await new Browser(app.url).visit()).visits, 1);
  });

  test("PostgreSQL frozen: 503 within 3 s, the process lives on, the session goes on", async (t) => {
    const own = await usePrivatePostgres(engine); // the others keep theirs
    await assertHungStoreAnswers503(t, STEP, own, { env: { ...env, DATABASE_URL: own.url } });
  });

  test("wrong passwords are limited here too: after 5 for one account, a 429", async () => {
    const username = `limited-${engine}`;
    const login = (password: string) =>
      new Browser(server.url).request("/login", { body: { username, password } });
    const registered = await new Browser(server.url).request("/register", {
      body: { username, password: PASSWORD },
    });
    assert.equal(registered.status, 201);
    for (let i = 1; i <= 5; i++) assert.equal((await login(`wrong-${i}`)).status, 401);
    const limited = await login(PASSWORD);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) > 0, "with Retry-After");
  });
});

// What older tutorials set, `createTableIfMissing: true`, on an empty database: four stores
// (four processes starting together) each find no table and each create it. The losers keep
// their failed creation and fail every request after it, until their process restarts.
// session-table.ts makes the table in a migration under a lock instead (tested above).
test("createTableIfMissing: stores that lose the race to create the table fail for good", {
  skip: withoutPostgresql,
}, async (t) => {
  const { default: connectPgSimple } = await import("connect-pg-simple");
  const { default: session } = await import("express-session");
  const PgStore = connectPgSimple(session);
  const get = (store: InstanceType<typeof PgStore>) =>
    new Promise<string>((resolve) =>
      store.get("Abcdefghijklmnopqrstuvwxyz012345", (error) =>
        resolve(error ? (error as Error).message : "ok"),
      ),
    );
  for (let trial = 1; trial <= 5; trial++) {
    const server = await usePrivatePostgres();
    const pools = [1, 2, 3, 4].map(() => new pg.Pool({ connectionString: server.url, max: 1 }));
    t.after(() => Promise.all(pools.map((pool) => pool.end().catch(() => {}))));
    for (const pool of pools) pool.on("error", () => {});
    const stores = pools.map(
      (pool) =>
        new PgStore({
          pool,
          createTableIfMissing: true,
          pruneSessionInterval: false,
          errorLog: () => {},
        }),
    );
    const first = await Promise.all(stores.map(get));
    if (first.every((answer) => answer === "ok")) continue; // no collision this time: again
    const later = await Promise.all(stores.map(get));
    assert.ok(first.includes("ok"), "one store created the table");
    assert.deepEqual(later, first, "a store that failed keeps failing; the table is there");
    t.diagnostic(
      `trial ${trial}: ${first.filter((answer) => answer !== "ok").length} of 4 stores failed for good: ${first.find((answer) => answer !== "ok")}`,
    );
    return;
  }
  assert.fail("in 5 trials, four stores starting together never collided");
});

// Alone, after the suites above, each with a PostgreSQL and a step of its own: the first
// counts every row of a table, the second saturates the app's pool on purpose, and neither
// should share the machine with the timing tests above (a frozen PostgreSQL: 503 within 3 s).
test("anonymous POST /logout adds no ended_sessions row; a stored session's logout does", async (t) => {
  const own = await usePrivatePostgres(); // its ended_sessions: this test's only
  const app = await startStep(t, STEP, { env: { DATABASE_URL: own.url } });
  const ownDatabase = new pg.Pool({ connectionString: own.url, max: 1 });
  ownDatabase.on("error", () => {});
  t.after(() => ownDatabase.end());
  const tombstones = async () =>
    (await ownDatabase.query<{ n: number }>("SELECT count(*)::int AS n FROM ended_sessions"))
      .rows[0]?.n;
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) => {
      const browser = new Browser(app.url);
      if (i % 2) browser.cookies.set(COOKIE_NAME, "s%3Anot-a-session-we-know.bogus");
      return browser.request("/logout", { method: "POST", json: true });
    }),
  );
  assert.deepEqual([...new Set(answers.map((answer) => answer.status))], [200]);
  assert.equal(await tombstones(), 0, "50 anonymous logouts wrote tombstones");

  const visitor = new Browser(app.url);
  const { sessionId } = await visitor.visit(); // a stored session, nobody logged in
  assert.equal((await visitor.request("/logout", { method: "POST", json: true })).status, 200);
  const { rows } = await ownDatabase.query("SELECT 1 FROM ended_sessions WHERE sid = $1", [
    sessionId,
  ]);
  assert.equal(rows.length, 1, "the stored session's id is buried");
});

test("the session table locked by another client: 503s in seconds, at most 10 backends, then served again", {
  skip: withoutPostgresql,
}, async (t) => {
  const own = await usePrivatePostgres(); // only this app's connections in it
  const app = await startStep(t, STEP, { env: { DATABASE_URL: own.url } });
  const [admin, locker] = [new pg.Client(own.url), new pg.Client(own.url)];
  for (const client of [admin, locker]) {
    client.on("error", () => {});
    await client.connect();
    t.after(() => client.end());
  }
  // application_name: set by steps/shared/postgres-pool.ts on each of the app's connections.
  const backends = async () =>
    (
      await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'session-workshop'",
      )
    ).rows[0]?.n ?? -1;
  const browser = new Browser(app.url);
  assert.equal((await browser.visit()).visits, 1);

  // Counted every 25 ms while the table is locked, and until a second after it is free again.
  let most = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      most = Math.max(most, await backends().catch(() => most));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  const waves: string[] = [];
  try {
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE session IN ACCESS EXCLUSIVE MODE");
    try {
      // Three waves of 40 new visitors: each visit writes a row of the locked table. Before
      // the server-side timeouts, each wave left 10 more backends waiting for the lock.
      for (let wave = 1; wave <= 3; wave++) {
        const started = Date.now();
        const answers = await Promise.all(
          Array.from({ length: 40 }, async () => {
            const response = await new Browser(app.url).request("/", { json: true });
            await response.arrayBuffer();
            return response.status;
          }),
        );
        const ms = Date.now() - started;
        waves.push(`${ms} ms, ${most} backends so far`);
        assert.deepEqual([...new Set(answers)], [503], `wave ${wave}: ${answers.join(" ")}`);
        const bound = boundForLoad(10_000);
        assert.ok(ms < bound.ms, `wave ${wave} took ${ms} ms (${bound.said})`);
      }
    } finally {
      await locker.query("ROLLBACK");
    }
    await waitUntil("the app to serve again", async () => {
      const response = await new Browser(app.url).request("/", { json: true });
      await response.arrayBuffer();
      return response.status === 200;
    });
    assert.equal((await browser.visit()).visits, 2, "the session from before goes on");
    await new Promise((resolve) => setTimeout(resolve, 1000));
  } finally {
    sampling = false;
    await sampler;
  }
  assert.ok(most <= 10, `the app held ${most} backends (its pool has 10): ${waves.join("; ")}`);
  t.diagnostic(`waves: ${waves.join("; ")}; at most ${most} backends`);
});
