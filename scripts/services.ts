/**
 * `npm run services` shows which Redis, MongoDB and PostgreSQL the steps would use;
 * `npm run services -- start` finds or starts them; `npm run services -- stop` stops the ones
 * the workshop started in the background (its data stays in .workshop/).
 */
import { ServiceError } from "../lib/services/errors.ts";
import { mongoUrlForStep, pingMongo, stopBackgroundMongo } from "../lib/services/mongo.ts";
import {
  DEFAULT_POSTGRES_URL,
  pingPostgres,
  postgresUrlForStep,
  stopBackgroundPostgres,
} from "../lib/services/postgres.ts";
import { pingRedis, redact, redisUrlForStep, stopBackgroundRedis } from "../lib/services/redis.ts";
import {
  askForPrimary,
  configuredSentinels,
  sentinelsForStep,
  stopBackgroundSentinels,
} from "../lib/services/redis-sentinel.ts";

const command = process.argv[2] ?? "status";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const mongoUrl = process.env.MONGO_URL ?? "mongodb://127.0.0.1:27017/workshop";
const postgresUrl = process.env.DATABASE_URL ?? DEFAULT_POSTGRES_URL;

try {
  if (command === "status") {
    const redis = await pingRedis(redisUrl, 1000);
    const mongo = await pingMongo(mongoUrl, 1000);
    const postgres = await pingPostgres(postgresUrl, 1000);
    console.log(`Redis   ${redact(redisUrl)}: ${redis.ok ? "answering" : "not answering"}`);
    console.log(`MongoDB ${redact(mongoUrl)}: ${mongo.ok ? "answering" : "not answering"}`);
    console.log(
      `PostgreSQL ${redact(postgresUrl)}: ${postgres.ok ? "answering" : `not answering (${postgres.reason})`}`,
    );
    const { masterName, sentinels } = configuredSentinels();
    const where = sentinels.map(({ host, port }) => `${host}:${port}`).join(",");
    const primary = await askForPrimary(sentinels, masterName).then(
      ({ host, port }) => `primary of "${masterName}" now ${host}:${port}`,
      () => "not answering",
    );
    console.log(`Redis Sentinel ${where}: ${primary}`);
    console.log("`npm run services -- start` starts what is missing; `-- stop` stops them.");
  } else if (command === "start") {
    await redisUrlForStep();
    await mongoUrlForStep();
    await postgresUrlForStep();
    await sentinelsForStep();
  } else if (command === "stop") {
    console.log(stopBackgroundRedis() ? "Redis: stopped" : "Redis: the workshop had none running");
    console.log(
      stopBackgroundMongo() ? "MongoDB: stopped" : "MongoDB: the workshop had none running",
    );
    console.log(
      stopBackgroundSentinels()
        ? "Redis Sentinel: stopped the primary, the replica and the sentinels"
        : "Redis Sentinel: the workshop had none running",
    );
    console.log(
      stopBackgroundPostgres()
        ? "PostgreSQL: stopped"
        : "PostgreSQL: the workshop had none running",
    );
  } else {
    console.error(`Unknown command "${command}". Use: npm run services [-- status|start|stop]`);
    process.exitCode = 2;
  }
} catch (error) {
  console.error(error instanceof ServiceError ? error.message : error);
  process.exitCode = 1;
}
