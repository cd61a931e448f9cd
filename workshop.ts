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
export type Service = "redis" | "mongo" | "postgres" | "redis-sentinel";

export interface Step {
  /** 3 for steps/03-redis-store: what `npm run step -- 3` takes. */
  readonly number: number;
  /** The folder's name under steps/: "03-redis-store". */
  readonly slug: string;
  readonly title: string;
  /**
   * The step's time box in the day, in minutes: talk, demos and exercise together. The opening
   * deck's agendas (a full day, a half day) are made from these by `npm run manifest:sync`, and
   * the step's deck says the same on its title slide.
   */
  readonly minutes: number;
  /** One line: what the step teaches (README's table, the step's page). */
  readonly lesson: string;
  /** The step whose code this one changes: `npm run diff:step -- N` compares with it. */
  readonly buildsOn?: number;
  /** The name the step gives its store, on the page and in the JSON (`"store": "redis"`). */
  readonly store: string;
  /** What happens to the count when the server restarts. */
  readonly afterRestart: string;
  readonly services: readonly Service[];
  /**
   * The exercise's folder under exercises/: "03-move-to-redis". It holds the task (README.md),
   * starter/, solution/, check.ts, hints.md and kept answers (lib/exercises.ts).
   */
  readonly exercise: string;
  /** The exercise's title, without its number: the list in exercises/README.md shows it. */
  readonly exerciseTitle: string;
  /** The deck under slides/: "03-redis-store.md". */
  readonly deck: string;
  /** One line: what the deck covers (the list in slides/README.md). */
  readonly deckCovers: string;
  /** Walkthroughs under scripts/redis-cli/, without ".redis", that replay against this step. */
  readonly walkthroughs: readonly string[];
  /**
   * Files of the step that are given ready-made, not its lesson (step 05's users table and
   * routes): `npm run diff:step` names them instead of showing them, and the README says so.
   */
  readonly readyMade?: readonly string[];
  /** Pages of the step besides `/`, linked from the bar at the top of every page. */
  readonly pages?: readonly { readonly path: string; readonly label: string }[];
  /**
   * The buttons of the workshop page (`npm start`) that show this step's lesson on its running
   * app: a burst of 20 requests, killing the Redis primary, freezing the store for seconds.
   */
  readonly demos?: readonly Demo[];
}

/** A lesson shown on a running step by a button of the workshop page (scripts/start/demos.ts). */
export type Demo = "burst" | "kill-primary" | "freeze";

