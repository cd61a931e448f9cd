import { createClient, type RedisClientOptions } from "redis";
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
 * A client like TEMPLATE (its options: timeouts, reconnects, RESP; not its listeners) for URL.
 * node-redis 5 builds a class for every set of options it has not seen just before, about 40 ms
 * of CPU; a duplicate shares its template's class. The tests and checks make thousands of
 * clients to hundreds of servers: made this way, they cost nothing.
 */
export function clientLike<Client extends RedisClient>(template: Client, url: string): Client {
  // A socket object of its own: node-redis writes the URL's host and port into it.
  return template.duplicate({ url, socket: { ...template.options?.socket } }) as Client;
}

/** createClient(OPTIONS), as cheap as clientLike: a duplicate of a client made once. */
export function redisClient(options: RedisClientOptions = {}): RedisClient {
  const resp = options.RESP ?? 2;
  const template = templates.get(resp) ?? createClient({ RESP: resp });
  templates.set(resp, template);
  return template.duplicate({ ...options, socket: { ...options.socket } }) as RedisClient;
}
const templates = new Map<2 | 3, RedisClient>();

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
  const client = redisClient(
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

export type PrivateRedis = PrivateServer;

/** A redis-server of a test's own: free port, own temporary folder; AOF on unless not ON_DISK. */
export function startPrivateRedis({ onDisk = true } = {}): Promise<PrivateRedis> {
  if (onDisk) return startPrivate(redis);
  // Everything in memory only: for a server that is never restarted with its data.
  return startPrivate({
    ...redis,
    program: async (port, dir) => {
      const program = await redis.program(port, dir);
      return { ...program, args: [...program.args, "--appendonly", "no"] };
    },
  });
}
