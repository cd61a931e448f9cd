import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from "rate-limiter-flexible";
import type { RedisClient } from "../shared/redis-client.ts";

/**
 * Wrong passwords, counted by rate-limiter-flexible in the store every process of the app
 * shares: a count kept in one process's memory would be one count per process, and behind a
 * load balancer an attacker gets N times the tries. Two counts, as OWASP's Authentication
 * Cheat Sheet and the library's own login example have it:
 * - per account and address: 5 wrong passwords for one name from one address within 15
 *   minutes, and that name waits out the 15 minutes there. Not per account alone: then anyone
 *   could lock anyone out; the owner, from another address, still logs in.
 * - per address: 30 wrong passwords from one address within an hour, whatever the names (one
 *   machine trying a password on many accounts), and that address waits out the hour.
 * A right password forgets the account's count, and gives the address its try back.
 */
const PER_ACCOUNT = { keyPrefix: "login-fails:account", points: 5, duration: 15 * 60 };
const PER_ADDRESS = { keyPrefix: "login-fails:address", points: 30, duration: 60 * 60 };

export interface LoginLimits {
  account: RateLimiterAbstract;
  address: RateLimiterAbstract;
}

/** The counts in Redis (step 05): keys login-fails:account:<name>|<address>, with a TTL. */
export function redisLoginLimits(redis: RedisClient): LoginLimits {
  // useRedisPackage: a node-redis client, not ioredis (the library's default).
  const store = { storeClient: redis, useRedisPackage: true };
  return {
    account: new RateLimiterRedis({ ...store, ...PER_ACCOUNT }),
    address: new RateLimiterRedis({ ...store, ...PER_ADDRESS }),
  };
}

/**
 * The counts in this process's memory (step 10). Not RateLimiterPostgres: it names its prepared
 * statements, and the embedded PostgreSQL is one session shared by every connection, where a
 * second connection preparing the same name fails ("already exists"). Step 10 runs one
 * process, so its memory holds the one count; with several, count in Redis (step 05).
 */
export function memoryLoginLimits(): LoginLimits {
  return {
    account: new RateLimiterMemory(PER_ACCOUNT),
    address: new RateLimiterMemory(PER_ADDRESS),
  };
}

/**
 * One try for USERNAME from ADDRESS, taken from both counts before the password is checked:
 * 0 when it may go on, else the seconds to wait. Taken first, not counted after a wrong
 * password: a count read, then raised once the password is found wrong, lets a burst of tries
 * sent at once all read "not yet 5" and all go through. consume() is one atomic step in Redis.
 */
export async function takeATry(
  { account, address }: LoginLimits,
  username: string,
  ip: string,
): Promise<number> {
  const taken = await Promise.allSettled([
    account.consume(`${username}|${ip}`),
    address.consume(ip),
  ]);
  let ms = 0;
  for (const result of taken) {
    if (result.status === "fulfilled") continue;
    // Over the limit: the library rejects with its RateLimiterRes. Anything else (Redis down)
    // is an error, and the login a 503.
    if (!(result.reason instanceof RateLimiterRes)) throw result.reason;
    ms = Math.max(ms, result.reason.msBeforeNext);
  }
  return ms > 0 ? Math.ceil(ms / 1000) : 0;
}

/** A right password: the account's count starts again, and the address gets its try back. */
export async function forgetWrongPasswords(
  { account, address }: LoginLimits,
  username: string,
  ip: string,
): Promise<void> {
  await Promise.all([account.delete(`${username}|${ip}`), address.reward(ip)]);
}
