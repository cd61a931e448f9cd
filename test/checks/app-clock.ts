/**
 * A clock of the check's for the app under check. Inside `withClock(clock, fn)`, and in all
 * that FN goes on to do (its awaits, timers and callbacks), Date.now() and new Date() read the
 * real time plus `clock.aheadMs`; everywhere else, the real time. So a check lets minutes pass
 * for an app in an instant, as it lets them pass for what Redis holds by shortening TTLs.
 * Installed once for the process on first use, never removed: checks run side by side in it.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface AppClock {
  /** How far the app's clock is ahead of the real one, in ms. */
  aheadMs: number;
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
}
