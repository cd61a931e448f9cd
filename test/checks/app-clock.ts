/**
 * A clock of the check's for the app under check. Inside `withClock(clock, fn)`, and in all
 * that FN goes on to do (its awaits, timers and callbacks), Date.now(), new Date() and
 * performance.now() read the real time plus `clock.aheadMs`; everywhere else, the real time. So
 * a check lets minutes pass for an app in an instant, as it lets them pass for what Redis holds
 * by shortening TTLs. A clock with `intervals` also catches each setInterval the app calls on
 * it, at any point: the check runs them as time passes, rather than they fire on their own.
 * Installed once for the process on first use, never removed: checks run side by side in it.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface AppClock {
  /** How far the app's clock is ahead of the real one, in ms. */
  aheadMs: number;
  /** Where the intervals the app sets on this clock go (each never fires by itself), if given. */
  intervals?: (() => void)[];
}

const running = new AsyncLocalStorage<AppClock>();
let installed = false;

/** Runs FN, and all it goes on to do, on CLOCK. */
export function withClock<T>(clock: AppClock, fn: () => T): T {
  install();
  return running.run(clock, fn);
}

function install(): void {
  if (installed) return;
  installed = true;
  const RealDate = globalThis.Date;
  const realNow = RealDate.now.bind(RealDate);
  const now = () => realNow() + (running.getStore()?.aheadMs ?? 0);
  // A proxy, not a subclass: a Date made before or after is still `instanceof Date`.
  globalThis.Date = new Proxy(RealDate, {
    construct: (target, args, newTarget) =>
      Reflect.construct(target, args.length === 0 ? [now()] : args, newTarget),
    get: (target, key, receiver) => (key === "now" ? now : Reflect.get(target, key, receiver)),
  });
  // The monotonic clock moves on with it: a duration measured on it sees the time passed too.
  const realMonotonic = performance.now.bind(performance);
  Object.defineProperty(performance, "now", {
    configurable: true,
    writable: true,
    value: () => realMonotonic() + (running.getStore()?.aheadMs ?? 0),
  });
  const realInterval = globalThis.setInterval;
  const realTimeout = globalThis.setTimeout;
  globalThis.setInterval = ((
    run: (...args: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) => {
    const caught = running.getStore()?.intervals;
    if (!caught) return realInterval(run, ms, ...args);
    caught.push(() => run(...args));
    // A real handle (clearInterval takes it), that never fires nor keeps the process alive.
    return realTimeout(() => {}, 2 ** 31 - 1).unref();
  }) as unknown as typeof setInterval;
}
