/**
 * Exercise 02: a session ends 20 minutes after the visitor's last request, in the cookie and in
 * its file; the file of an ended session is gone within 5 minutes, deleted by a reaper that
 * walks the folder at most once a minute.
 *
 * A differential check (test/checks/differential.ts): scenarios of three visitors and of time
 * passing, drawn at random (A and B are browsers; C is a script that keeps its cookie after it
 * expired, and also asks for /favicon.ico, a request that leaves the session unchanged), run
 * on your app and on the reference side by side, each over a folder of its own. After every
 * step the two must look the same to a visitor (status, visit count, the cookie's expiry) and
 * to an operator (the session files on disk, when each ends, which are gone; what a request
 * read or wrote; how often the folder was walked), but for the differences the policy allows.
 *
 * Nobody waits. "N minutes pass" ages what each side holds by N minutes: in every session file
 * its last access, the cookie expiry written in it and its modification time; the expiry of
 * each visitor's cookie (a browser drops an expired one). The timers the app schedules are
 * caught (setInterval, setTimeout, and those of node:timers/promises) and run at the moments
 * they would fire; just before each runs, the files are looked at too (no ended file may have
 * stayed more than 5 minutes, counted from the start for one that ended before it), and a timer
 * that lists the folder when it runs must have been set for 5 minutes or less. An interval, a
 * timeout set by a timer's run, or one set more than 10 s ahead, must not keep the process
 * alive. A request must not delete another visitor's file. The app is
 * built on a clock 13 minutes behind, so that a time taken once at start-up is not taken for
 * "now". An operator's view of reads: before each request the access times of the folder and
 * its files are set far back, so that afterwards they show what the request listed or read.
 *
 * The 17 classic scenarios below (in one, another server writes a live session file named to
 * come first in the folder; in one, another server leaves a half-written file, there at the
 * next walk only; in two, 60 live sessions are saved (in one, all
 * ending at the same moment); in one, browser A asks
 * for /favicon.ico too), then 20 drawn ones
 * of up to 7 steps (CHECK_RUNS, CHECK_DRAW to draw others).
 */

import { AsyncLocalStorage } from "node:async_hooks";
import childProcess from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { stat } from "node:fs/promises";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodeTimers from "node:timers";
import timers from "node:timers/promises";
import express, { type Express } from "express";
import type session from "express-session";
import fc from "fast-check";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import {
  type Answer,
  differential,
  type Model,
  type Observation,
  type Side,
  type Step,
  setCookieParts,
} from "../../test/checks/differential.ts";
import { defineCheck, Wrong } from "../../test/checks/kit.ts";
import { StoreProbe } from "../../test/checks/store-probe.ts";
import * as reference from "./solution/app.ts";

type Module = typeof import("./solution/app.ts");

const MINUTE = 60_000;
const LIFETIME = 20; // minutes, the policy's
const GRACE = 5; // minutes an ended session's file may stay
/** Times are compared to the quarter minute, and the policy's limits with this slack. */
const SLACK = 0.2;
/**
 * session-file-store's reapAsync reaps in a process of its own (execFile of reap-worker.js),
 * which the check's clock cannot follow. The check runs what that process runs (the worker's
 * own helpers.reap, with the folder and ttl it is given) here instead, as if it ran at once.
 */
const helpers = createRequire(import.meta.url)(
  "session-file-store/lib/session-file-helpers.js",
) as {
  defaults(options: { path: string; ttl: string }): object;
  reap(options: object, callback: (error?: Error | null) => void): void;
};
const execFile = childProcess.execFile;
childProcess.execFile = ((file: string, ...rest: unknown[]) => {
  const [args] = rest;
  const callback = rest.find((arg) => typeof arg === "function") as
    | ((error: Error | null, stdout: string, stderr: string) => void)
    | undefined;
  if (!file.endsWith("reap-worker.js") || !Array.isArray(args))
    return (execFile as (...a: unknown[]) => unknown)(file, ...rest);
  const [path, ttl] = args as string[];
  helpers.reap(helpers.defaults({ path: path ?? "", ttl: ttl ?? "" }), (error) =>
    callback?.(error ?? null, "", ""),
  );
  return undefined;
}) as typeof execFile;

/** The app is built on a clock this far behind. */
const START_BEHIND = 13 * MINUTE;
/** The access time the check gives the folder and its files before each request. */
const LONG_AGO = new Date("2000-01-01T00:00:00Z");
const VISITORS = 3;
/** Visitor C is a script (curl, or a stolen cookie): it keeps sending its cookie after expiry. */
const SCRIPT = 2;
/** The id of the session file another server writes into the folder: it sorts before any other. */
const PLANTED = "-".repeat(32);
/**
 * The id of a half-written session file (another server crashed while writing it): it is in the
 * folder at the next walk of the folder, and its writer deletes it after that walk.
 */
const TORN = "_".repeat(32);
/** How many live sessions a busy hour saves at once: more than a cap a store might set. */
const CROWD = 60;

type Action =
  | { do: "visit"; who: number }
  | { do: "asset"; who: number }
  | { do: "plant" }
  | { do: "torn" }
  | { do: "crowd"; atOnce?: boolean }
  | { do: "wait"; minutes: number }
  | { do: "forget"; who: number }
  | { do: "disk"; full: boolean }
  | { do: "restart" };

interface Timer {
  /** When it fires next, in ms since the app started (the check's clock). */
  due: number;
  /** The delay it was set with (ms). */
  delay: number;
  every: number | undefined;
  run: () => void;
  /** The last minute in which it ran (a faster timer is counted, run once a minute). */
  ranIn?: number;
  /** The handle the app got: unless unref()ed or cleared, it keeps the process alive. */
  handle: NodeJS.Timeout;
  /** Set by a timer's run: a chain of timeouts, each setting the next, repeats like an interval. */
  chained: boolean;
}

