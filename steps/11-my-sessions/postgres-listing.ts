import type { Pool } from "pg";
import { migrate } from "../shared/postgres-pool.ts";
import type { ListedSession } from "./session-index.ts";

const SESSION_TABLE = "session"; // connect-pg-simple's table, by its default name (as in step 10)

/**
 * "My sessions" with the sessions in PostgreSQL (step 10's connect-pg-simple): no index of our
 * own to keep, the table is the index. One query over the session table, by the user's id
 * inside the JSON; expired rows (not pruned yet) left out. sess is json: ->> reads one field
 * of it as text. Only the fields the list shows leave the database.
 */
export const SESSIONS_OF_USER = `
  SELECT sid AS id, sess->>'handle' AS handle, sess->>'device' AS device,
         (sess->>'loggedInAt')::bigint AS "loggedInAt",
         (extract(epoch FROM expire::timestamptz) * 1000)::bigint
           - (sess->'cookie'->>'originalMaxAge')::bigint AS "lastSeenAt"
  FROM "${SESSION_TABLE}"
  WHERE sess->>'userId' = $1 AND expire >= now()
  ORDER BY expire DESC`;

/**
 * Without it, that query reads every row of the table and parses every row's JSON (a Seq
 * Scan): the cost grows with all the sessions of all the users. An expression index keeps
 * sess->>'userId' of every row, sorted: PostgreSQL goes straight to the user's few rows.
 * Each write of a session updates it too (connect-pg-simple rewrites the row: one more index
 * entry per write).
 */
const SESSIONS_BY_USER = `
  CREATE INDEX IF NOT EXISTS session_by_user ON "${SESSION_TABLE}" ((sess->>'userId'));
`;

/** Makes the expression index if missing (after step 10's migrateSessions). */
export function indexSessionsByUser(pool: Pool): Promise<void> {
  return migrate(pool, SESSIONS_BY_USER, 20250511);
}

/** USER_ID's live sessions, the latest seen first. */
export async function sessionsOfUser(pool: Pool, userId: string): Promise<ListedSession[]> {
  const { rows } = await pool.query<ListedSession>(SESSIONS_OF_USER, [userId]);
  return rows.map((row) => ({
    ...row,
    loggedInAt: Number(row.loggedInAt),
    lastSeenAt: Number(row.lastSeenAt),
  }));
}
