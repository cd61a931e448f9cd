import { createClient } from "redis";
import {
  answers,
  findOrStart,
  onPath,
  type Ping,
  type PrivateServer,
  type Service,
  startPrivate,
} from "./service.ts";

export { redact } from "./service.ts";

export const INSTALL_REDIS =
  "`sudo apt install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS)";

type RedisClient = ReturnType<typeof createClient>;

/**
 * Connects to the Redis at WHERE (a URL, or a host and port), runs USE, disconnects. Every part
 * has TIMEOUT_MS: the connection, and each reply (a frozen server accepts, then never answers).
 */
export async function withRedis<T>(
  where: string | { host: string; port: number },
  use: (client: RedisClient) => Promise<T>,
  timeoutMs = 2000,
): Promise<T> {
  const socket = {
    connectTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    reconnectStrategy: false as const,
  };
  const client: RedisClient = createClient(
    typeof where === "string" ? { url: where, socket } : { socket: { ...socket, ...where } },
  );
  client.on("error", () => {}); // the failure is the rejection below
  try {
    await client.connect();
    return await use(client);
  } finally {
    if (client.isOpen) client.destroy();
  }
}

/** Redis: REDIS_URL, else localhost:6379, else a redis-server in .workshop/redis (AOF on). */
export const redis: Service = {
  name: "Redis",
  envVar: "REDIS_URL",
  folder: "redis",
  defaultPort: 6379,
  url: (port) => `redis://127.0.0.1:${port}`,
  ping: (url, timeoutMs) => withRedis(url, (client) => client.ping(), timeoutMs),
  program: async (port, dir) => ({
    command: await onPath(redis, "redis-server", INSTALL_REDIS),
    // appendfsync always: every write reaches the disk before Redis answers, so even a SIGKILL
    // loses nothing (the default, everysec, may lose up to a second).
    args: ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir].concat([
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
    ]),
    what: "a redis-server",
  }),
};

/** Answers whether a Redis at `url` replies to PING within `timeoutMs`; never throws. */
export function pingRedis(url: string, timeoutMs = 2000): Promise<Ping> {
  return answers(redis, url, timeoutMs);
}

/** The Redis a step server should use, found or started (lib/services/service.ts). */
export function redisUrlForStep(log: (line: string) => void = console.log): Promise<string> {
  return findOrStart(redis, log);
}

/** A redis-server of a test's own: free port, own temporary folder, AOF on. */
export type PrivateRedis = PrivateServer;

export function startPrivateRedis(): Promise<PrivateRedis> {
  return startPrivate(redis);
}