/** What the check keeps about one side in one scenario. */
interface SideClock {
  dir: string;
  /** Ms of (pretended) time since the app started. */
  now: number;
  timers: Timer[];
  /** When each visitor's session cookie expires (ms, on the real clock as aged); none: a browser-session cookie. */
  cookieExpires: (number | undefined)[];
  /** When each visitor last sent a request (the check's clock). */
  lastRequest: (number | undefined)[];
  /** When the app last (re)started (the check's clock): a file that ended before waits for its first reaping. */
  started: number;
  /** In the last wait, the file kept longest past its end at a moment a timer fired: minutes, and that moment. */
  late: { minutes: number; at: number } | undefined;
  /** Whether a half-written file (TORN) is in the folder now, and whether one was this scenario. */
  torn: boolean;
  hadTorn: boolean;
  /** In the last wait, the longest delay (ms) of a timer that walked the folder when it ran, if over the grace. */
  slowWalk: number | undefined;
  /**
   * The request in flight: the acting visitor's own session ids, minutes since its last request,
   * the session files on disk before it.
   */
  request: { own: Set<string>; idle: number | undefined; files: string[] } | undefined;
}

/**
 * A probe whose store can run out of disk: its writes fail below anything the app wraps
 * around the store's methods (session-file-store encodes every write with options.encoder).
 */
class DiskProbe extends StoreProbe {
  full = false;

  override attach(store: session.Store): void {
    if (this.store !== store) {
      const options = (store as { options?: { encoder?: (value: unknown) => string } }).options;
      const encode = options?.encoder;
      if (options && encode) {
        options.encoder = (value) => {
          if (this.full) throw Object.assign(new Error(ENOSPC), { code: "ENOSPC" });
          return encode(value);
        };
      }
    }
    super.attach(store);
  }
}
/** The traffic counted when, in a wait, a file stayed on disk past the policy (see noteLate). */
const LATE = "ended files kept too long";
/** The traffic counted when, in a wait, a timer set for longer than the grace walked the folder. */
const SLOW_WALK = "folder walked by a timer set for more than 5 minutes";
/** The longest delay of a timer that walks the folder: the grace (with a second for rounding). */
const WALK_AT_MOST = GRACE * MINUTE + 1000;
/** A timer set for longer than this must not keep the process alive (a shutdown would wait). */
const REF_AT_MOST = 10_000;
/** The traffic counted when a request deleted another visitor's file. */
const OTHERS_DELETED = "other visitors' files deleted";
const ENOSPC = "ENOSPC: no space left on device (a fault the check injected)";
/** Said first when ended files stay too long in a scenario with a half-written file. */
const UNREADABLE = "one file that cannot be read must not stop the reaper";
const STUCK = `${UNREADABLE}: a half-written file (another server crashed while writing it) was in the folder at one walk, and ended files were not deleted after it; `;

const clocks = new WeakMap<StoreProbe, SideClock>();
/** How to restart each side's app: a new one on the same folder and clock. */
const restarts = new WeakMap<Side, () => void>();
const clockOf = (side: Side) => clocks.get(side.probe) as SideClock;
const name = (i: number) => "ABC"[i] ?? "?";
const JSON_CLIENT = { accept: "application/json" };
const CLOSE = { ...JSON_CLIENT, connection: "close" };
const quarter = (ms: number) => Math.round((ms / MINUTE) * 4) / 4;
const minutes = (n: number) => `${n} minute${n === 1 ? "" : "s"}`;

/** The session id inside a session cookie's value (s%3A<id>.<signature>). */
const idIn = (value: string | undefined) =>
  /^s:([^.]+)\./.exec(decodeURIComponent(value ?? ""))?.[1];

// ---- Time: aging what a side holds, and running its timers when they would fire.

/** Whose clock a timer goes on: the side whose app, or app's timer, is running. */
const timing = new AsyncLocalStorage<{ clock: SideClock; side: Side; inTimer: boolean }>();

/**
 * Runs FN, and all it goes on to do, with the timers it sets kept for the check to run; IN_TIMER:
 * FN is a timer's run.
 */
function catchTimers<T>(clock: SideClock, side: Side, fn: () => T, inTimer = false): T {
  return timing.run({ clock, side, inTimer }, fn);
}

/**
 * From now on, setTimeout and setInterval (global, node:timers and node:timers/promises) keep a
 * timer an app sets under catchTimers for the check to run when it would fire, on a handle of
 * its own that never fires by itself (unref() and hasRef() work on it). Anyone else's timers
 * are real. Installed once for the process, never removed: checks run side by side in it.
 */
