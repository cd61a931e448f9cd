import type { Pool } from "pg";
import type { Tombstones } from "../05-login-logout/final-logout.ts";
import { migrate } from "../shared/postgres-pool.ts";

/** The table connect-pg-simple reads and writes: one row per session. */
export const SESSION_TABLE = "session";

/**
 * connect-pg-simple's own table.sql, made idempotent (IF NOT EXISTS), and a table of ended
 * session ids (see postgresTombstones below). Made by a migration at start, under the lock of
 * migrate(), rather than by the store's createTableIfMissing at the first request: two
 * processes starting together would both find no table, both create it, and the loser's store
 * would fail every request until it restarts (it keeps the failed creation).
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS "${SESSION_TABLE}" (
    sid    varchar NOT NULL PRIMARY KEY,
    sess   json NOT NULL,
    expire timestamp(6) NOT NULL
  );
  CREATE INDEX IF NOT EXISTS "IDX_session_expire" ON "${SESSION_TABLE}" (expire);
  CREATE TABLE IF NOT EXISTS ended_sessions (
    sid   varchar PRIMARY KEY,
    until timestamptz NOT NULL
  );
`;

/** Makes the session tables if missing (step 05's users and statuses are made by its own). */
export function migrateSessions(pool: Pool): Promise<void> {
  return migrate(pool, SCHEMA, 20250510);
}

/**
 * Ended session ids, in PostgreSQL: what Redis tombstones are to step 05 (a logout stays done
 * even when a request that loaded the session before it writes it back after). Ten minutes
 * outlives any request; older rows are deleted as new ones come.
 */
export function postgresTombstones(pool: Pool, seconds = 600): Tombstones {
  return {
    bury: async (id) => {
      await pool.query(
        `INSERT INTO ended_sessions (sid, until) VALUES ($1, now() + make_interval(secs => $2))
         ON CONFLICT (sid) DO UPDATE SET until = EXCLUDED.until`,
        [id, seconds],
      );
      await pool.query("DELETE FROM ended_sessions WHERE until < now()");
    },
    isBuried: async (id) => {
      const { rows } = await pool.query(
        "SELECT 1 FROM ended_sessions WHERE sid = $1 AND until > now()",
        [id],
      );
      return rows.length > 0;
    },
  };
}