export const steps = [
  {
    number: 1,
    slug: "01-memory-store",
    title: "MemoryStore",
    minutes: 30,
    lesson: "what a session is; the default store",
    store: "memory",
    afterRestart: "count back to 1",
    services: [],
    exercise: "01-reset-and-greet",
    exerciseTitle: "Greet a newcomer, forget a visitor",
    deck: "01-memory-store.md",
    deckCovers: "express-session and MemoryStore: its three limits, the leak measured",
    walkthroughs: [],
  },
  {
    number: 2,
    slug: "02-file-store",
    title: "FileStore",
    minutes: 35,
    lesson: "sessions on disk: ttl, retries, reaping",
    buildsOn: 1,
    store: "file",
    afterRestart: "count goes on",
    services: [],
    exercise: "02-expire-and-reap",
    exerciseTitle: "Sessions that end on time, files that go away",
    deck: "02-file-store.md",
    deckCovers: "session-file-store: path, ttl, retries, reaping, and its pitfalls",
    walkthroughs: [],
  },
  {
    number: 3,
    slug: "03-redis-store",
    title: "Redis",
    minutes: 60,
    lesson: "connect-redis, keys, TTLs, outages",
    buildsOn: 2,
    store: "redis",
    afterRestart: "count goes on",
    services: ["redis"],
    exercise: "03-move-to-redis",
    exerciseTitle: "Move the sessions to a shared Redis",
    deck: "03-redis-store.md",
    deckCovers: "connect-redis and node-redis: TTLs, memory policies, persistence, outages, TLS",
    walkthroughs: [
      "01-first-look",
      "02-expiry",
      "03-life-of-a-session",
      "04-memory-and-persistence",
    ],
    demos: ["freeze"],
  },
  {
    number: 4,
    slug: "04-mongo-store",
    title: "MongoDB",
    minutes: 35,
    lesson: "connect-mongo, TTL index, touchAfter",
    buildsOn: 3,
    store: "mongo",
    afterRestart: "count goes on",
    services: ["mongo"],
    exercise: "04-fewer-writes",
    exerciseTitle: "Fewer writes to MongoDB",
    deck: "04-mongo-store.md",
    deckCovers: "connect-mongo: documents, the TTL index, touchAfter, Atlas",
    walkthroughs: [],
    demos: ["freeze"],
  },
  {
    number: 5,
    slug: "05-login-logout",
    title: "Login & logout",
    minutes: 60,
    lesson: "regenerate, destroy, timeouts, secrets; users in PostgreSQL",
    buildsOn: 3,
    readyMade: [
      "auth-routes.ts",
      "credentials.ts",
      "login-limits.ts",
      "statuses.ts",
      "tables.ts",
      "users.ts",
    ],
    store: "redis",
    afterRestart: "still logged in",
    services: ["redis", "postgres"],
    exercise: "05-login-session",
    exerciseTitle: "Confirm your password: a new privilege, a new session id",
    deck: "05-login-logout.md",
    deckCovers:
      "regenerate, destroy, two timeouts, logout by POST, OWASP checklist; users in PostgreSQL: one pool, parameters, the unique constraint",
    walkthroughs: ["05-login-logout"],
    pages: [{ path: "/login", label: "Account" }],
  },
  {
    number: 6,
    slug: "06-scale-out",
    title: "Scale out",
    minutes: 35,
    lesson: "several processes, one store; benchmark",
    buildsOn: 3,
    store: "redis",
    afterRestart: "count goes on",
    services: ["redis"],
    exercise: "06-behind-the-balancer",
    exerciseTitle: "Behind a CDN and a load balancer",
    deck: "06-scale-out.md",
    deckCovers: "several processes, one store; trust proxy; Sentinel, Cluster; the benchmark",
    walkthroughs: ["06-scale-out"],
  },
  {
    number: 7,
    slug: "07-own-store",
    title: "Your own store",
    minutes: 40,
    lesson: "the Store contract, written by hand",
    buildsOn: 3,
    store: "own",
    afterRestart: "count goes on",
    services: ["redis"],
    exercise: "07-own-store",
    exerciseTitle: "Every session, a page at a time",
    deck: "07-own-store.md",
    deckCovers: "the Store contract, written by hand; what the conformance suite found",
    walkthroughs: ["07-own-store"],
  },
  {
    number: 8,
    slug: "08-concurrent-requests",
    title: "Many requests at once",
    minutes: 35,
    lesson: "lost updates; atomic counters beside the session",
    buildsOn: 3,
    store: "redis",
    afterRestart: "count goes on",
    services: ["redis"],
    exercise: "08-download-quota",
    exerciseTitle: "A download quota that holds under a burst",
    deck: "08-concurrent-requests.md",
    deckCovers: "lost updates: one browser, many requests; atomic counters beside the session",
    walkthroughs: ["08-concurrent-requests"],
    demos: ["burst"],
  },
  {
    number: 9,
    slug: "09-failover",
    title: "When Redis fails over",
    minutes: 35,
    lesson: "a primary, a replica, three sentinels; a deadline",
    buildsOn: 3,
    store: "redis",
    afterRestart: "count goes on",
    services: ["redis-sentinel"],
    exercise: "09-survive-a-failover",
    exerciseTitle: "Stay in rotation through a failover",
    deck: "09-failover.md",
    deckCovers:
      "Sentinel: a failover measured, a deadline around the store; WAIT; Cluster's CROSSSLOT",
    walkthroughs: ["09-failover"],
    demos: ["kill-primary"],
  },
  {
    number: 10,
    slug: "10-postgres-store",
    title: "All in PostgreSQL",
    minutes: 40,
    lesson: "sessions beside the users: one database, one pool",
    buildsOn: 5,
    store: "postgres",
    afterRestart: "still logged in",
    services: ["postgres"],
    exercise: "10-users-in-sql",
    exerciseTitle: "A new password ends the other sessions",
    deck: "10-postgres-store.md",
    deckCovers:
      "sessions in PostgreSQL beside the users: one pool, the table, pruning, the race of createTableIfMissing; which store for which app",
    walkthroughs: ["10-postgres-store"],
    pages: [{ path: "/login", label: "Account" }],
    demos: ["freeze"],
  },
  {
    number: 11,
    slug: "11-my-sessions",
    title: "My sessions",
    minutes: 40,
    lesson: "a user's sessions: listed, ended, revoked for good",
    buildsOn: 5,
    readyMade: ["device-label.ts", "listing-cost.ts", "my-sessions.ts", "password.ts"],
    store: "redis",
    afterRestart: "still logged in",
    services: ["redis", "postgres"],
    exercise: "11-at-most-three-devices",
    exerciseTitle: "At most three devices",
    deck: "11-my-sessions.md",
    deckCovers:
      "a per-user index (Redis sorted set, PostgreSQL query and index); handles, never ids; a revocation mark against in-flight writes",
    walkthroughs: ["11-my-sessions"],
    pages: [
      { path: "/login", label: "Account" },
      { path: "/sessions", label: "My sessions" },
    ],
  },
  {
    number: 12,
    slug: "12-https-and-cross-site",
    title: "Behind HTTPS and across sites",
    minutes: 40,
    lesson: "behind HTTPS: trust proxy, __Host-; another site's frontend: CORS, CSRF",
    buildsOn: 5,
    readyMade: ["frontend.html", "frontend.ts"],
    store: "redis",
    afterRestart: "still logged in",
    services: ["redis", "postgres"],
    exercise: "12-cross-site-api",
    exerciseTitle: "Let the partners in, keep the look-alikes out",
    deck: "12-https-and-cross-site.md",
    deckCovers:
      "TLS ends at the proxy: trust proxy, Secure, __Host-; another site's frontend: CORS with credentials, SameSite=None, Fetch Metadata; partitioned cookies",
    walkthroughs: ["12-https-and-cross-site"],
    pages: [{ path: "/login", label: "Account" }],
  },
] as const satisfies readonly Step[];

/** The name a step gives its store: "memory" | "file" | "redis" | "mongo" | "own" | … */
export type StoreName = (typeof steps)[number]["store"];

/** The deck that opens the day, before step 1. */
export const openingDeck = "00-opening.md";

/** One line: what the opening deck covers (the list in slides/README.md). */
export const openingDeckCovers =
  "agenda (full day, half day), cookies and ids, signing, secrets and `.env`, middleware order";

/** The step numbered N, or undefined. */
export function stepNumbered(n: number): Step | undefined {
  return steps.find((step) => step.number === n);
}

/** The step whose exercise folder is NAME ("03-move-to-redis"), or undefined. */
export function stepOfExercise(name: string): Step | undefined {
  return steps.find((step) => step.exercise === name);
}