let timersKept = false;
function keepTimers(): void {
  if (timersKept) return;
  timersKept = true;
  const real = { setInterval: globalThis.setInterval, setTimeout: globalThis.setTimeout };
  const promised = { setInterval: timers.setInterval, setTimeout: timers.setTimeout };
  const keep = (every: boolean, run: () => void, ms: unknown): NodeJS.Timeout => {
    const { clock, side, inTimer } = timing.getStore() as {
      clock: SideClock;
      side: Side;
      inTimer: boolean;
    };
    // As Node does: a delay under 1 ms, over 2^31 - 1 or not a number is 1 ms.
    const delay = Number(ms) >= 1 && Number(ms) <= 2 ** 31 - 1 ? Number(ms) : 1;
    const handle = real.setTimeout(() => {}, 2 ** 31 - 1);
    side.after(() => clearTimeout(handle));
    clock.timers.push({
      due: clock.now + delay,
      delay,
      every: every ? delay : undefined,
      run,
      handle,
      chained: inTimer,
    });
    return handle;
  };
  const callback = (every: boolean, name: "setInterval" | "setTimeout") =>
    ((run: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      timing.getStore()
        ? keep(every, () => run(...args), ms)
        : real[name](run, ms, ...args)) as unknown as typeof setTimeout;
  type Options = { ref?: boolean };
  const promisedTimeout = (ms?: number, value?: unknown, options?: Options) => {
    if (!timing.getStore()) return promised.setTimeout(ms, value, options);
    return new Promise((resolve) => {
      const handle = keep(false, () => resolve(value), ms);
      if (options?.ref === false) handle.unref();
    });
  };
  const promisedInterval = (ms?: number, value?: unknown, options?: Options) => {
    if (!timing.getStore()) return promised.setInterval(ms, value, options);
    let ticks = 0;
    let wake = () => {};
    const handle = keep(
      true,
      () => {
        ticks++;
        wake();
      },
      ms,
    );
    if (options?.ref === false) handle.unref();
    const ticking: AsyncIterableIterator<unknown> = {
      [Symbol.asyncIterator]: () => ticking,
      async next() {
        while (ticks === 0) await new Promise<void>((resolve) => (wake = resolve));
        ticks--;
        return { value, done: false };
      },
      async return() {
        clearTimeout(handle);
        return { value: undefined, done: true };
      },
    };
    return ticking;
  };
  const install = (with_: typeof real, withPromised: typeof promised) => {
    Object.assign(globalThis, with_);
    Object.assign(nodeTimers, with_);
    Object.assign(timers, withPromised);
    syncBuiltinESMExports();
  };
  install(
    {
      setInterval: callback(true, "setInterval"),
      setTimeout: callback(false, "setTimeout"),
    } as typeof real,
    { setInterval: promisedInterval, setTimeout: promisedTimeout } as typeof promised,
  );
}

/** Runs FN on a clock START_BEHIND behind (FN is synchronous): the app's start-up. */
function onClockBehind<T>(fn: () => T): T {
  const RealDate = globalThis.Date;
  class Behind extends RealDate {
    constructor(...args: unknown[]) {
      super(...((args.length ? args : [RealDate.now() - START_BEHIND]) as [number]));
    }
    static override now() {
      return RealDate.now() - START_BEHIND;
    }
  }
  globalThis.Date = Behind as DateConstructor;
  try {
    return fn();
  } finally {
    globalThis.Date = RealDate;
  }
}

/** Sets the access time of the folder and its files far back (see LONG_AGO). */
function forgetAccess(dir: string): void {
  for (const file of readdirSync(dir)) {
    try {
      utimesSync(join(dir, file), LONG_AGO, statSync(join(dir, file)).mtime);
    } catch {} // deleted meanwhile
  }
  utimesSync(dir, LONG_AGO, statSync(dir).mtime);
}

/** Makes what SIDE holds MS older: its session files and its visitors' cookies. */
function age(clock: SideClock, side: Side, ms: number): void {
  if (ms <= 0) return;
  for (const file of readdirSync(clock.dir)) {
    if (!file.endsWith(".json")) continue; // a file being written (write-file-atomic's)
    const path = join(clock.dir, file);
    try {
      const { mtimeMs } = statSync(path);
      const stored = JSON.parse(readFileSync(path, "utf8")) as {
        __lastAccess?: unknown;
        cookie?: { expires?: unknown };
      };
      if (typeof stored.__lastAccess === "number") stored.__lastAccess -= ms;
      if (typeof stored.cookie?.expires === "string") {
        stored.cookie.expires = new Date(Date.parse(stored.cookie.expires) - ms).toISOString();
      }
      writeFileSync(path, JSON.stringify(stored));
      utimesSync(path, LONG_AGO, new Date(mtimeMs - ms));
    } catch {} // deleted meanwhile, or not JSON: left as it is
  }
  clock.cookieExpires.forEach((expires, i) => {
    if (expires === undefined) return;
    clock.cookieExpires[i] = expires - ms;
    if (expires - ms <= Date.now() && i !== SCRIPT) {
      side.visitors[i]?.cookies.delete(COOKIE_NAME);
      clock.cookieExpires[i] = undefined;
    }
  });
  forgetAccess(clock.dir);
}

/**
 * Waits until the folder and FILES (its files before a timer ran) stop changing: a reaper lists
 * the folder, reads and deletes files asynchronously. Looks by stat alone, which leaves the
 * access times alone: they show afterwards whether the timer listed the folder.
 */
async function quiet(dir: string, files: string[]): Promise<void> {
  const look = async (path: string) => {
    try {
      const { atimeMs, mtimeMs, size } = await stat(path);
      return `${atimeMs}:${mtimeMs}:${size}`;
    } catch {
      return "(gone)";
    }
  };
  let last = "";
  // Each look queues behind the file operations already asked for; twelve alike in a row
  // outlast a reaper's chain (list, open, read, close, delete…).
  for (let same = 0, tries = 0; same < 12 && tries < 200 + 8 * files.length; tries++) {
    const now = (await Promise.all([dir, ...files.map((f) => join(dir, f))].map(look))).join();
    same = now === last ? same + 1 : 0;
    last = now;
  }
}

/**
 * Lets MS pass on SIDE: everything ages, and each timer runs when it would fire (one that
 * fires several times a minute is counted each time and run once that minute). Answers how
 * many times the timers fired: each a walk through the folder, for a reaper.
 */
async function pass(side: Side, ms: number): Promise<number> {
  const clock = clockOf(side);
  const target = clock.now + ms;
  let walks = 0;
  clock.late = undefined;
  clock.slowWalk = undefined;
  for (;;) {
    const timer = clock.timers
      .filter((t) => t.due <= target)
      .sort((x, y) => x.due - y.due)
      .at(0);
    if (!timer) break;
    age(clock, side, timer.due - clock.now);
    clock.now = timer.due;
    walks++;
    const minute = Math.floor(clock.now / MINUTE);
    if (timer.ranIn !== minute) {
      timer.ranIn = minute;
      const files = noteLate(clock);
      try {
        silencingStoreLog(() => catchTimers(clock, side, timer.run, true));
      } catch (error) {
        throw new Wrong(
          `${clock.hadTorn ? `${UNREADABLE}: a half-written file (another server crashed while writing it) was in the folder, and ` : ""}a timer of yours threw an error as it ran (${String(error)}): in a server, an error thrown by a timer and caught by nobody ends the process, and every visitor's requests with it`,
        );
      }
      await quiet(clock.dir, files);
      const walked = statSync(clock.dir).atimeMs > LONG_AGO.getTime() + MINUTE;
      // The half-written file has been seen by a walk: its writer deletes it now.
      if (walked && clock.torn) {
        rmSync(join(clock.dir, `${TORN}.json`), { force: true });
        clock.torn = false;
      }
      // Listed the folder (a reaper's walk) though set for longer than the grace: a file that
      // ends just after one walk stays until the next.
      if (walked && timer.delay > WALK_AT_MOST && timer.delay > (clock.slowWalk ?? 0)) {
        clock.slowWalk = timer.delay;
      }
    }
    if (timer.every === undefined) {
      clock.timers.splice(clock.timers.indexOf(timer), 1);
      continue;
    }
    timer.due += timer.every;
    const limit = Math.min((minute + 1) * MINUTE, target + 1);
    if (timer.due < limit) {
      const skipped = Math.ceil((limit - timer.due) / timer.every);
      walks += skipped;
      timer.due += skipped * timer.every;
    }
  }
  age(clock, side, target - clock.now);
  clock.now = target;
  forgetAccess(clock.dir);
  return walks;
}

/**
 * Notes the file kept longest past its end, now, as the moment a timer fires (before it runs:
 * files are deleted by timers, so these are the moments they are oldest). A file that ended
 * before the app (re)started counts from the start: a reaper's first walk comes one interval
 * after it.
 */
function noteLate(clock: SideClock): string[] {
  const sinceStart = (clock.now - clock.started) / MINUTE;
  const files = readdirSync(clock.dir).filter((file) => file.endsWith(".json"));
  for (const file of files) {
    try {
      const { __lastAccess, cookie } = JSON.parse(readFileSync(join(clock.dir, file), "utf8")) as {
        __lastAccess?: unknown;
        cookie?: { originalMaxAge?: unknown };
      };
      if (typeof __lastAccess !== "number" || typeof cookie?.originalMaxAge !== "number") continue;
      const late = Math.min(
        (Date.now() - __lastAccess - cookie.originalMaxAge) / MINUTE,
        sinceStart,
      );
      if (late > GRACE + SLACK && late > (clock.late?.minutes ?? 0)) {
        clock.late = { minutes: quarter(late * MINUTE), at: quarter(clock.now) };
      }
    } catch {} // deleted meanwhile, or not JSON
  }
  forgetAccess(clock.dir);
  return files;
}

/** session-file-store logs a line each time it reaps: not the learner's output. */
function silencingStoreLog(fn: () => void): void {
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
    String(chunk).startsWith("[session-file-store]")
      ? true
      : (write as (...a: unknown[]) => boolean).call(
          process.stdout,
          chunk,
          ...rest,
        )) as typeof write;
  try {
    fn();
  } finally {
    process.stdout.write = write;
  }
}

