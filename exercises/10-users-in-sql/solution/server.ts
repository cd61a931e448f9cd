// Nothing to change here: runs step 10's app with your POST /password on
// http://localhost:3000 (`npm run exercise -- 10`), with the PostgreSQL of the steps. Register
// and log in at /login from two browsers, change the password from one, reload the other; look
// at the tables with `npm run sql -- "SELECT sid, sess FROM session"`.
import { postgresUrlForStep } from "../../../lib/services/postgres.ts";
import { migrateUsers } from "../../../steps/05-login-logout/tables.ts";
import { createApp } from "../../../steps/10-postgres-store/app.ts";
import { migrateSessions } from "../../../steps/10-postgres-store/session-table.ts";
import { createPool } from "../../../steps/shared/postgres-pool.ts";
import { startServer } from "../../../steps/shared/start-server.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { passwordRoutes } from "./password.ts";

await startServer(async () => {
  const pool = createPool(await postgresUrlForStep());
  await migrateUsers(pool);
  await migrateSessions(pool);
  const app = createApp(pool);
  // After step 10's routes and their error handlers: a failure of yours gets its own 503.
  app.use(passwordRoutes(pool), storeErrorHandler);
  return { app, close: () => pool.end() };
});
