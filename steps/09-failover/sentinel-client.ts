import { createSentinel } from "redis";
import type { Address } from "../../lib/services/redis-sentinel.ts";

export type SentinelClient = ReturnType<typeof createSentinel>;

/**
 * A node-redis client that asks the SENTINELS which node is the primary of MASTER_NAME, sends
 * every command there, and follows a failover by itself: when the primary goes silent it asks
 * again, and retries on the node they promote. Call `await client.connect()` before use.
 */
export function createSentinelClient(
  masterName: string,
  sentinels: readonly Address[],
): SentinelClient {
  const client = createSentinel({
    name: masterName,
    sentinelRootNodes: sentinels.map(({ host, port }) => ({ host, port })),
    nodeClientOptions: {
      // A command never waits in a queue for a node that is gone: the sentinel client asks
      // the sentinels again and retries on the new primary (up to 16 times).
      disableOfflineQueue: true,
      socket: { connectTimeout: 1000 },
    },
    // The errors of the clients inside reach the 'error' listener below.
    passthroughClientErrorEvents: true,
  });
  // Without an 'error' listener, a lost node would crash the process. Say it once per outage.
  let down = false;
  client.on("error", (error: Error) => {
    if (down) return;
    down = true;
    console.error(`Redis: lost a node (${error.message}); asking the sentinels…`);
  });
  let first = true;
  client.on("topology-change", (event: { type: string; node?: Address }) => {
    if (event.type !== "MASTER_CHANGE" || !event.node) return;
    const node = `${event.node.host}:${event.node.port}`;
    console.error(
      first ? `Redis: the sentinels name ${node} as primary` : `Redis: the primary is now ${node}`,
    );
    first = false;
    down = false;
  });
  return client;
}
