/**
 * The embedded PostgreSQL (lib/services/pglite-server.ts: one PGlite session) with several
 * connections at once, as a pg Pool uses it: a connection has the session for a whole batch of
 * messages, or a whole transaction, then the next one. Spoken here in PostgreSQL's wire
 * protocol itself, so that the messages of two connections can be sent in the order that used
 * to mix them (electric-sql/pglite#1046).
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, test } from "node:test";
import pg from "pg";
import { waitUntil } from "../../lib/services/net.ts";
import { Browser, sessionIdOf, startStep, usePrivatePostgres } from "../harness/index.ts";

const postgres = await usePrivatePostgres("pglite");
const { port } = new URL(postgres.url);

/** One message of the protocol: a type byte, its length, its body. */
function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length + 4);
  return Buffer.concat([Buffer.from(type), length, body]);
}
const text = (value: string) => Buffer.from(`${value}\0`);
const int16 = (value: number) => Buffer.from([value >> 8, value & 0xff]);
const int32 = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
};
const parse = (sql: string) => message("P", text(""), text(sql), int16(0));
const bind = (...values: string[]) =>
  message(
    "B",
    text(""),
    text(""),
    int16(0),
    int16(values.length),
    ...values.flatMap((value) => [int32(Buffer.byteLength(value)), Buffer.from(value)]),
    int16(0),
  );
const execute = message("E", text(""), int32(0));
const executeAndSync = Buffer.concat([execute, message("S")]);
const query = (sql: string) => message("Q", text(sql));

/** A connection that keeps what the server sends, and can wait for the next ReadyForQuery. */
async function connection() {
  const socket: Socket = connect(Number(port), "127.0.0.1");
  after(() => socket.destroy());
  let received = Buffer.alloc(0);
  let ready = 0;
  let onReady = () => {};
  socket.on("data", (chunk) => {
    received = Buffer.concat([received, chunk]);
    ready = received.toString("latin1").split("Z\0\0\0\u0005").length - 1;
    onReady();
  });
  const readyFor = (count: number) =>
    new Promise<void>((resolve) => {
      onReady = () => ready >= count && resolve();
      onReady();
    });
  const startup = Buffer.concat([int32(196608), text("user"), text("postgres"), text("database")])
    .toString("latin1")
    .concat("postgres\0\0");
  socket.write(Buffer.concat([int32(startup.length + 4), Buffer.from(startup, "latin1")]));
  await readyFor(1);
  return {
    send: (data: Buffer) => socket.write(data),
    /** Goes away without a word, as a process that crashes. */
    leave: () => socket.destroy(),
    /** What the server answered after the startup, as text (errors are readable in it). */
    answer: async () => {
      await readyFor(2);
      return received.toString("latin1");
    },
  };
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 100));

test("two connections' statements sent crosswise: each binds its own", async () => {
  const [a, b] = [await connection(), await connection()];
  a.send(parse("SELECT $1::text AS a"));
  await pause();
  b.send(parse("SELECT $1::int + $2::int AS b")); // without the fix: replaces a's statement
  await pause();
  a.send(Buffer.concat([bind("one"), executeAndSync]));
  b.send(Buffer.concat([bind("1", "2"), executeAndSync]));
  const [answerA, answerB] = await Promise.all([a.answer(), b.answer()]);
  assert.doesNotMatch(answerA, /bind message supplies/, "a bound to b's statement");
  // A DataRow's value: its length (4 bytes), then its text.
  assert.ok(answerA.includes("\0\0\0\u0003one"), "a's row: 'one'");
  assert.ok(answerB.includes("\0\0\0\u00013"), "b's row: 1 + 2 = 3");
});

test("a pool of 10, 1000 queries of two shapes at once: none waits for ever, each answer its own", async () => {
  const pool = new pg.Pool({ connectionString: postgres.url, max: 10 });
  after(() => pool.end());
  let wrong = 0;
  await Promise.all(
    Array.from({ length: 1000 }, async (_, i) => {
      const { rows } =
        i % 2
          ? await pool.query("SELECT $1::int + $2::int AS n", [i, 1])
          : await pool.query("SELECT $1::text AS n", [`${i + 1}`]);
      if (Number(rows[0]?.n) !== i + 1) wrong++;
    }),
  );
  assert.equal(wrong, 0);
});

test("a transaction keeps its connection's turn; the others wait and then go on", async () => {
  const [a, b] = [new pg.Client(postgres.url), new pg.Client(postgres.url)];
  await Promise.all([a.connect(), b.connect()]);
  after(() => Promise.all([a.end(), b.end()]));
  await a.query("CREATE TABLE turns (n int)");
  await a.query("BEGIN");
  await a.query("INSERT INTO turns VALUES ($1)", [1]);
  // B asks while A's transaction is open: B's answer comes after A's COMMIT, and sees it.
  const counted = b.query("SELECT count(*)::int AS n FROM turns");
  await a.query("INSERT INTO turns VALUES ($1)", [2]);
  await a.query("COMMIT");
  assert.equal((await counted).rows[0]?.n, 2);
});

