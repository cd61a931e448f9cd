import { type SessionData, Store } from "express-session";
import type { RedisClient } from "../shared/redis-client.ts";

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
 * Cost: one small key per end of a stored session (logout, login), gone after ten minutes.
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
 * The race this step's tests show: a request that loaded the session before the logout (a
 * second tab, a replayed cookie) writes it back whole as it ends, and the logged-out user is
 * logged in again. express-session and its stores do nothing about it.
 *
 * A store whose logouts are final: destroy() first buries the id, then deletes the session;
 * set() skips a buried id, and checks again AFTER writing, deleting what it wrote if the id
 * was buried meanwhile. Whatever the interleaving, the session ends deleted: a write that
 * lands after the delete sees the tombstone, which was laid before it.
 * Cost: two more commands per destroy (GET, SET), two more (EXISTS before, after) per write.
 *
 * Only the four methods express-session calls are passed on; the others (all, length, clear)
 * are left out, not answered for a store that may lack them.
 */
export class FinalLogoutStore extends Store {
  private readonly inner: Store;
  private readonly tombstones: Tombstones;

  constructor(inner: Store, tombstones: Tombstones) {
    super();
    this.inner = inner;
    this.tombstones = tombstones;
  }

  override get(id: string, callback: Callback<SessionData | null>): void {
    this.inner.get(id, callback);
  }

  override set(id: string, session: SessionData, callback?: Callback): void {
    const { inner, tombstones } = this;
    (async () => {
      if (await tombstones.isBuried(id)) return; // logged out: this late write is dropped
      await promised((done) => inner.set(id, session, done));
      // Buried while we wrote? When the check itself fails (the store is overloaded or going
      // away), we cannot tell: undo the write all the same, for a logged-out session must
      // never come back, and pass the error on (this request answers 503).
      const buried = await tombstones.isBuried(id).catch(async (error: unknown) => {
        await promised((done) => inner.destroy(id, done)).catch(() => {});
        throw error;
      });
      if (buried) await promised((done) => inner.destroy(id, done));
    })().then(() => callback?.(), callback ?? (() => {}));
  }

  override destroy(id: string, callback?: Callback): void {
    // Buried only if stored: an id never stored (a visitor's without a session, which a login's
    // regenerate() destroys) no request can bring back; a stored one is, at a login too.
    new Promise((resolve, reject) => this.inner.get(id, (e, s) => (e ? reject(e) : resolve(s))))
      .then((stored) => stored && this.tombstones.bury(id))
      .then(() => promised((done) => this.inner.destroy(id, done)))
      .then(() => callback?.(), callback ?? (() => {}));
  }

  override touch(id: string, session: SessionData, callback?: Callback): void {
    // A touch only moves the expiry of a key that exists (connect-redis: EXPIRE), so it
    // cannot bring a deleted session back.
    if (this.inner.touch) this.inner.touch(id, session, callback);
    else callback?.();
  }
}

function promised(start: (done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => start((error) => (error ? reject(error) : resolve())));
}
