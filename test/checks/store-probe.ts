/**
 * A probe on an app's session store, for test/checks/differential.ts: the store's own view of
 * its sessions, the calls made to it by method (and, where a check adds them, the commands its
 * server received: test/checks/redis-probe.ts), whether the app's own writes were confirmed
 * before it answered, and faults on demand (a method that fails, hangs or is slow). Any store
 * works: its methods are wrapped on the instance express-session hands to the request, so that
 * nothing else in the process is affected.
 */
import type session from "express-session";

/** Calls made to a store by method ("set"), and commands its server got ("SET"), by name. */
export type Traffic = Record<string, number>;
export const OPS = ["get", "set", "destroy", "touch", "all", "length", "clear"] as const;
type Op = (typeof OPS)[number];
/** Where each method's callback is: get(sid, cb), set(sid, session, cb)… */
const CALLBACK_AT: Record<Op, number> = {
  ...{ get: 1, set: 2, destroy: 1, touch: 2 },
  ...{ all: 0, length: 0, clear: 0 },
};
type Method = (...args: unknown[]) => unknown;
/** How late a slow method answers. */
export const SLOW_MS = 100;

/** One app's store, as the check sees it: its sessions, its traffic, its faults. */
export class StoreProbe {
  store: session.Store | undefined;
  readonly traffic: Traffic = {};
  /** The app's own destroy/set/clear calls started and not yet confirmed (callback not called). */
  unconfirmed = 0;
  /** Methods that fail, as a broken store's would: a fault the scenario injects. */
  readonly failing = new Set<string>();
  /** Methods that never call back, as a frozen store's would. */
  readonly hanging = new Set<string>();
  /** Methods that call back (or fail) only SLOW_MS later, as a busy store's would. */
  readonly slow = new Set<string>();
  /** The error a failing method gives. */
  failure = (op: string): Error =>
    new Error(`the session store failed to ${op} (a fault the check injected)`);
  /** Each store's methods as they were before the probe wrapped them. */
  private readonly real = new WeakMap<object, Partial<Record<Op, Method>>>();
  private readonly read: (() => Promise<Record<string, unknown>>) | undefined;
  /** Waits until the traffic of every request answered so far is counted. */
  readonly settle: () => Promise<void>;

  /**
   * READ: how to list the sessions (id → session) as an operator would; by default the store's
   * own all(), not counted as traffic. SETTLE: see `settle`; by default nothing to wait for.
   */
  constructor(
    read?: () => Promise<Record<string, unknown>>,
    settle: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.read = read;
    this.settle = settle;
  }

  /** Counts N more of NAME (a command the store's server received). */
  count(name: string, n = 1): void {
    this.traffic[name] = (this.traffic[name] ?? 0) + n;
  }

  /** Watches STORE (express-session hands it to every request as req.sessionStore). */
  attach(store: session.Store): void {
    this.store = store;
    if (this.real.has(store)) return; // wrapped already (an app may have several stores)
    const real: Partial<Record<Op, Method>> = {};
    this.real.set(store, real);
    const methods = store as unknown as Record<string, unknown>;
    for (const op of OPS) {
      const method = methods[op];
      if (typeof method !== "function") continue;
      real[op] = method as Method;
      methods[op] = (...args: unknown[]) => this.call(op, method as Method, store, args);
    }
  }

  private call(op: Op, real: Method, store: session.Store, args: unknown[]): unknown {
    this.count(op);
    // express-session itself answers while its touch (or end-of-request save) is under way;
    // what a route asks the store to write or forget, it should wait for.
    const mustWait = op === "destroy" || op === "set" || op === "clear";
    if (mustWait) this.unconfirmed++;
    const at = CALLBACK_AT[op];
    const callback = typeof args[at] === "function" ? (args[at] as Method) : undefined;
    const answer = (...result: unknown[]) => {
      if (mustWait) this.unconfirmed--;
      callback?.(...result);
    };
    const done = this.slow.has(op)
      ? (...result: unknown[]) => void setTimeout(answer, SLOW_MS, ...result)
      : answer;
    if (this.hanging.has(op)) return undefined;
    if (this.failing.has(op)) {
      setImmediate(done, this.failure(op));
      return undefined;
    }
    args[at] = done;
    return real.apply(store, args);
  }

  /** The store's sessions, id → session, as an operator would list them; not counted. */
  sessions(): Promise<Record<string, unknown>> {
    if (this.read) return this.read();
    const store = this.store;
    if (!store) return Promise.resolve({});
    const all = this.real.get(store)?.all;
    if (!all) return Promise.resolve({});
    return new Promise((resolve, reject) => {
      all.call(store, (error: unknown, sessions: unknown) =>
        error ? reject(error) : resolve((sessions ?? {}) as Record<string, unknown>),
      );
    });
  }
}
