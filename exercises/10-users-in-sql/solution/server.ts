// Nothing to change here: runs step 10's app with your users.ts on http://localhost:3000
// (`npm run exercise -- 10`), with the PostgreSQL of the steps: register, log in, post a status,
// and look at the tables with `npm run sql -- "SELECT * FROM users"`.
import { postgresUrlForStep } from "../../../lib/services/postgres.ts";
import { migrateUsers } from "../../../steps/05-login-logout/tables.ts";
import { createApp } from "../../../steps/10-postgres-store/app.ts";
import { migrateSessions } from "../../../steps/10-postgres-store/session-table.ts";
import { createPool } from "../../../steps/shared/postgres-pool.ts";
import { startServer } from "../../../steps/shared/start-server.ts";
import { currentUser, Users } from "./users.ts";

await startServer(async () => {
  const pool = createPool(await postgresUrlForStep());
  await migrateUsers(pool);
  await migrateSessions(pool);
  return { app: createApp(pool, { users: { Users, currentUser } }), close: () => pool.end() };
});
