// Nothing to change here: runs step 05's app with your login-session.ts on
// http://localhost:3000 (`npm run exercise -- 5`), with the Redis of the steps.
import { redisUrlForStep } from "../../lib/services/redis.ts";
import { createApp } from "../../steps/05-login-logout/app.ts";
import { createRedisClient } from "../../steps/shared/redis-client.ts";
import { startServer } from "../../steps/shared/start-server.ts";
import { logIn, logOut } from "./login-session.ts";

await startServer(async () => {
  const redis = createRedisClient(await redisUrlForStep());
  await redis.connect();
  const app = createApp(redis, { loginSession: { logIn, logOut } });
  return { app, close: () => redis.close() };
});