// ---- The operator's view of a side's folder.

/** The session files (id → content), and what the request in flight listed or read. */
function look(clock: SideClock, probe: StoreProbe): Record<string, unknown> {
  const request = clock.request;
  if (request && statSync(clock.dir).atimeMs > LONG_AGO.getTime() + MINUTE) {
    probe.count("folder listed");
  }
  const files: Record<string, unknown> = {};
  const now = readdirSync(clock.dir);
  const gone = (request?.files ?? []).filter(
    (file) => !now.includes(file) && !request?.own.has(file.slice(0, -".json".length)),
  );
  if (gone.length > 0) probe.count(OTHERS_DELETED, gone.length);
  for (const file of now.sort()) {
    // A half-written file is no session: the reaper may delete it or leave it to its writer.
    if (!file.endsWith(".json") || file === `${TORN}.json`) continue;
    const id = file.slice(0, -".json".length);
    const path = join(clock.dir, file);
    try {
      const { atimeMs } = statSync(path);
      if (request && !request.own.has(id) && atimeMs > LONG_AGO.getTime() + MINUTE) {
        probe.count("other visitors' files read");
      }
      files[id] = JSON.parse(readFileSync(path, "utf8"));
    } catch {
      files[id] = "(unreadable)";
    }
  }
  forgetAccess(clock.dir);
  return files;
}

/** One session file as compared: its visits, and in how many minutes it ends (negative: ended). */
function sessionView(data: unknown): unknown {
  if (typeof data !== "object" || data === null) return data;
  const { visits, __lastAccess, cookie } = data as {
    visits?: unknown;
    __lastAccess?: unknown;
    cookie?: { originalMaxAge?: unknown };
  };
  const lifetime = cookie?.originalMaxAge;
  if (typeof __lastAccess !== "number" || typeof lifetime !== "number") {
    return { visits, endsIn: "(no lifetime in the file: the cookie has no maxAge)" };
  }
  return { visits, endsIn: quarter(__lastAccess + lifetime - Date.now()) };
}

// ---- What visitors do.

const who = fc.constantFrom(0, 0, 1, 2);
const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.record({ do: fc.constant("visit" as const), who }), weight: 5 },
  {
    arbitrary: fc.record({
      do: fc.constant("wait" as const),
      minutes: fc.constantFrom(21, 19, 26.5, 6, 5.25, 4.5, 12, 25.25, 1, 0.75, 61),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ do: fc.constant("forget" as const), who }), weight: 1 },
  {
    arbitrary: fc.record({ do: fc.constant("disk" as const), full: fc.constantFrom(true, false) }),
    weight: 1,
  },
  { arbitrary: fc.constant({ do: "restart" as const }), weight: 1 },
  // Only the script: a browser's cookie would end with the reference's, rolling or not.
  { arbitrary: fc.constant({ do: "asset" as const, who: SCRIPT }), weight: 1 },
);

