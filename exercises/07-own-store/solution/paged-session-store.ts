import type { SessionData } from "express-session";
import {
  RedisSessionStore,
  type RedisSessionStoreOptions,
} from "../../../steps/07-own-store/redis-session-store.ts";
import type { RedisClient } from "../../../steps/shared/redis-client.ts";

/** How a store is called back: (error), or (null, result). */
type Callback<Result> = (error: unknown, result?: Result) => void;

/**
 * About how many keys one command may carry: SCAN's COUNT, and the keys of one MGET or UNLINK.
 * Redis runs one command at a time; a command over 100 keys takes it microseconds, one over a
 * million keys makes every other client of that Redis wait.
 */
export const PAGE = 100;

/**
 * Answers the two ways a store is called. express-session passes a callback: it gets the
 * error or the result. A tool (an admin page, a script) passes none and awaits the promise
 * instead: `await store.length()`, which rejects with the error.
 */
function answer<Result>(work: Promise<Result>, callback?: Callback<Result>) {
  if (!callback) return work;
  return work.then(
    (result) => {
      callback(null, result);
      return result;
    },
    (error: unknown) => {
      callback(error);
      return undefined;
    },
  );
}

/**
 * Step 07's store (get, set, touch and destroy are its own), for the company's Redis: other
 * apps keep their caches, queues and sessions there too, a million keys in all. The three
 * methods that walk every session of this store are yours to write again, for that Redis.
 */
export class PagedSessionStore extends RedisSessionStore {
  protected readonly redis: RedisClient;
  /** Put before every session id to make its key, as the operator configured it. */
  protected readonly keyPrefix: string;

  constructor(options: RedisSessionStoreOptions) {
    super(options);
    this.redis = options.client;
    this.keyPrefix = options.prefix ?? "sess:";
  }

  /** How many sessions this store holds. */
  override length(callback?: Callback<number>) {
    return answer(this.countSessions(), callback);
  }

  /** Every session of this store, by id. */
  override all(callback?: Callback<Record<string, SessionData>>) {
    return answer(this.readSessions(), callback);
  }

  /** Forgets every session of this store (everybody logged out); other apps' keys stay. */
  override clear(callback?: Callback<void>) {
    return answer(this.deleteSessions(), callback);
  }

  // TODO 1: count this store's keys, and only its own: the prefix is whatever the operator
  // configured (`shop[eu]:sess:` and `v2*:sess:` are prefixes too). Walk them a page at a
  // time: no command over every key, none per key.
  private async countSessions(): Promise<number> {
    const keys = new Set<string>();
    for await (const page of this.pages()) for (const key of page) keys.add(key);
    return keys.size;
  }

  // TODO 2: the same walk, reading each page's sessions with one command.
  private async readSessions(): Promise<Record<string, SessionData>> {
    const sessions: Record<string, SessionData> = {};
    for await (const page of this.pages()) {
      const values = await this.redis.mGet(page);
      page.forEach((key, at) => {
        const text = values[at];
        if (text) sessions[key.slice(this.keyPrefix.length)] = JSON.parse(text) as SessionData;
      });
    }
    return sessions;
  }

  // TODO 3: the same walk, deleting each page with one command. Any error reaches the caller:
  // an admin told "everybody is logged out" when they are not is worse than an error.
  private async deleteSessions(): Promise<void> {
    for await (const page of this.pages()) await this.redis.unlink(page);
  }

  private async *pages(): AsyncGenerator<string[]> {
    const literal = this.keyPrefix.replace(/[*?[\]\\]/g, "\\$&");
    for await (const page of this.redis.scanIterator({ MATCH: `${literal}*`, COUNT: PAGE })) {
      if (page.length > 0) yield page;
    }
  }
}
