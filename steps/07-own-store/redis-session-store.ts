import { type SessionData, Store } from "express-session";
import type { RedisClient } from "../shared/redis-client.ts";

export interface RedisSessionStoreOptions {
  /** A connected node-redis client. The store never connects or closes it: server.ts does. */
  client: RedisClient;
  /** Put before every session id to make its key. Default "sess:": the key is sess:<id>. */
  prefix?: string;
  /** Seconds to live for a session whose cookie has no expiry (no maxAge). Default: one day. */
  ttl?: number;
}

/** How express-session is called back: (error), or (null, result). */
type Callback<Result = void> = (error: unknown, result?: Result) => void;

/**
 * The bridge from a promise to a callback: calls back exactly once, with the result or with
 * the error. A rejected promise always reaches the callback, so it never becomes an
 * "unhandled rejection" that would stop the process.
 */
function reply<Result>(work: Promise<Result>, callback?: Callback<Result>): void {
  work.then(
    (result) => callback?.(null, result),
    (error: unknown) => callback?.(error),
  );
}

/**
 * A session store written by hand over Redis: one string key per session, PREFIX + id,
 * holding the session as JSON, with a TTL so that Redis forgets it when the cookie expires.
 *
 * express-session speaks callbacks, node-redis speaks promises: each public method hands the
 * promise of a small async method below to `reply`. So a Redis error reaches express-session
 * as an error (storeErrorHandler answers 503), never as a crash. The async methods never
 * throw synchronously either: an async function turns every throw into a rejection.
 */
export class RedisSessionStore extends Store {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly ttl: number;

  constructor({ client, prefix = "sess:", ttl = 24 * 60 * 60 }: RedisSessionStoreOptions) {
    super();
    this.client = client;
    this.prefix = prefix;
    this.ttl = ttl;
  }

  /** Called on every request that brings a session cookie: the session, or null if none. */
  override get(sessionId: string, callback: Callback<SessionData | null>): void {
    reply(this.read(sessionId), callback);
  }

  /** Called when a request changed its session (and on session.save()): write it whole. */
  override set(sessionId: string, session: SessionData, callback?: Callback): void {
    reply(this.write(sessionId, session), callback);
  }

  /** Called on session.destroy() and session.regenerate() (log out, log in): forget it. */
  override destroy(sessionId: string, callback?: Callback): void {
    reply(this.remove(sessionId), callback);
  }

  /**
   * Called instead of set when a request did NOT change its session (resave: false): the
   * user is still active, so push back the expiry, without rewriting the data.
   */
  override touch(sessionId: string, session: SessionData, callback?: Callback): void {
    reply(this.extend(sessionId, session), callback);
  }

  /** Every live session, by id (like express-session's own MemoryStore). */
  override all(callback: Callback<Record<string, SessionData>>): void {
    reply(this.readAll(), callback);
  }

  /** How many sessions there are. */
  override length(callback: Callback<number>): void {
    reply(this.count(), callback);
  }

  /** Deletes every session of this store (only keys with our prefix: other data stays). */
  override clear(callback?: Callback): void {
    reply(this.deleteAll(), callback);
  }

  private key(sessionId: string): string {
    return this.prefix + sessionId;
  }

  /** Seconds until the session should be forgotten: its cookie's expiry, else the default. */
  private secondsToLive(session: SessionData): number {
    const expires = session.cookie.expires;
    if (!expires) return this.ttl;
    const ms = new Date(expires).getTime() - Date.now();
    // An expiry that is not a date has no time left: 0, so the key is deleted (as connect-redis
    // does), never a SET … EX NaN that Redis refuses.
    return Number.isNaN(ms) ? 0 : Math.ceil(ms / 1000);
  }

  private async read(sessionId: string): Promise<SessionData | null> {
    const text = await this.client.get(this.key(sessionId));
    if (text === null) return null; // never stored, destroyed, or expired: Redis deleted it
    const session = parse(text);
    if (!session) {
      // A value we cannot read (written by hand, by another program, cut short) is worth
      // nothing. Answering null gives the visitor a fresh session; an error would answer
      // 500 on each of their requests until the key expired. Delete it so it is not read again.
      await this.client.del(this.key(sessionId));
    }
    return session;
  }

  private async write(sessionId: string, session: SessionData): Promise<void> {
    const seconds = this.secondsToLive(session);
    if (seconds <= 0) {
      // The cookie has already expired (SET would refuse EX 0): nothing worth keeping.
      await this.client.del(this.key(sessionId));
      return;
    }
    // One command sets the value and its TTL together: SET sess:<id> <json> EX <seconds>.
    // (A SET followed by an EXPIRE could leave a key with no TTL if the second one failed.)
    await this.client.set(this.key(sessionId), JSON.stringify(session), {
      expiration: { type: "EX", value: seconds },
    });
  }

  private async remove(sessionId: string): Promise<void> {
    await this.client.del(this.key(sessionId)); // DEL of a key that is not there is fine
  }

  private async extend(sessionId: string, session: SessionData): Promise<void> {
    // EXPIRE only changes the TTL of the key as it is; it does nothing when the key is gone
    // (a touch never brings back an expired session). A TTL of 0 or less deletes the key.
    await this.client.expire(this.key(sessionId), this.secondsToLive(session));
  }

  /**
   * Every key of this store. SCAN walks the keys a batch at a time; KEYS would walk all of
   * them in one command, and Redis, which runs one command at a time, would answer nobody
   * else until it finished: with a million keys, every user of that Redis waits.
   */
  private async keys(): Promise<string[]> {
    const found = new Set<string>(); // a Set: SCAN may return a key twice (if Redis resizes)
    for await (const batch of this.client.scanIterator({ MATCH: `${this.prefix}*`, COUNT: 100 })) {
      for (const key of batch) found.add(key);
    }
    return [...found];
  }

  private async count(): Promise<number> {
    return (await this.keys()).length;
  }

  private async readAll(): Promise<Record<string, SessionData>> {
    const keys = await this.keys();
    const texts = keys.length > 0 ? await this.client.mGet(keys) : [];
    const sessions: Record<string, SessionData> = {};
    keys.forEach((key, index) => {
      const text = texts[index];
      // null: the key expired between SCAN and MGET. Unreadable values are left out.
      const session = text ? parse(text) : null;
      if (session) sessions[key.slice(this.prefix.length)] = session;
    });
    return sessions;
  }

  private async deleteAll(): Promise<void> {
    for await (const batch of this.client.scanIterator({ MATCH: `${this.prefix}*`, COUNT: 100 })) {
      if (batch.length > 0) await this.client.del(batch);
    }
  }
}

/**
 * JSON text back into a session, or null when it is not one.
 * JSON has no dates: JSON.stringify wrote cookie.expires as an ISO string, so turn it back
 * into a Date, the way set() was given it. (Any other Date in a session also comes back as a
 * string: keep sessions to plain values, like ids and counters.)
 */
function parse(text: string): SessionData | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const session = value as SessionData;
  // express-session cannot use a session without its cookie: it would fail on every request.
  if (typeof session.cookie !== "object" || session.cookie === null) return null;
  if (typeof session.cookie.expires === "string") {
    session.cookie.expires = new Date(session.cookie.expires);
  }
  return session;
}
