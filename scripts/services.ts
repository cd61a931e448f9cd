/**
 * `npm run services` shows which Redis and MongoDB the steps would use;
 * `npm run services -- start` finds or starts both; `npm run services -- stop` stops the ones
 * the workshop started in the background (its data stays in .workshop/).
 */
import { ServiceError } from "../lib/services/errors.ts";
import { mongoUrlForStep, pingMongo, stopBackgroundMongo } from "../lib/services/mongo.ts";
import { pingRedis, redact, redisUrlForStep, stopBackgroundRedis } from "../lib/services/redis.ts";

const command = process.argv[2] ?? "status";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const mongoUrl = process.env.MONGO_URL ?? "mongodb://127.0.0.1:27017/workshop";

try {
  if (command === "status") {
    const redis = await pingRedis(redisUrl, 1000);
    const mongo = await pingMongo(mongoUrl, 1000);
    console.log(`Redis   ${redact(redisUrl)}: ${redis.ok ? "answering" : "not answering"}`);
    console.log(`MongoDB ${redact(mongoUrl)}: ${mongo.ok ? "answering" : "not answering"}`);
    console.log("`npm run services -- start` starts what is missing; `-- stop` stops them.");
  } else if (command === "start") {
    await redisUrlForStep();
    await mongoUrlForStep();
  } else if (command === "stop") {
    console.log(stopBackgroundRedis() ? "Redis: stopped" : "Redis: the workshop had none running");
    console.log(
      stopBackgroundMongo() ? "MongoDB: stopped" : "MongoDB: the workshop had none running",
    );
  } else {
    console.error(`Unknown command "${command}". Use: npm run services [-- status|start|stop]`);
    process.exitCode = 2;
  }
} catch (error) {
  console.error(error instanceof ServiceError ? error.message : error);
  process.exitCode = 1;
}