function describe(a: Action): string {
  switch (a.do) {
    case "visit":
      return `${name(a.who)}${a.who === SCRIPT ? " (a script: it keeps its cookie past expiry)" : ""}: GET /`;
    case "asset":
      return `${name(a.who)}: GET /favicon.ico (a request that leaves the session unchanged)`;
    case "plant":
      return "another server on the same folder saves a session (its file's name sorts first)";
    case "torn":
      return "another server on the same folder crashes while writing a session file: a half-written file, which it deletes after the next walk of the folder";
    case "crowd":
      return `a busy hour: ${CROWD} visitors' live sessions are saved in the folder, the last requests ${a.atOnce ? "all at the same moment" : "10 seconds apart"}`;
    case "wait":
      return `${minutes(a.minutes)} pass`;
    case "forget":
      return `${name(a.who)} clears its cookies (its session's file is left to the reaper)`;
    case "disk":
      return a.full
        ? "the disk is full: the store fails to write a session file"
        : "the disk has room again";
    case "restart":
      return "the server restarts (a new version deployed): a new process, the same folder";
  }
}

const NO_ANSWER = { text: "", header: () => undefined, setCookies: [] };

async function perform(a: Action, side: Side): Promise<Answer | undefined> {
  const clock = clockOf(side);
  switch (a.do) {
    case "disk":
      (side.probe as DiskProbe).full = a.full;
      return undefined;
    case "restart":
      clock.request = undefined;
      restarts.get(side)?.();
      // Not a request: the operator looks at the folder once the new process has started.
      return { status: 200, ...NO_ANSWER };
    case "forget":
      side.visitors[a.who]?.cookies.delete(COOKIE_NAME);
      clock.cookieExpires[a.who] = undefined;
      return undefined;
    case "wait": {
      clock.request = undefined;
      const walks = await pass(side, a.minutes * MINUTE);
      if (walks > 0) side.probe.count("folder walks", walks);
      if (clock.late) side.probe.count(LATE);
      if (clock.slowWalk) side.probe.count(SLOW_WALK);
      // Not a request: the operator looks at the folder once the time has passed.
      return { status: 200, ...NO_ANSWER };
    }
    case "torn": {
      const half = JSON.stringify({ cookie: { originalMaxAge: LIFETIME * MINUTE }, visits: 1 });
      writeFileSync(join(clock.dir, `${TORN}.json`), half.slice(0, half.length / 2));
      clock.torn = true;
      clock.hadTorn = true;
      forgetAccess(clock.dir);
      // Not a request: the operator looks at the folder once the file is written.
      return { status: 200, ...NO_ANSWER };
    }
    case "plant":
    case "crowd": {
      const now = Date.now();
      const stored = (last: number) => ({
        cookie: {
          originalMaxAge: LIFETIME * MINUTE,
          expires: new Date(last + LIFETIME * MINUTE).toISOString(),
          secure: false,
          httpOnly: true,
          path: "/",
          sameSite: "lax",
        },
        visits: 1,
        __lastAccess: last,
      });
      if (a.do === "plant") {
        writeFileSync(join(clock.dir, `${PLANTED}.json`), JSON.stringify(stored(now)));
      }
      for (let i = 0; a.do === "crowd" && i < CROWD; i++) {
        const id = `crowd-${String(i).padStart(2, "0")}`.padEnd(32, "x");
        writeFileSync(
          join(clock.dir, `${id}.json`),
          JSON.stringify(stored(now - (a.atOnce ? 0 : i * 10_000))),
        );
      }
      forgetAccess(clock.dir);
      // Not a request: the operator looks at the folder once the file is written.
      return { status: 200, ...NO_ANSWER };
    }
    case "asset":
    case "visit": {
      const visitor = side.visitors[a.who];
      if (!visitor) return undefined;
      const before = idIn(visitor.cookie(COOKIE_NAME));
      const last = clock.lastRequest[a.who];
      clock.request = {
        own: new Set(before ? [before] : []),
        idle: last === undefined ? undefined : (clock.now - last) / MINUTE,
        files: readdirSync(clock.dir).filter(
          (file) => file.endsWith(".json") && file !== `${TORN}.json`,
        ),
      };
      forgetAccess(clock.dir); // the listing above is the check's, not the request's
      clock.lastRequest[a.who] = clock.now;
      // After a failed write, express-session closes the connection once it has answered: a
      // request on a full disk asks for a connection of its own, not to be reused.
      const full = (side.probe as DiskProbe).full;
      const path = a.do === "visit" ? "/" : "/favicon.ico";
      const answer = await visitor.send("GET", path, full ? CLOSE : JSON_CLIENT);
      const after = idIn(visitor.cookie(COOKIE_NAME));
      if (after) clock.request.own.add(after);
      for (const line of answer.setCookies) {
        const cookie = cookieView(line);
        if (cookie.name !== COOKIE_NAME) continue;
        clock.cookieExpires[a.who] =
          typeof cookie.expiresIn === "number" ? Date.now() + cookie.expiresIn * MINUTE : undefined;
      }
      return answer;
    }
  }
}

function body(a: Action, answer: Answer, side: Side): unknown {
  if (a.do !== "visit") return "";
  if (answer.status >= 400) return "(an error)";
  // A repeating timer (an interval, or a timeout set by a timer's run: a chain), or a long one,
  // that keeps the process alive: a graceful shutdown waits for it (for ever, for a repeating one).
  if (
    clockOf(side).timers.some(
      (t) => (t.every !== undefined || t.chained || t.delay > REF_AT_MOST) && t.handle.hasRef(),
    )
  )
    return "(a timer keeps the process alive)";
  try {
    const json = JSON.parse(answer.text) as { visits: number; sessionId: string };
    return {
      visits: json.visits,
      session: side.labels.get(json.sessionId) ?? "(a session not on disk)",
    };
  } catch {
    return answer.text.slice(0, 60);
  }
}

