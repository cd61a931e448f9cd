/**
 * `npm run services` shows which Redis, MongoDB and PostgreSQL the steps would use;
 * `npm run services -- start` finds or starts them; `npm run services -- stop` stops the ones
 * the workshop started in the background (its data stays in .workshop/).
 * All of it through the one helper, lib/services/service.ts.
 */
import { ServiceError } from "../lib/services/errors.ts";
import { mongo } from "../lib/services/mongo.ts";
import { pglite } from "../lib/services/postgres.ts";
import { redis } from "../lib/services/redis.ts";
import {
  askForPrimary,
  configuredSentinels,
  sentinelsForStep,
} from "../lib/services/redis-sentinel.ts";
import {
  answers,
  configuredUrl,
  findOrStart,
  redact,
  stopBackground,
} from "../lib/services/service.ts";

const command = process.argv[2] ?? "status";
const services = [redis, mongo, pglite];

try {
  if (command === "status") {
    for (const service of services) {
      const url = configuredUrl(service);
      const ping = await answers(service, url, 2000);
      const state = ping.ok ? "answering" : `not answering (${ping.reason})`;
      console.log(`${service.name} ${redact(url)}: ${state}`);
    }
    const { masterName, sentinels } = configuredSentinels();
    const where = sentinels.map(({ host, port }) => `${host}:${port}`).join(",");
    const primary = await askForPrimary(sentinels, masterName).then(
      ({ host, port }) => `primary of "${masterName}" now ${host}:${port}`,
      () => "not answering",
    );
    console.log(`Redis Sentinel ${where}: ${primary}`);
    console.log("`npm run services -- start` starts what is missing; `-- stop` stops them.");
  } else if (command === "start") {
    for (const service of services) await findOrStart(service);
    await sentinelsForStep();
  } else if (command === "stop") {
    for (const { name, folder } of [...services, { name: "Redis Sentinel", folder: "sentinel" }]) {
      const stopped = await stopBackground(folder);
      console.log(`${name}: ${stopped ? "stopped" : "the workshop had none running"}`);
    }
  } else {
    console.error(`Unknown command "${command}". Use: npm run services [-- status|start|stop]`);
    process.exitCode = 2;
  }
} catch (error) {
  console.error(error instanceof ServiceError ? error.message : error);
  process.exitCode = 1;
}
