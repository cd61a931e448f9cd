import { postgresUrlForStep } from "../../lib/services/postgres.ts";
import { migrateUsers } from "../05-login-logout/tables.ts";
import { trustProxyFromEnv } from "../05-login-logout/trust-proxy.ts";
import { wholeNumberFromEnv } from "../shared/env-number.ts";
import { createPool } from "../shared/postgres-pool.ts";
import { startServer } from "../shared/start-server.ts";
import { createApp } from "./app.ts";
import { migrateSessions } from "./session-table.ts";

await startServer(async () => {
  // DATABASE_URL, or the PostgreSQL on localhost:5432, or an embedded one the workshop starts.
  // One database, one pool: no Redis in this step.
  const pool = createPool(await postgresUrlForStep());
  // SESSION_PRUNE_SECONDS: the tests set 1; unset, the app's default.
  const pruneSeconds = wholeNumberFromEnv("SESSION_PRUNE_SECONDS", "seconds");
  // TRUST_PROXY: behind a reverse proxy that ends HTTPS, as in step 05.
  const app = createApp(pool, { pruneSeconds, trustProxy: trustProxyFromEnv() });
  await migrateUsers(pool); // users and statuses (step 05)
  await migrateSessions(pool); // the session table
  // pool.end() closes every connection: PostgreSQL sees this process leave at once.
  return { app, close: () => pool.end() };
});
