/**
 * `npm run failover`: kills the Redis primary of step 09 as a crash would (SIGKILL), and tells,
 * second by second, what the sentinels do: when they name a new primary, and (for the
 * workshop's own set) when the old one, started again, has rejoined as a replica.
 * Reload the step's page meanwhile. Works on a set on this machine only: it finds the
 * primary's process through `INFO server`.
 */
import { createClient } from "redis";
import { ServiceError } from "../lib/services/errors.ts";
import { waitUntil } from "../lib/services/net.ts";
import {
  type Address,
  askForPrimary,
  configuredSentinels,
  roleOf,
  startBackgroundSentinels,
} from "../lib/services/redis-sentinel.ts";

const started = Date.now();
const say = (line: string) =>
  console.log(`+${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${line}`);
const name = ({ host, port }: Address) => `${host}:${port}`;

try {
  const { masterName, sentinels } = configuredSentinels();
  const old = await askForPrimary(sentinels, masterName).catch((error: Error) => {
    throw new ServiceError(
      "Redis",
      `No sentinel answered (${error.message}). Start step 9 first (npm run step:9), ` +
        "which starts the primary, the replica and the sentinels.",
    );
  });
  if (!["127.0.0.1", "localhost", "::1"].includes(old.host)) {
    throw new ServiceError(
      "Redis",
      `The primary is ${name(old)}, not on this machine: stop it there (or ask the sentinels ` +
        `for a failover: redis-cli -p ${sentinels[0]?.port} SENTINEL FAILOVER ${masterName}).`,
    );
  }
  const pid = await processIdOf(old);
  process.kill(pid, "SIGKILL");
  say(`killed the primary ${name(old)} (pid ${pid}) with SIGKILL, as a crash would`);

  let promoted: Address | undefined;
  await waitUntil(
    "the sentinels to promote a replica",
    async () => {
      const now = await askForPrimary(sentinels, masterName).catch(() => undefined);
      if (now && name(now) !== name(old)) promoted = now;
      return promoted !== undefined;
    },
    { timeoutMs: 60_000, everyMs: 100 },
  );
  say(`the sentinels agreed it is down, and promoted ${name(promoted ?? old)}`);

  if (process.env.REDIS_SENTINELS) {
    say(`start ${name(old)} again yourself: the sentinels will make it a replica`);
  } else {
    say(`starting ${name(old)} again (it comes back as a primary of its own, with its old data)`);
    await startBackgroundSentinels();
    await waitUntil(
      `${name(old)} to become a replica`,
      async () => {
        return (await roleOf(old.port).catch(() => "")) === "slave";
      },
      { timeoutMs: 60_000, everyMs: 200 },
    );
    say(`a sentinel reconfigured ${name(old)}: it is now a replica of ${name(promoted ?? old)}`);
  }
} catch (error) {
  console.error(error instanceof ServiceError ? error.message : error);
  process.exitCode = 1;
}

/** The process id a Redis reports for itself (INFO server: process_id). */
async function processIdOf(node: Address): Promise<number> {
  const client = createClient({
    socket: { ...node, connectTimeout: 1000, reconnectStrategy: false },
  });
  client.on("error", () => {});
  try {
    await client.connect();
    const info = await client.info("server");
    return Number(/process_id:(\d+)/.exec(info)?.[1]);
  } finally {
    if (client.isOpen) client.destroy();
  }
}
