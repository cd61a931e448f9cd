import assert from "node:assert/strict";
import { after, test } from "node:test";
import pg from "pg";
import { usePrivatePostgres } from "../../test/harness/index.ts";
import { migrateSessions } from "../10-postgres-store/session-table.ts";
import { indexSessionsByUser, SESSIONS_OF_USER, sessionsOfUser } from "./postgres-listing.ts";

// The listing on the PostgreSQL the harness gives (real binaries when installed, else PGlite),
// on connect-pg-simple's own table (step 10's migration).
const postgres = await usePrivatePostgres();
const pool = new pg.Pool({ connectionString: postgres.url, max: 2 });
after(() => pool.end());
pool.on("error", () => {}); // the server may stop first, as the file ends: nothing to report
await migrateSessions(pool);

const MAX_AGE = 30 * 60 * 1000;
const ADA = "00000000-0000-4000-8000-00000000000a";

/** A row as connect-pg-simple writes it: sid, the session as JSON, expire (EXPIRES_IN ms). */
async function insertSession(sid: string, userId: string, expiresInMs: number, loggedInAt = 1) {
  const sess = {
    cookie: { originalMaxAge: MAX_AGE, expires: new Date(Date.now() + expiresInMs) },
    userId,
    username: "someone",
    loggedInAt,
    handle: `handle-of-${sid}`,
    device: "Firefox on Linux",
  };
  await pool.query("INSERT INTO session (sid, sess, expire) VALUES ($1, $2, to_timestamp($3))", [
    sid,
    JSON.stringify(sess),
    (Date.now() + expiresInMs) / 1000,
  ]);
}

test("a user's live sessions, the latest seen first; others' and expired rows left out", async () => {
  await insertSession("ada-laptop", ADA, MAX_AGE - 60_000, 100);
  await insertSession("ada-phone", ADA, MAX_AGE, 200);
  await insertSession("ada-expired", ADA, -1000);
  await insertSession("bob-laptop", "00000000-0000-4000-8000-00000000000b", MAX_AGE);

  const listed = await sessionsOfUser(pool, ADA);
  assert.deepEqual(
    listed.map(({ id, handle, loggedInAt }) => ({ id, handle, loggedInAt })),
    [
      { id: "ada-phone", handle: "handle-of-ada-phone", loggedInAt: 200 },
      { id: "ada-laptop", handle: "handle-of-ada-laptop", loggedInAt: 100 },
    ],
  );
  const lastSeen = listed[0]?.lastSeenAt ?? 0;
  assert.ok(Math.abs(lastSeen - Date.now()) < 5000, `last seen: expire - maxAge (${lastSeen})`);
});

test("10,000 sessions: a Seq Scan without the expression index, an index scan with it", async () => {
  // 1,000 users with 10 sessions each, written in one statement.
  await pool.query(
    `INSERT INTO session (sid, sess, expire)
     SELECT 'bulk-' || n,
            json_build_object('cookie', json_build_object('originalMaxAge', ${MAX_AGE}),
              'userId', 'user-' || (n % 1000), 'loggedInAt', n, 'handle', 'h' || n),
            now() + interval '30 minutes'
     FROM generate_series(1, 10000) AS n`,
  );
  const plan = async () => {
    await pool.query("ANALYZE session");
    const { rows } = await pool.query<{ "QUERY PLAN": string }>(`EXPLAIN ${SESSIONS_OF_USER}`, [
      "user-7",
    ]);
    return rows.map((row) => row["QUERY PLAN"]).join("\n");
  };
  assert.match(await plan(), /Seq Scan on session/, "without the index: every row read");
  await indexSessionsByUser(pool);
  const indexed = await plan();
  assert.match(indexed, /Index Scan using session_by_user|Bitmap Index Scan on session_by_user/);
  assert.doesNotMatch(indexed, /Seq Scan/);
  assert.equal((await sessionsOfUser(pool, "user-7")).length, 10);
});
