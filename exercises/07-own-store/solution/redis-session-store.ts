import { type SessionData, Store } from "express-session";
import type { RedisClient } from "../../../steps/shared/redis-client.ts";

/** How express-session is called back: (error), or (null, result). */
type Callback<Result = void> = (error: unknown, result?: Result) => void;

/** A touch that would move the expiry by less than this writes nothing. */
export const TOUCH_AFTER_SECONDS = 60;

/** Calls back exactly once, when WORK is done: with its result, or with its error. */
function reply<Result>(work: Promise<Result>, callback?: Callback<Result>): void {
  work.then(
    (result) => callback?.(null, result),
    (error: unknown) => callback?.(error),
  );
}

/**
 * A session store over Redis, as step 07's, with one difference: it is for a busy Redis that
 * replicates every write, so touch writes only when it moves the expiry by a minute or more.
 * Each session is the key PREFIX + id, holding its JSON, with a TTL until cookie.expires.
 */
export class RedisSessionStore extends Store {
  private readonly client: RedisClient;
  private readonly prefix: string;

  constructor(client: RedisClient, prefix = "sess:") {
    super();
    this.client = client;
    this.prefix = prefix;
  }

  override get(sessionId: string, callback: Callback<SessionData | null>): void {
    reply(this.read(sessionId), callback);
  }

  override set(sessionId: string, session: SessionData, callback?: Callback): void {
    reply(this.write(sessionId, session), callback);
  }

  // TODO 1: forget the session (log out, log in). Call back once Redis has forgotten it, and
  // with the error if it could not.
  override destroy(sessionId: string, callback?: Callback): void {
    reply(this.remove(sessionId), callback);
  }

  // TODO 2: the visitor is still active: the session must now live until its cookie expires.
  // Leave its data alone (another request may be writing it), never bring back a session
  // Redis has forgotten, and write nothing when the expiry would move by less than
  // TOUCH_AFTER_SECONDS.
  override touch(sessionId: string, session: SessionData, callback?: Callback): void {
    reply(this.extend(sessionId, session), callback);
  }

  // TODO 3: how many sessions this store holds. The Redis is shared with other data, and it
  // must keep answering everybody else while you count.
  override length(callback: Callback<number>): void {
    reply(this.count(), callback);
  }

  private key(sessionId: string): string {
    return this.prefix + sessionId;
  }

  /** Whole seconds until the cookie expires (at least 1: Redis refuses a TTL of 0). */
  private secondsToLive(session: SessionData): number {
    const expires = session.cookie.expires ? new Date(session.cookie.expires).getTime() : 0;
    return Math.max(1, Math.ceil((expires - Date.now()) / 1000));
  }

  private async read(sessionId: string): Promise<SessionData | null> {
    const text = await this.client.get(this.key(sessionId));
    return text === null ? null : (JSON.parse(text) as SessionData);
  }

  private async write(sessionId: string, session: SessionData): Promise<void> {
    await this.client.set(this.key(sessionId), JSON.stringify(session), {
      expiration: { type: "EX", value: this.secondsToLive(session) },
    });
  }

  private async remove(sessionId: string): Promise<void> {
    await this.client.del(this.key(sessionId));
  }

  private async extend(sessionId: string, session: SessionData): Promise<void> {
    const key = this.key(sessionId);
    const wanted = this.secondsToLive(session);
    const left = await this.client.ttl(key);
    if (left === -2 || Math.abs(wanted - left) < TOUCH_AFTER_SECONDS) return;
    await this.client.expire(key, wanted);
  }

  private async count(): Promise<number> {
    let sessions = 0;
    for await (const batch of this.client.scanIterator({ MATCH: `${this.prefix}*`, COUNT: 100 })) {
      sessions += batch.length;
    }
    return sessions;
  }
}