/** One Set-Cookie line as compared: its expiry in minutes from now. */
function cookieView(line: string) {
  const { pair, attributes } = setCookieParts(line);
  const maxAge = attributes.get("max-age");
  const expires = attributes.get("expires");
  const ms =
    maxAge !== undefined
      ? Number(maxAge) * 1000
      : expires !== undefined
        ? Date.parse(expires) - Date.now()
        : undefined;
  return {
    name: pair.slice(0, pair.indexOf("=")),
    expiresIn: ms === undefined ? "(no expiry: it lives until the browser closes)" : quarter(ms),
    httpOnly: attributes.has("httponly"),
    path: attributes.get("path") ?? "(none)",
  };
}

// ---- Rules: what is wrong at a step where your app and the reference differ, in words.
type S = Step<Action>;
const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
type FileView = { visits?: unknown; endsIn?: unknown };
const endsIn = (store: Record<string, unknown>, label: string) =>
  (store[label] as FileView | undefined)?.endsIn;
/** What the rules know of your side beyond the step: its observation before the allowed differences, its timers at start. */
interface Memo {
  raw: Observation | undefined;
  timers: number;
  /** Your side's clock in the scenario under way. */
  clock?: SideClock;
}

function statusRule({ action: a, yours: y, reference: r }: S) {
  if (y.status === r.status) return undefined;
  if (r.status >= 500 && y.status < 400) {
    return `claimed success though the disk refused the write: GET / answered ${y.status} while the store could not save the visit (the reference answers ${r.status}); the visitor must learn that nothing was kept`;
  }
  return `${describe(a)} answered ${y.status} where ${r.status} was expected`;
}

function cookieRule({ yours: y, reference: r }: S) {
  if (same(y.cookies, r.cookies)) return undefined;
  type C = ReturnType<typeof cookieView>;
  const mine = (y.cookies as C[]).find((c) => c.name === COOKIE_NAME);
  const theirs = (r.cookies as C[]).find((c) => c.name === COOKIE_NAME);
  if (mine && theirs && mine.expiresIn !== theirs.expiresIn) {
    if (typeof mine.expiresIn !== "number") {
      return `the cookie has no expiry: it lives until the browser closes, whatever the file does (the policy: it expires ${LIFETIME} minutes after the visit)`;
    }
    return `the cookie lives longer or shorter than the policy: it expires ${minutes(mine.expiresIn)} after the visit, not ${LIFETIME}`;
  }
  return `GET / sets cookies differently: ${JSON.stringify(y.cookies)} where ${JSON.stringify(r.cookies)} was expected`;
}

function bodyRule({ action: a, yours: y, reference: r, referenceSide }: S) {
  if (a.do !== "visit" || same(y.body, r.body) || y.status !== r.status) return undefined;
  if (y.body === "(a timer keeps the process alive)")
    return "a timer of yours keeps the process alive: a repeating timer (an interval, or a timeout that sets the next one), or a timeout set minutes ahead, holds Node's event loop open, so a graceful shutdown (SIGTERM, Ctrl-C) waits for it (for ever, for a repeating one); unref() it (the reaper's own timer is unref()ed), or clear it when the server closes";
  const mine = y.body as { visits?: number };
  const theirs = r.body as { visits?: number };
  const idle = clockOf(referenceSide).request?.idle;
  const since = idle === undefined ? "" : ` (${minutes(idle)} after its last request)`;
  if (theirs.visits === 1 && (mine.visits ?? 0) > 1) {
    const script =
      a.who === SCRIPT && idle !== undefined && idle > LIFETIME
        ? ` (${name(a.who)} is a script that sent its cookie after it expired, as curl or a stolen cookie does: the file, still on disk until it is reaped, must not be served)`
        : "";
    return `a session outlives the policy: ${name(a.who)}'s session was still served${since}; it ends ${LIFETIME} minutes after the last request${script}`;
  }
  if (mine.visits === 1 && (theirs.visits ?? 0) > 1) {
    return `a session ended less than ${LIFETIME} minutes after the visitor's last request: ${name(a.who)} got a new session${since}`;
  }
  return `GET / answered ${JSON.stringify(y.body)} where ${JSON.stringify(r.body)} was expected`;
}

const storeRule =
  (memo: Memo) =>
  ({ action: a, yours: y, reference: r, owners, referenceSide }: S) => {
    const said: string[] = [];
    const raw = memo.raw?.store ?? y.store;
    const whose = (label: string) => `${owners.get(label) || "a visitor"}'s session (${label})`;
    for (const label of Object.keys(y.store)) {
      if (label in r.store) continue;
      const ends = endsIn(y.store, label);
      if (typeof ends === "number" && ends < 0) {
        const never = clockOf(referenceSide).timers.length > 0 && memo.timers === 0;
        said.push(
          `${never ? "expired files are never deleted: nothing the app schedules deletes them; " : ""}${memo.clock?.hadTorn ? STUCK : ""}expired files stay on disk too long: the file of ${whose(label)} is still there ${minutes(-ends)} after the session ended (the policy: gone within ${GRACE} minutes)`,
        );
      } else {
        said.push(
          `a session outlives the policy: the file of ${whose(label)} still holds a live session, ending in ${typeof ends === "number" ? minutes(ends) : "(unknown)"}, where the reference's has ended`,
        );
      }
    }
    for (const label of Object.keys(r.store)) {
      if (label in y.store) continue;
      const ends = endsIn(raw, label);
      said.push(
        typeof ends === "number" && ends <= SLACK
          ? `a session ended less than ${LIFETIME} minutes after the visitor's last request: the file of ${whose(label)} ended ${minutes(-ends)} ago, where the reference's ends in ${minutes(Number(endsIn(r.store, label)))}`
          : `the file of a live session was deleted: ${whose(label)} ends in ${minutes(Number(endsIn(r.store, label)))}, and its file is gone`,
      );
    }
    for (const label of Object.keys(r.store)) {
      if (!(label in y.store) || same(y.store[label], r.store[label])) continue;
      const mine = y.store[label] as FileView;
      const theirs = r.store[label] as FileView;
      if (
        a.do === "asset" &&
        typeof mine.endsIn === "number" &&
        typeof theirs.endsIn === "number" &&
        mine.endsIn < theirs.endsIn
      ) {
        said.push(
          `a request that leaves the session unchanged did not count: after ${describe(a)}, the file of ${whose(label)} still ends in ${minutes(mine.endsIn)}, where a session ends ${LIFETIME} minutes after the visitor's last request, whatever the request (a cookie re-sent for ${LIFETIME} minutes would outlive the file)`,
        );
        continue;
      }
      said.push(
        mine.endsIn !== theirs.endsIn
          ? `the file of ${whose(label)} says it ends in ${typeof mine.endsIn === "number" ? minutes(mine.endsIn) : mine.endsIn}, where the policy says ${minutes(Number(theirs.endsIn))}`
          : `the file of ${whose(label)} holds ${JSON.stringify(mine)} where ${JSON.stringify(theirs)} was expected`,
      );
    }
    return said.join("\n") || undefined;
  };

