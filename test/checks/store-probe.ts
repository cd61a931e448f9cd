/**
 * A probe on an app's session store, for test/checks/differential.ts: the store's own view of
 * its sessions (all()), the calls made to it by method, whether the app's own writes were
 * confirmed before it answered, and faults on demand (a method that fails). MemoryStore's
 * methods are wrapped once, on its prototype, and stay transparent for every store no probe
 * is attached to, so that other checks running in the same process are not affected.
 */
import session from "express-session";

/** Calls made to a store, by method. */
export type Traffic = Record<(typeof OPS)[number], number>;
export const OPS = ["get", "set", "destroy", "touch", "all", "length", "clear"] as const;
/** Where each method's callback is: get(sid, cb), set(sid, session, cb)… */
const CALLBACK_AT: Record<(typeof OPS)[number], number> = {
  ...{ get: 1, set: 2, destroy: 1, touch: 2 },
  ...{ all: 0, length: 0, clear: 0 },
};

/** One app's store, as the check sees it: its sessions, its traffic, its faults. */
export class StoreProbe {
  store: session.Store | undefined;

  /** Watches STORE (express-session hands it to every request as req.sessionStore). */
  attach(store: session.Store): void {
    watchMemoryStores();
    this.store = store;
    probes.set(store, this);
  }

  readonly traffic: Traffic = { get: 0, set: 0, destroy: 0, touch: 0, all: 0, length: 0, clear: 0 };
  /** The app's own destroy/set/clear calls started and not yet confirmed (callback not called). */
  unconfirmed = 0;
  /** Methods that fail, as a broken store's would: a fault the scenario injects. */
  readonly failing = new Set<string>();

  /** The store's own view of its sessions (all()), id → session, without counting the call. */
  sessions(): Promise<Record<string, unknown>> {
    const store = this.store;
    if (!store) return Promise.resolve({});
    return new Promise((resolve, reject) => {
      const all = (REAL.all ?? store.all) as (cb: (e: unknown, s: unknown) => void) => void;
      all.call(store, (error, sessions) =>
        error ? reject(error) : resolve((sessions ?? {}) as Record<string, unknown>),
      );
    });
  }
}

const probes = new WeakMap<object, StoreProbe>();
const REAL: Partial<Record<string, (...args: unknown[]) => unknown>> = {};

/** Wraps MemoryStore's methods once: transparent, except for stores a probe watches. */
function watchMemoryStores(): void {
  const proto = session.MemoryStore.prototype as unknown as Record<string, unknown>;
  if (REAL.get) return;
  for (const op of OPS) {
    const real = proto[op] as (...args: unknown[]) => unknown;
    REAL[op] = real;
    proto[op] = function (this: object, ...args: unknown[]) {
      const probe = probes.get(this);
      if (!probe) return real.apply(this, args);
      probe.traffic[op]++;
      // express-session itself answers while its touch (or end-of-request save) is under way;
      // what a route asks the store to write or forget, it should wait for.
      const mustWait = op === "destroy" || op === "set" || op === "clear";
      if (mustWait) probe.unconfirmed++;
      const at = CALLBACK_AT[op];
      const callback =
        typeof args[at] === "function" ? (args[at] as (...a: unknown[]) => void) : undefined;
      const done = (...result: unknown[]) => {
        if (mustWait) probe.unconfirmed--;
        callback?.(...result);
      };
      if (probe.failing.has(op)) {
        setImmediate(
          done,
          new Error(`the session store failed to ${op} (a fault the check injected)`),
        );
        return undefined;
      }
      args[at] = done;
      return real.apply(this, args);
    };
  }
}
