import { postgresUrlForStep } from "../../lib/services/postgres.ts";
import { redisUrlForStep } from "../../lib/services/redis.ts";
import { migrateUsers } from "../05-login-logout/tables.ts";
import { trustProxyFromEnv } from "../05-login-logout/trust-proxy.ts";
import { wholeNumberFromEnv } from "../shared/env-number.ts";
import { createPool } from "../shared/postgres-pool.ts";
import { createRedisClient } from "../shared/redis-client.ts";
import { startServer } from "../shared/start-server.ts";
import { createApp } from "./app.ts";

await startServer(async () => {
  // REDIS_URL, or the Redis on localhost:6379, or one the workshop starts for you.
  const redis = createRedisClient(await redisUrlForStep());
  // DATABASE_URL, or the PostgreSQL on localhost:5432, or an embedded one the workshop starts.
  const pool = createPool(await postgresUrlForStep());
  // Built before connecting, so that a bad setting (no SESSION_SECRET in production) stops
  // the server at once with its message.
  const app = createApp(redis, pool, {
    // ABSOLUTE_TIMEOUT_MS: the tests set a short one; unset, the app's default of 8 hours.
    absoluteTimeoutMs: wholeNumberFromEnv("ABSOLUTE_TIMEOUT_MS", "milliseconds"),
    trustProxy: trustProxyFromEnv(), // behind a reverse proxy that ends HTTPS
  });
  await redis.connect();
  await migrateUsers(pool); // the users and statuses tables, made if missing
  return {
    app,
    // pool.end() closes every connection: PostgreSQL sees this process leave at once.
    close: async () => {
      await Promise.all([redis.close(), pool.end()]);
    },
  };
});
