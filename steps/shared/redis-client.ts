import { createClient } from "redis";

// node-redis 5, not 6 (package.json). node-redis 6 (Node 20+) works with connect-redis 9, but
// changes what steps 06 and 09 show and test: its cluster client splits MGET and DEL by hash
// slot, so connect-redis's all() and clear() no longer fail with CROSSSLOT; its sentinel client
// has scanIterator, so length(), ids(), all() and clear() work through it; and its default,
// RESP3, turns raw replies (sendCommand) such as SENTINEL MASTER into maps. Moving to 6 means
// rewriting those lessons (decks 06 and 09, their READMEs and tests) in the same change.
export type RedisClient = ReturnType<typeof createClient>;

/**
 * A node-redis client set up so that a Redis outage costs a quick, clear error instead of a
 * hung request or a crashed process. Call `await client.connect()` before use.
 */
export function createRedisClient(url: string): RedisClient {
  const client = createClient({
    url,
    // RESP2: node-redis 5's default and redis-cli's, so that CLIENT LIST and MONITOR show this
    // client as they show redis-cli. Said, not left to the default, which node-redis 6 makes RESP3.
    RESP: 2,
    // While disconnected, fail commands at once instead of queueing them until Redis is back:
    // the request gets a 503 now rather than hanging.
    disableOfflineQueue: true,
    // A command still waiting to be sent fails after 2 s (node-redis 5 has no default; 6 has
    // 5 s, too long for a visitor to wait). node-redis drops this timer once the command is
    // written: a command already sent to a hung Redis waits for the socket (below).
    commandOptions: { timeout: 2000 },
    // A PING every 0.5 s keeps a healthy connection busy, so that...
    pingInterval: 500,
    socket: {
      // ...1.5 s without a byte in either direction means Redis hangs (frozen, or a network
      // partition with the connection still open): node-redis closes the socket, fails every
      // command sent on it (503 at most 2 s after the request), and reconnects.
      socketTimeout: 1500,
      // A connection not made within 2 s fails (node-redis 5 and 6 default to 5 s).
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