const trafficRule =
  (memo: Memo) =>
  ({ action: a, yours: y, reference: r }: S) => {
    const said: string[] = [];
    const count = (o: Observation, op: string) => o.traffic[op] ?? 0;
    const more = (op: string) => count(y, op) > count(r, op);
    const route =
      a.do === "wait"
        ? `while ${describe(a)}, your app`
        : a.do === "visit"
          ? "GET /"
          : a.do === "asset"
            ? "GET /favicon.ico"
            : `after "${describe(a)}", your app`;
    const late = memo.clock?.late;
    if (a.do === "wait" && more(LATE) && late) {
      said.push(
        `${memo.clock?.hadTorn ? STUCK : ""}expired files stay on disk too long: ${minutes(late.at)} into the scenario, as a timer of yours fired, the file of an ended session had been on disk ${minutes(late.minutes)} since its end (the policy: gone within ${GRACE} minutes, so a reaper that reads every file runs at least every ${GRACE} minutes)`,
      );
    }
    if (a.do === "wait" && more(SLOW_WALK) && memo.clock?.slowWalk) {
      const delay = memo.clock.slowWalk;
      said.push(
        `expired files stay on disk too long: a timer of yours walked the folder ${Math.round(delay / 1000)} seconds (${quarter(delay)} minutes) after it was set, so the file of a session that ends just after one walk stays that long past its end (the policy: gone within ${GRACE} minutes, so the folder is walked at least every ${GRACE} minutes)`,
      );
    }
    if (a.do === "wait" && count(y, "folder walks") > 0) {
      said.push(
        `the reaper walks the whole folder too often: ${count(y, "folder walks")} times in ${minutes(a.minutes)} (the policy: at most once a minute, since each walk reads every file)`,
      );
    }
    if (a.do === "wait" && more("clear")) {
      said.push(
        `${route} emptied the whole store (clear): the live sessions go with the ended ones`,
      );
    }
    const listed = more("folder listed") || more("length") || more("all");
    const others = more("other visitors' files read");
    const deleted = more(OTHERS_DELETED);
    if (a.do !== "wait" && (listed || others || deleted)) {
      const what = [
        listed ? "listed the folder" : "",
        others ? `read ${count(y, "other visitors' files read")} other visitors' files` : "",
        deleted ? `deleted ${count(y, OTHERS_DELETED)} other visitors' files` : "",
      ];
      said.push(
        `${listed || others ? "read every session file to answer one visitor" : "a request deleted other visitors' files"}: ${route} ${what.filter(Boolean).join(" and ")}; deleting ended sessions is the reaper's job, on its own timer, not every request's`,
      );
    }
    if (said.length > 0) return said.join("\n");
    const ops = new Set([...Object.keys(y.traffic), ...Object.keys(r.traffic)]);
    for (const op of ops) {
      if (count(y, op) !== count(r, op)) {
        said.push(
          `${route} called the store's ${op} ${count(y, op)} times where ${count(r, op)} were expected`,
        );
      }
    }
    return said.join("\n") || undefined;
  };

/** The folder under which each side of each scenario gets its own. */
function folders(after: (fn: () => unknown) => void): string {
  // In memory where the system offers it: on a disk, each write's fsync costs milliseconds.
  const root = mkdtempSync(
    join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "workshop-check-02-"),
  );
  after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

