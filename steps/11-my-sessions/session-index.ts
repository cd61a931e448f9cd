import type { SessionData } from "express-session";
import type { RedisClient } from "../shared/redis-client.ts";
import "./session-data.ts";

/** One of a user's sessions, as /sessions shows it: never its id. */
export interface ListedSession {
  /** The session id: for the server only, never sent to a browser. */
  id: string;
  handle: string;
  device: string;
  loggedInAt: number;
  /** A rolling session's expiry is its last request + maxAge: the index's score says when. */
  lastSeenAt: number;
}

/**
 * Which sessions a user has, in Redis. connect-redis keeps one key per session (sess:<id>) and
 * nothing per user: "my sessions" would mean reading every session in the store. So the app
 * keeps an index of its own, one sorted set per user:
 *
 *   user-sessions:<user id>    member: a session id    score: when it expires (ms)
 *
 * added to at login, moved at every request (the expiry rolls), pruned as it is read: members
 * whose score is past are sessions Redis has already forgotten. And a mark per user:
 *
 *   sessions-valid-after:<user id>    a time (ms): a session logged in before it is over
 */
export class SessionIndex {
  private readonly redis: RedisClient;
  /** connect-redis's prefix: the session of id X is the key PREFIX + X. */
  private readonly prefix: string;
  /** How long a mark is kept: no session logged in before it can live longer (ms). */
  private readonly markMs: number;

  constructor(redis: RedisClient, options: { prefix: string; absoluteTimeoutMs: number }) {
    this.redis = redis;
    this.prefix = options.prefix;
    this.markMs = options.absoluteTimeoutMs;
  }

  static key(userId: string): string {
    return `user-sessions:${userId}`;
  }

  static markKey(userId: string): string {
    return `sessions-valid-after:${userId}`;
  }

  /**
   * Session ID of USER_ID expires at EXPIRES_AT (ms): added, or moved. The index itself
   * expires with the session seen last, which is the one that expires last.
   */
  async seen(userId: string, id: string, expiresAt: number): Promise<void> {
    const key = SessionIndex.key(userId);
    await this.redis
      .multi()
      .zAdd(key, { score: expiresAt, value: id })
      .pExpireAt(key, expiresAt)
      .exec();
  }

  /** Takes IDS out of USER_ID's index (their sessions are ended elsewhere). */
  async remove(userId: string, ...ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.zRem(SessionIndex.key(userId), ids);
  }

  /** USER_ID's mark: sessions logged in before this time (ms) are over. 0 when none. */
  async validAfter(userId: string): Promise<number> {
    return Number((await this.redis.get(SessionIndex.markKey(userId))) ?? 0);
  }

  /**
   * USER_ID's live sessions, the latest seen first. Expired members are pruned first
   * (ZREMRANGEBYSCORE), then the rest read in one MGET: a few keys, whatever the size of the
   * store. A member whose session is gone, or older than the mark, is pruned too.
   */
  async list(userId: string): Promise<ListedSession[]> {
    const key = SessionIndex.key(userId);
    const [, members, mark] = await this.redis
      .multi()
      .zRemRangeByScore(key, "-inf", Date.now())
      .zRangeWithScores(key, 0, -1, { REV: true })
      .get(SessionIndex.markKey(userId))
      .exec();
    const indexed = members as unknown as { value: string; score: number }[];
    if (indexed.length === 0) return [];
    const stored = await this.redis.mGet(indexed.map(({ value }) => this.prefix + value));
    const listed: ListedSession[] = [];
    const stale: string[] = [];
    indexed.forEach(({ value: id, score }, i) => {
      const raw = stored[i];
      const session = raw ? (JSON.parse(raw) as Partial<SessionData>) : undefined;
      const { handle, device = "", loggedInAt, cookie } = session ?? {};
      if (!handle || loggedInAt === undefined || loggedInAt < Number(mark ?? 0)) {
        stale.push(id);
        return;
      }
      const lastSeenAt = score - (cookie?.originalMaxAge ?? 0);
      listed.push({ id, handle, device, loggedInAt, lastSeenAt });
    });
    await this.remove(userId, ...stale);
    return listed;
  }

  /**
   * Ends every session of USER_ID, now and for good: the mark first, so that a request
   * arriving from now on is refused (see sessionsValidAfterMark), then every session the index
   * knows and the index itself, in one DEL. Two round trips, however many sessions.
   * Resolves the mark.
   */
  async endAll(userId: string): Promise<number> {
    const mark = Date.now();
    const key = SessionIndex.key(userId);
    const [, ids] = await this.redis
      .multi()
      .set(SessionIndex.markKey(userId), String(mark), {
        expiration: { type: "PX", value: this.markMs },
      })
      .zRange(key, 0, -1)
      .exec();
    await this.redis.del([key, ...(ids as unknown as string[]).map((id) => this.prefix + id)]);
    return mark;
  }
}
