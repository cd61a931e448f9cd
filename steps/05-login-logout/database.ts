import pg from "pg";

/**
 * The one pool of connections this process shares with every request. A connection costs
 * PostgreSQL a process and some memory, and opening one takes several round trips: a pool
 * opens a few, keeps them, and lends one to each query. One pool per process, made at start,
 * ended at shutdown; never a new Pool (or Client) per request.
 */
export function createPool(connectionString: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    // At most 10 connections from this process. An 11th query at the same moment waits in
    // the pool's queue for one to come back...
    max: 10,
    // ...but not for ever: after 3 s without a connection (all busy, or PostgreSQL down) the
    // query fails, and the visitor gets a 503 rather than a page that never loads.
    connectionTimeoutMillis: 3000,
    // A query PostgreSQL does not answer (a frozen server) fails after 5 s as well.
    query_timeout: 5000,
    // An unused connection is closed after 30 s: an idle app holds nothing open.
    idleTimeoutMillis: 30_000,
    // What `SELECT application_name FROM pg_stat_activity` shows for these connections.
    application_name: "session-workshop",
  });
  // When PostgreSQL closes a connection the pool holds idle (a restart), the pool emits
  // 'error'; unheard, that would end the process. The pool drops that connection and opens a
  // new one for the next query.
  pool.on("error", (error) => {
    console.error(`PostgreSQL: an idle connection was lost (${error.message})`);
  });
  return pool;
}

/**
 * The app's tables, made when missing (a migration, run at every start: CREATE ... IF NOT
 * EXISTS changes nothing the second time). The unique constraint on username is what makes a
 * registration atomic: of two racing for one name, PostgreSQL lets exactly one insert.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text NOT NULL UNIQUE,
    password_salt bytea NOT NULL,
    password_hash bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE IF NOT EXISTS statuses (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 280),
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX IF NOT EXISTS statuses_by_user ON statuses (user_id, created_at DESC);
`;

/** Runs SCHEMA in one transaction, one process at a time (several may start at once). */
export async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    // Two processes running CREATE TABLE IF NOT EXISTS at the same moment can both see no
    // table and collide; a transaction-wide advisory lock (any agreed number) queues them.
    await client.query("SELECT pg_advisory_xact_lock(20250505)");
    await client.query(SCHEMA);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
