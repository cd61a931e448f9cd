import { createClient } from "redis";

export type RedisClient = ReturnType<typeof createClient>;

/**
 * A node-redis client set up so that a Redis outage costs a quick, clear error instead of a
 * hung request or a crashed process. Call `await client.connect()` before use.
 */
export function createRedisClient(url: string): RedisClient {
  const client = createClient({
    url,
    // While disconnected, fail commands at once instead of queueing them until Redis is back:
    // the request gets a 503 now rather than hanging.
    disableOfflineQueue: true,
    // A command still waiting to be sent fails after 2 s. (node-redis drops this timer once
    // the command is written: a command already sent to a hung Redis waits for the socket.)
    commandOptions: { timeout: 2000 },
    // A PING every 0.5 s keeps a healthy connection busy, so that...
    pingInterval: 500,
    socket: {
      // ...1.5 s without a byte in either direction means Redis hangs (frozen, or a network
      // partition with the connection still open): node-redis closes the socket, fails every
      // command sent on it (503 at most 2 s after the request), and reconnects.
      socketTimeout: 1500,
      connectTimeout: 2000,
      // Keep trying to reconnect, at most once a second, so the app recovers by itself.
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 1000),
    },
  });
  // Without an 'error' listener, a lost connection would crash the process. Say it once per
  // outage, not once per reconnect attempt.
  let down = false;
  client.on("error", (error: Error) => {
    if (down) return;
    down = true;
    console.error(`Redis: connection lost (${error.message}); reconnecting…`);
  });
  client.on("ready", () => {
    if (down) console.error("Redis: connected again");
    down = false;
  });
  return client;
}