test("a connection that goes away in the middle of its turn: its work is undone, the others go on", async () => {
  const b = new pg.Client(postgres.url);
  await b.connect();
  after(() => b.end());
  await b.query("CREATE TABLE left_behind (n int)");
  // A leaves inside a transaction; C after half a batch (no Sync: not committed yet).
  const a = await connection();
  a.send(query("BEGIN; INSERT INTO left_behind VALUES (1)"));
  await a.answer();
  const counted = b.query("SELECT count(*)::int AS n FROM left_behind"); // waits for A's turn
  a.leave();
  assert.equal((await counted).rows[0]?.n, 0, "A's transaction was rolled back");
  const c = await connection();
  c.send(Buffer.concat([parse("INSERT INTO left_behind VALUES ($1)"), bind("2"), execute]));
  await pause();
  c.leave();
  const { rows } = await b.query("SELECT count(*)::int AS n FROM left_behind");
  assert.equal(rows[0]?.n, 0, "C's half batch was not committed");
});

test("each connection keeps the search_path it asked for at its start, turn after turn", async () => {
  const admin = new pg.Client(postgres.url);
  await admin.connect();
  after(() => admin.end());
  const path = async () =>
    (await admin.query<{ search_path: string }>("SHOW search_path")).rows[0]?.search_path;
  const usual = await path();
  for (const schema of ["east", "west"]) {
    await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await admin.query(`CREATE TABLE IF NOT EXISTS ${schema}.t (side text)`);
    await admin.query(`INSERT INTO ${schema}.t VALUES ('${schema}')`);
  }
  const pools = ["east", "west"].map((schema) => {
    const url = new URL(postgres.url);
    url.searchParams.set("options", `-c search_path=${schema}`);
    const pool = new pg.Pool({ connectionString: url.href, max: 3 });
    after(() => pool.end());
    return { schema, pool };
  });
  // Interleaved: every query of one pool follows one of the other's on the one session.
  const answers = await Promise.all(
    Array.from({ length: 40 }, async (_, i) => {
      const { schema, pool } = pools[i % 2] as (typeof pools)[number];
      const { rows } = await pool.query<{ side: string }>("SELECT side FROM t");
      return [schema, rows[0]?.side];
    }),
  );
  for (const [asked, got] of answers)
    assert.equal(got, asked, "a query read another schema's table");
  assert.equal(await path(), usual, "a connection that asked for none has the usual search_path");
});

// The steps on the embedded engine, as `npm run step:10` runs on a machine without PostgreSQL
// (their own tests use PostgreSQL where the machine has it). Step 10 keeps step 05's users and
// the sessions in it: one app covers what both steps ask of PostgreSQL.
test("step 10 on the embedded engine: register, log in, restart, still logged in; logout and pruning delete rows", async (t) => {
  const env = { DATABASE_URL: postgres.url, SESSION_PRUNE_SECONDS: "1" };
  const credentials = { username: "embedded", password: "correct horse battery staple" };
  const first = await startStep(t, "10-postgres-store", { env });
  const browser = new Browser(first.url);
  assert.equal((await browser.request("/register", { body: credentials })).status, 201);
  assert.equal((await browser.request("/login", { body: credentials })).status, 200);
  const sid = sessionIdOf(browser);
  assert.equal((await first.stop("SIGTERM")).code, 0);

  const second = await startStep(t, "10-postgres-store", { env });
  browser.baseUrl = second.url;
  assert.equal((await browser.request("/me", { json: true })).status, 200, "still logged in");
  const database = new pg.Pool({ connectionString: postgres.url, max: 1 });
  after(() => database.end());
  const rows = async (sql: string, value: string) =>
    (await database.query(sql, [value])).rows.length;
  assert.equal(await rows("SELECT 1 FROM session WHERE sid = $1", sid), 1, "the login's row");
  assert.equal((await browser.request("/logout", { body: {} })).status, 200);
  assert.equal(await rows("SELECT 1 FROM session WHERE sid = $1", sid), 0, "deleted at logout");

  const visitor = new Browser(second.url);
  const { sessionId } = await visitor.visit();
  await database.query(
    "UPDATE session SET expire = localtimestamp - interval '1 minute' WHERE sid = $1",
    [sessionId],
  );
  await waitUntil(`the expired row ${sessionId} to be pruned`, async () => {
    return (await rows("SELECT 1 FROM session WHERE sid = $1", sessionId)) === 0;
  });
});
