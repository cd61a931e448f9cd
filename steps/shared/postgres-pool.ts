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
    // ...but not for ever: after 2 s without a connection (all busy, or PostgreSQL down) the
    // query fails, and the visitor gets a 503 rather than a page that never loads.
    connectionTimeoutMillis: 2000,
    // A query PostgreSQL does not answer (a frozen server) fails after 2 s too: a 503 within
    // seconds, as from every store of the workshop.
    query_timeout: 2000,
    // query_timeout only stops the app waiting: PostgreSQL goes on with the query (waiting for
    // a lock another client holds, say) while the pool opens a new connection in its place.
    // With a table locked, three rounds of 40 requests left one process 48 backends for a pool
    // of 10 (step 10's test). So PostgreSQL gives up first, on each connection: a query that
    // waited 1 s for a lock, or ran 1.5 s, is cancelled by the server itself, and nothing the
    // app has given up on runs on.
    lock_timeout: 1000,
    statement_timeout: 1500,
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

type SlowQuery = pg.QueryConfig & { query_timeout: number };

/**
 * Runs SQL (CREATE ... IF NOT EXISTS: a migration that changes nothing the second time) in one
 * transaction, one process at a time. Two processes running CREATE TABLE IF NOT EXISTS at the
 * same moment can both see no table and collide (a duplicate key in PostgreSQL's catalog); a
 * transaction-wide advisory lock (any number the processes agree on) queues them.
 */
export async function migrate(pool: pg.Pool, sql: string, lockId: number): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    // Waiting for another process's migration may take longer than a request's query may:
    // these two wait up to a minute, in PostgreSQL (SET LOCAL: for this transaction only)...
    await client.query("SET LOCAL lock_timeout = '1min'; SET LOCAL statement_timeout = '1min'");
    // ...and in pg, which reads query_timeout per query too.
    const patient = (text: string, values: unknown[] = []): SlowQuery => ({
      text,
      values,
      query_timeout: 60_000,
    });
    await client.query(patient("SELECT pg_advisory_xact_lock($1)", [lockId]));
    await client.query(patient(sql));
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