function model(module: Module, root: string, examples: Action[][]): Model<Action> {
  let scenarios = 0;
  const memo: Memo = { raw: undefined, timers: 0 };
  /** A folder of the side's own, and the clock that goes with it. */
  const probe = (sideName: Side["name"]) => {
    const dir = join(root, `${sideName}-${++scenarios}`);
    mkdirSync(dir);
    const clock: SideClock = {
      dir,
      now: 0,
      timers: [],
      cookieExpires: [],
      lastRequest: [],
      started: 0,
      late: undefined,
      slowWalk: undefined,
      torn: false,
      hadTorn: false,
      request: undefined,
    };
    if (sideName === "yours") memo.clock = clock;
    const storeProbe: DiskProbe = new DiskProbe(async () => look(clock, storeProbe));
    clocks.set(storeProbe, clock);
    return storeProbe;
  };
  const start = (side: Side, create: (dir: string) => Express) => {
    const clock = clockOf(side);
    side.after(() => rmSync(clock.dir, { recursive: true, force: true }));
    const build = () => catchTimers(clock, side, () => onClockBehind(() => create(clock.dir)));
    let app = build();
    forgetAccess(clock.dir); // from now on, the folder's access time shows a request's listing
    if (side.name === "yours") memo.timers = clock.timers.length;
    // A restart: the old process's timers die with it; the new one starts on the same folder.
    restarts.set(side, () => {
      for (const timer of clock.timers.splice(0)) clearTimeout(timer.handle);
      clock.started = clock.now;
      app = build();
      forgetAccess(clock.dir);
    });
    return express().use((req, res, next) => app(req, res, next));
  };
  return {
    visitors: VISITORS,
    action,
    examples,
    describe,
    actor: (a) => ("who" in a ? a.who : undefined),
    perform,
    body,
    cookie: cookieView,
    session: sessionView,
    allowed: [
      {
        // Kept for the rules' words: what your app did before anything was allowed.
        name: "(none: the raw observation is kept)",
        apply: (o, _a, side) => {
          if (side.name === "yours") memo.raw = o;
          return o;
        },
      },
      {
        name: `deleting an ended session's file at any time within ${GRACE} minutes after its end`,
        apply: (o) => ({
          ...o,
          store: Object.fromEntries(
            Object.entries(o.store).filter(([, view]) => {
              const ends = (view as FileView).endsIn;
              return !(typeof ends === "number" && ends <= SLACK && ends >= -GRACE - SLACK);
            }),
          ),
        }),
      },
      {
        name: "reaping at any pace from once every 5 minutes to once a minute",
        apply: (o, a) => {
          const { "folder walks": walks = 0, ...traffic } = o.traffic;
          const allowed = a.do === "wait" ? Math.max(1, Math.ceil(a.minutes)) : 0;
          return {
            ...o,
            traffic: walks > allowed ? { ...traffic, "folder walks": walks } : traffic,
          };
        },
      },
      {
        name: `on a request that leaves the session unchanged: re-sending the cookie for ${LIFETIME} minutes (rolling) or not, and moving the file's end by touch or by writing it again (set), answering before that is done`,
        apply: (o, a) => {
          if (a.do !== "asset") return o;
          const { touch = 0, set = 0, ...traffic } = o.traffic;
          type C = ReturnType<typeof cookieView>;
          return {
            ...o,
            cookies: (o.cookies as C[]).filter(
              (c) => !(c.name === COOKIE_NAME && c.expiresIn === LIFETIME),
            ),
            traffic: touch + set > 0 ? { ...traffic, "touch or set": touch + set } : traffic,
            // Nothing changed in the session: a 404 sent before its unchanged copy is saved is
            // no promise broken.
            early: false,
          };
        },
      },
      {
        name: "reading the visitor's own session (get), deleting an ended one (destroy)",
        apply: (o) => {
          const { get: _get, destroy: _destroy, ...traffic } = o.traffic;
          return { ...o, traffic };
        },
      },
      {
        name: "any 5xx, with any cookies, when the store fails",
        apply: (o) => (o.status >= 500 ? { ...o, status: 500, cookies: [] } : o),
      },
    ],
    rules: [statusRule, cookieRule, bodyRule, storeRule(memo), trafficRule(memo)],
    probe,
    createApp: (side) => start(side, (dir) => module.createApp(dir)),
    createReference: (side) => start(side, (dir) => reference.createApp(dir)),
  };
}

const A = 0;
const B = 1;
const C = 2;
const visit = (who: number): Action => ({ do: "visit", who });
const wait = (minutes: number): Action => ({ do: "wait", minutes });

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "sessions end 20 minutes after the last request, and their files are gone within 5 minutes, reaped at most once a minute, for any visitors and waits",
      timeoutMs: 30_000,
      run: ({ module, after }) => {
        keepTimers();
        return differential(
          model(module, folders(after), [
            // A session's life: on at 19 minutes, over at 21.
            [visit(A), visit(A), wait(19), visit(A), wait(21), visit(A)],
            // The pace of reaping, in a few quiet minutes.
            [visit(A), wait(4.5)],
            // Several visitors who never come back: every ended file must go.
            [visit(A), visit(B), visit(C), wait(26.5), visit(B)],
            // A regular: its file must stay while the session lives.
            [visit(A), wait(6), visit(A), wait(12), visit(A)],
            // Files that end just after a reaping, at several moments.
            [wait(1), visit(A), wait(26.5)],
            [wait(4.5), visit(A), wait(25.25)],
            [visit(A), wait(26.5), visit(B), wait(26.5), visit(A)],
            // Files that end a little after a reaping every 5.5 or 6 minutes would look.
            [wait(2.25), visit(A), wait(1.75), visit(B), wait(26.5)],
            // A live file that comes first in the folder: the ended ones after it still go.
            [visit(A), wait(19), { do: "plant" }, wait(7.5)],
            // A half-written file at the first walk: the walks after it still delete ended files.
            [visit(A), { do: "torn" }, wait(26.5)],
            // A busy hour: many live files, and none may go before its session ends.
            [{ do: "crowd" }, wait(5.25)],
            // The busy hour over: every one of its files must go, however many.
            [{ do: "crowd", atOnce: true }, wait(26.5)],
            // An ended file, and another visitor's request: the reaper deletes it, not the request.
            [wait(1), visit(A), visit(A), wait(21.5), visit(B)],
            // A script keeps its cookie: a request that changes nothing still counts, and an
            // ended session is not served again, though its file is still on disk.
            [visit(C), wait(10), { do: "asset", who: C }, wait(16), visit(C), wait(21), visit(C)],
            // A restart: live sessions go on; files that ended before it still go in time.
            [visit(A), wait(12), visit(B), { do: "restart" }, wait(15), visit(B)],
            // A full disk: the visit is not kept, and the visitor must learn it.
            [{ do: "disk", full: true }, visit(A)],
            // A browser's request that changes nothing is a request too: the cookie lives on
            // with the file, 20 minutes from it.
            [visit(A), wait(12), { do: "asset", who: A }, wait(12), visit(A)],
          ]),
          { runs: 20, maxActions: 7, shrinkTries: 30 },
        );
      },
    },
  ],
});
