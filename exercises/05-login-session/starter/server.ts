// Nothing to change here: runs step 05's app with your login-session.ts on
// http://localhost:3000 (`npm run exercise -- 5`), with the Redis and PostgreSQL of the steps.
import { postgresUrlForStep } from "../../../lib/services/postgres.ts";
import { redisUrlForStep } from "../../../lib/services/redis.ts";
import { createApp } from "../../../steps/05-login-logout/app.ts";
import { migrateUsers } from "../../../steps/05-login-logout/tables.ts";
import { createPool } from "../../../steps/shared/postgres-pool.ts";
import { createRedisClient } from "../../../steps/shared/redis-client.ts";
import { startServer } from "../../../steps/shared/start-server.ts";
import { logIn, logOut } from "./login-session.ts";

await startServer(async () => {
  const redis = createRedisClient(await redisUrlForStep());
  const pool = createPool(await postgresUrlForStep());
  await redis.connect();
  await migrateUsers(pool);
  const app = createApp(redis, pool, { loginSession: { logIn, logOut } });
  return { app, close: async () => void (await Promise.all([redis.close(), pool.end()])) };
});
