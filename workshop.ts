/**
 * The workshop's manifest: the one list of its steps, in order. Everything that needs to know
 * which steps, exercises, decks and walkthroughs exist reads it from here: `npm run step`,
 * `npm run check`, `npm run diff:step`, the bench, the tests, and the completeness test
 * (test/workshop.test.ts) that fails when a file a step declares is missing, or when a file in
 * these folders belongs to no step. CONTRIBUTING.md says how to add a step.
 *
 * This file imports nothing: every part of the workshop may import it.
 */

/** A server a step needs, found or started by lib/services. */
export type Service = "redis" | "mongo";

export interface Step {
  /** 3 for steps/03-redis-store: what `npm run step -- 3` takes. */
  readonly number: number;
  /** The folder's name under steps/: "03-redis-store". */
  readonly slug: string;
  readonly title: string;
  /** One line: what the step teaches (README's table, the step's page). */
  readonly lesson: string;
  /** The step whose code this one changes: `npm run diff:step -- N` compares with it. */
  readonly buildsOn?: number;
  /** The name the step gives its store, on the page and in the JSON (`"store": "redis"`). */
  readonly store: string;
  /** What happens to the count when the server restarts. */
  readonly afterRestart: string;
  readonly services: readonly Service[];
  /** The exercise's folder under exercises/ and solutions/: "03-move-to-redis". */
  readonly exercise: string;
  /**
   * Hints for the exercise, shown one at a time by `npm run hint -- N`, from a nudge to the
   * near-answer. Kept here, not in the learner's folder, so that they are not all read at once.
   */
  readonly hints: readonly string[];
  /** The deck under slides/: "03-redis-store.md". */
  readonly deck: string;
  /** Walkthroughs under scripts/redis-cli/, without ".redis", that replay against this step. */
  readonly walkthroughs: readonly string[];
  /** Pages of the step besides `/`, linked from the bar at the top of every page. */
  readonly pages?: readonly { readonly path: string; readonly label: string }[];
}

export const steps = [
  {
    number: 1,
    slug: "01-memory-store",
    title: "MemoryStore",
    lesson: "what a session is; the default store",
    store: "memory",
    afterRestart: "count back to 1",
    services: [],
    exercise: "01-reset-and-greet",
    hints: [],
    deck: "01-memory-store.md",
    walkthroughs: [],
  },
  {
    number: 2,
    slug: "02-file-store",
    title: "FileStore",
    lesson: "sessions on disk: ttl, retries, reaping",
    buildsOn: 1,
    store: "file",
    afterRestart: "count goes on",
    services: [],
    exercise: "02-expire-and-reap",
    hints: [],
    deck: "02-file-store.md",
    walkthroughs: [],
  },
  {
    number: 3,
    slug: "03-redis-store",
    title: "Redis",
    lesson: "connect-redis, keys, TTLs, outages",
    buildsOn: 2,
    store: "redis",
    afterRestart: "count goes on",
    services: ["redis"],
    exercise: "03-move-to-redis",
    hints: [],
    deck: "03-redis-store.md",
    walkthroughs: [
      "01-first-look",
      "02-expiry",
      "03-life-of-a-session",
      "04-memory-and-persistence",
    ],
  },
  {
    number: 4,
    slug: "04-mongo-store",
    title: "MongoDB",
    lesson: "connect-mongo, TTL index, touchAfter",
    buildsOn: 3,
    store: "mongo",
    afterRestart: "count goes on",
    services: ["mongo"],
    exercise: "04-fewer-writes",
    hints: [],
    deck: "04-mongo-store.md",
    walkthroughs: [],
  },
  {
    number: 5,
    slug: "05-login-logout",
    title: "Login & logout",
    lesson: "regenerate, destroy, timeouts, secrets",
    buildsOn: 3,
    store: "redis",
    afterRestart: "still logged in",
    services: ["redis"],
    exercise: "05-login-session",
    hints: [],
    deck: "05-login-logout.md",
    walkthroughs: ["05-login-logout"],
    pages: [{ path: "/login", label: "Log in or register" }],
  },
  {
    number: 6,
    slug: "06-scale-out",
    title: "Scale out",
    lesson: "several processes, one store; benchmark",
    buildsOn: 3,
    store: "redis",
    afterRestart: "count goes on",
    services: ["redis"],
    exercise: "06-behind-the-balancer",
    hints: [],
    deck: "06-scale-out.md",
    walkthroughs: ["06-scale-out"],
  },
  {
    number: 7,
    slug: "07-own-store",
    title: "Your own store",
    lesson: "the Store contract, written by hand",
    buildsOn: 3,
    store: "own",
    afterRestart: "count goes on",
    services: ["redis"],
    exercise: "07-own-store",
    hints: [],
    deck: "07-own-store.md",
    walkthroughs: ["07-own-store"],
  },
  {
    number: 8,
    slug: "08-concurrent-requests",
    title: "Many requests at once",
    lesson: "lost updates; atomic counters beside the session",
    buildsOn: 3,
    store: "redis",
    afterRestart: "count goes on",
    services: ["redis"],
    exercise: "08-download-quota",
    hints: [
      "Requests sent together each load the session before any of them saves it: whatever they read there is already old. Which part of the system can count for all of them at once?",
      "Redis runs one command at a time. INCR on a key of this visitor's own (derived from req.sessionID) adds one and answers the new count in the same step: compare that answer with the quota.",
      "The window starts at the first download: give the key its time to live only when it has none (EXPIRE key seconds NX, or SET key 0 EX seconds NX before the INCR). Inside a MULTI, both commands go together.",
      "Retry-After is the key's time to live, in whole seconds: PTTL answers milliseconds; round up.",
    ],
    deck: "08-concurrent-requests.md",
    walkthroughs: ["08-concurrent-requests"],
  },
] as const satisfies readonly Step[];

/** The name a step gives its store: "memory" | "file" | "redis" | "mongo" | "own" | … */
export type StoreName = (typeof steps)[number]["store"];

/** The deck that opens the day, before step 1. */
export const openingDeck = "00-opening.md";

/** The step numbered N, or undefined. */
export function stepNumbered(n: number): Step | undefined {
  return steps.find((step) => step.number === n);
}

/** The step whose exercise folder is NAME ("03-move-to-redis"), or undefined. */
export function stepOfExercise(name: string): Step | undefined {
  return steps.find((step) => step.exercise === name);
}
