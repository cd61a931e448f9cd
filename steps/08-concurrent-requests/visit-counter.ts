import type { RedisClient } from "../shared/redis-client.ts";

/**
 * The exact counter: the count lives in Redis, next to the session, and every visit adds one
 * with a single atomic command. Two requests at once are two HINCRBYs: Redis runs them one
 * after the other, and neither can overwrite the other's result.
 *
 * The key is derived from the session id, so it belongs to the visitor as the session does, and
 * it gets the session's time to live, so Redis forgets both together.
 */
export async function countVisit(
  redis: RedisClient,
  sessionId: string,
  ttlMs: number,
): Promise<number> {
  const key = countersKey(sessionId);
  // MULTI … EXEC: both commands or neither, so the counter never lives on without a TTL.
  const [visits] = await redis.multi().hIncrBy(key, "visits", 1).pExpire(key, ttlMs).exec();
  return Number(visits);
}

/** The hash that holds one visitor's counters (`HGETALL counters:<id>` in redis-cli). */
export function countersKey(sessionId: string): string {
  return `counters:${sessionId}`;
}
