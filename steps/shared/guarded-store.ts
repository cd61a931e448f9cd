import { type SessionData, Store } from "express-session";
import type { RedisClient } from "./redis-client.ts";
import { isSessionId } from "./session-id.ts";

type Callback<Result = void> = (error?: unknown, result?: Result) => void;

/**
 * Remembers, for a while, the ids of sessions that were destroyed (logout, or regenerate at
 * login), so that no write can bring them back.
 */
export interface Tombstones {
  /** Marks ID as ended: for a while, a write of ID is refused. */
  bury(id: string): Promise<void>;
  /** Whether ID was ended recently. */
  isBuried(id: string): Promise<boolean>;
}

/**
 * Tombstones in Redis: the key PREFIX<id>, for SECONDS. Ten minutes is longer than any request
 * lives (Node's HTTP server ends a request after 300 s, its default `requestTimeout`); after
 * that, no request that loaded the session before the logout can still be running.
 * Cost: one small key per logout or login, gone after ten minutes.
 */
export function redisTombstones(client: RedisClient, prefix = "ended:", seconds = 600): Tombstones {
  return {
    bury: async (id) => {
      await client.set(prefix + id, "1", { expiration: { type: "EX", value: seconds } });
    },
    isBuried: async (id) => (await client.exists(prefix + id)) === 1,
  };
}

/**
 * A session store, guarded: what every step's store gets and none of them is about.
 *
 * - **Ids are never paths.** Only ids of the shape express-session generates reach the store
 *   (steps/shared/session-id.ts); any other id is "no such session", so its visitor starts a
 *   fresh one, and no file, key or document is ever named by what a client sent.
 * - **A logout is final** (with TOMBSTONES). A request that loaded the session before the
 *   logout (a second tab, a replayed cookie) writes it back whole when it ends: without a
 *   guard, the logged-out user is logged in again. So destroy() first buries the id, then
 *   deletes the session; set() skips a buried id, and checks again AFTER writing, deleting
 *   what it wrote if the id was buried meanwhile. Whatever the interleaving, the session ends
 *   deleted: a write that lands after the delete sees the tombstone, which was laid before it.
 *   Cost: one more command per destroy, two more (EXISTS before and after) per write.
 * - **One write per request**: a session saved during the request is not touched again as the
 *   response ends.
 */
export class GuardedStore extends Store {
  /** Sessions (the request's own objects) written since their request began; see touch(). */
  private readonly justWritten = new WeakSet<object>();

  constructor(
    private readonly inner: Store,
    private readonly tombstones?: Tombstones,
  ) {
    super();
  }

  override get(id: string, callback: Callback<SessionData | null>): void {
    if (!isSessionId(id)) {
      callback(null, null);
      return;
    }
    this.inner.get(id, callback);
  }

  override set(id: string, session: SessionData, callback?: Callback): void {
    if (!isSessionId(id)) {
      callback?.();
      return;
    }
    const written = (error?: unknown) => {
      if (!error) this.justWritten.add(session);
      callback?.(error);
    };
    // The store gets a copy: some change what they are given (connect-mongo deletes
    // `lastModified`), which would make express-session see a change and write it again.
    const copy = { ...session };
    const { tombstones } = this;
    if (!tombstones) {
      this.inner.set(id, copy, written);
      return;
    }
    (async () => {
      if (await tombstones.isBuried(id)) return; // logged out: this late write is dropped
      await promised((done) => this.inner.set(id, copy, done));
      // Buried while we wrote? When the check itself fails (the store is overloaded or going
      // away), we cannot tell: undo the write all the same, for a logged-out session must
      // never come back, and pass the error on (this request answers 503).
      const buried = await tombstones.isBuried(id).catch(async (error: unknown) => {
        await promised((done) => this.inner.destroy(id, done)).catch(() => {});
        throw error;
      });
      if (buried) await promised((done) => this.inner.destroy(id, done));
    })().then(() => written(), written);
  }

  override destroy(id: string, callback?: Callback): void {
    if (!isSessionId(id)) {
      callback?.();
      return;
    }
    const { tombstones } = this;
    if (!tombstones) {
      this.inner.destroy(id, callback);
      return;
    }
    tombstones
      .bury(id)
      .then(() => promised((done) => this.inner.destroy(id, done)))
      .then(() => callback?.(), callback ?? (() => {}));
  }

  override touch(id: string, session: SessionData, callback?: Callback): void {
    // A session saved during this request (visitsPage saves before answering) was written
    // with its new expiry: the touch express-session sends as the response ends would be a
    // second write for nothing.
    if (this.justWritten.delete(session) || !isSessionId(id) || !this.inner.touch) {
      callback?.();
      return;
    }
    this.inner.touch(id, session, callback);
  }

  override all(callback: Callback<SessionData[] | Record<string, SessionData> | null>): void {
    if (!this.inner.all) {
      callback(null, null);
      return;
    }
    this.inner.all(callback);
  }

  override length(callback: Callback<number>): void {
    if (!this.inner.length) {
      callback(null, 0);
      return;
    }
    this.inner.length(callback);
  }

  override clear(callback?: Callback): void {
    if (!this.inner.clear) {
      callback?.();
      return;
    }
    this.inner.clear(callback);
  }
}

/** guardStore(store): STORE behind the guards above; with TOMBSTONES, logouts are final. */
export function guardStore(store: Store, tombstones?: Tombstones): Store {
  return new GuardedStore(store, tombstones);
}

function promised(start: (done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => start((error) => (error ? reject(error) : resolve())));
}
