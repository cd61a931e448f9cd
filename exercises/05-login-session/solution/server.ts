// Nothing to change here: runs step 05's app with your POST /confirm and GET /account on
// http://localhost:3000 (`npm run exercise -- 5`), with the Redis and PostgreSQL of the steps.
import { postgresUrlForStep } from "../../../lib/services/postgres.ts";
import { redisUrlForStep } from "../../../lib/services/redis.ts";
import { createApp } from "../../../steps/05-login-logout/app.ts";
import { migrateUsers } from "../../../steps/05-login-logout/tables.ts";
import { Users } from "../../../steps/05-login-logout/users.ts";
import { createPool } from "../../../steps/shared/postgres-pool.ts";
import { createRedisClient } from "../../../steps/shared/redis-client.ts";
import { startServer } from "../../../steps/shared/start-server.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { stepUpRoutes } from "./step-up.ts";

await startServer(async () => {
  const redis = createRedisClient(await redisUrlForStep());
  const pool = createPool(await postgresUrlForStep());
  await redis.connect();
  await migrateUsers(pool);
  const app = createApp(redis, pool);
  // After step 05's routes, with an error handler of their own: a store error is a 503.
  app.use(stepUpRoutes({ users: new Users(pool) }), storeErrorHandler);
  return { app, close: async () => void (await Promise.all([redis.close(), pool.end()])) };
});
