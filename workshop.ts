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
  /** The exercise's title, without its number: the list in exercises/README.md shows it. */
  readonly exerciseTitle: string;
  /**
   * Hints for the exercise, shown one at a time by `npm run hint -- N`, from a nudge to the
   * near-answer. Kept here, not in the learner's folder, so that they are not all read at once.
   */
  readonly hints: readonly string[];
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
    exerciseTitle: "Greet a newcomer, forget a visitor",
    hints: [
      "Whether a visitor is back is something the session knows: what did GET / write into it?",
      "A session nobody wrote to holds no visits: `req.session.visits === undefined`. Read it; never assign it in /hello.",
      "Ending a session has two halves: the store (`req.session.destroy(callback)`) and the browser (`res.clearCookie`). Answer inside destroy's callback.",
      'The browser replaces a cookie only with one of the same name and path: `res.clearCookie(COOKIE_NAME, { path: "/" })` (the default path is "/"). Then `res.status(204).end()`.',
    ],
    deck: "01-memory-store.md",
    deckCovers: "express-session and MemoryStore: its three limits, the leak measured",
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
    exerciseTitle: "Sessions that end on time, files that go away",
    hints: [
      "Two numbers come from the policy: how long a session lives, and how often expired files are deleted. Look at the units each option takes.",
      "The cookie's `maxAge` is in milliseconds; session-file-store's `ttl` and `reapInterval` are in seconds.",
      "A file is expired at its last access plus the cookie's originalMaxAge: `maxAge: 20 * 60 * 1000` makes cookie and file agree.",
      "A file may outlive its session by up to one reap interval, and reaping more than once a minute is too often: `reapInterval` between 60 and 300 (seconds).",
    ],
    deck: "02-file-store.md",
    deckCovers: "session-file-store: path, ttl, retries, reaping, and its pitfalls",
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
    exerciseTitle: "Move the sessions to a shared Redis",
    hints: [
      "Step 03's app.ts builds a RedisStore from connect-redis; your policy has other numbers and another prefix.",
      '`new RedisStore({ client: redis, prefix })`: the prefix is the start of every key, so `"workshop:sess:"`.',
      "connect-redis sets each key's TTL to the time left until cookie.expires: give the cookie `maxAge: 45 * 60 * 1000` and the TTL follows.",
      'The inspector must read the same keys: `inspectRedis(redis, prefix)`, and the page `visitsPage("redis", …)`. Keep storeErrorHandler: it turns an outage into a 503.',
    ],
    deck: "03-redis-store.md",
    deckCovers: "connect-redis and node-redis: TTLs, memory policies, persistence, outages, TLS",
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
    exerciseTitle: "Fewer writes to MongoDB",
    hints: [
      "Three settings: the collection's name, how long the cookie lives, and how often an unchanged session may be written.",
      'connect-mongo skips a touch when the session was written less than `touchAfter` seconds ago (its README: "Lazy session update").',
      "While touches are skipped, the stored expiry lags behind the last request by up to touchAfter: the policy allows 10 minutes.",
      '`collectionName: "workshop_sessions"`, `touchAfter: 10 * 60` (anything from 5 to 10 minutes keeps the policy), cookie `maxAge: 2 * 60 * 60 * 1000`.',
    ],
    deck: "04-mongo-store.md",
    deckCovers: "connect-mongo: documents, the TTL index, touchAfter, Atlas",
    walkthroughs: [],
  },
  {
    number: 5,
    slug: "05-login-logout",
    title: "Login & logout",
    lesson: "regenerate, destroy, timeouts, secrets; users in PostgreSQL",
    buildsOn: 3,
    readyMade: ["auth-routes.ts", "credentials.ts", "statuses.ts", "tables.ts", "users.ts"],
    store: "redis",
    afterRestart: "still logged in",
    services: ["redis", "postgres"],
    exercise: "05-login-session",
    exerciseTitle: "A login that changes the id, a logout that ends it",
    hints: [
      "steps/05-login-logout/session-promises.ts has regenerate, save and destroy as promises.",
      "regenerate gives req.session a new, empty session: read what you want to keep before it, write it back after.",
      "In logIn: `const { visits } = req.session; await regenerate(req);` then put visits back, then the user.",
      "In logOut: `await destroy(req)` before clearing the cookie; don't catch its error: Express answers 503 for it.",
    ],
    deck: "05-login-logout.md",
    deckCovers:
      "regenerate, destroy, two timeouts, `res.locals`, OWASP checklist; users in PostgreSQL: one pool, parameters, the unique constraint",
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
    exerciseTitle: "Behind a CDN and a load balancer",
    hints: [
      "Step 03's app.ts builds a RedisStore; the page and inspector must name what the store writes.",
      'Express believes X-Forwarded-* only from the proxies its "trust proxy" setting trusts, counted from the app outwards.',
      "Two proxies stand in front: the balancer (the connection's address) and the CDN (the last entry of X-Forwarded-For). `true` trusts every entry, including what the visitor wrote.",
      '`app.set("trust proxy", 2)`, or by address: `app.set("trust proxy", ["loopback", "192.0.2.0/24"])`.',
    ],
    deck: "06-scale-out.md",
    deckCovers: "several processes, one store; trust proxy; Sentinel, Cluster; the benchmark",
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
    exerciseTitle: "A store that writes less",
    hints: [
      "Follow set(): a small async method does the Redis work, and the public method hands its promise to `reply(promise, callback)`.",
      "destroy is one command (DEL). length must walk only this store's keys, a batch at a time: SCAN with MATCH prefix*, not KEYS, not DBSIZE.",
      "touch changes the TTL, never the value: EXPIRE does nothing to a key that is gone. The TTL is in seconds: `this.secondsToLive(session)`.",
      "To write less: read the key's TTL first (TTL: -2 means gone), and send EXPIRE only when it differs from the wanted one by TOUCH_AFTER_SECONDS or more.",
    ],
    deck: "07-own-store.md",
    deckCovers: "the Store contract, written by hand; what the conformance suite found",
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
    exerciseTitle: "A download quota that holds under a burst",
    hints: [
      "Requests sent together each load the session before any of them saves it: whatever they read there is already old. Which part of the system can count for all of them at once?",
      "Redis runs one command at a time. INCR on a key of this visitor's own (derived from req.sessionID) adds one and answers the new count in the same step: compare that answer with the quota.",
      "The window starts at the first download: give the key its time to live only when it has none (EXPIRE key seconds NX, or SET key 0 EX seconds NX before the INCR). Inside a MULTI, both commands go together.",
      "Retry-After is the key's time to live, in whole seconds: PTTL answers milliseconds; round up.",
    ],
    deck: "08-concurrent-requests.md",
    deckCovers: "lost updates: one browser, many requests; atomic counters beside the session",
    walkthroughs: ["08-concurrent-requests"],
  },
  {
    number: 9,
    slug: "09-failover",
    title: "When Redis fails over",
    lesson: "a primary, a replica, three sentinels; a deadline",
    buildsOn: 3,
    store: "redis",
    afterRestart: "count goes on",
    services: ["redis-sentinel"],
    exercise: "09-survive-a-failover",
    exerciseTitle: "No visitor waits for a failover",
    hints: [
      "Nothing in the Redis client will give up on a command already sent: the deadline has to live around the store, in withDeadline. Start one timer per call.",
      "Each method of the store you return calls the same method of `store` with a callback of its own, and a setTimeout of STORE_DEADLINE_MS (milliseconds) beside it. Whichever comes first answers; the other must then do nothing (a flag, and clearTimeout).",
      'The timeout\'s error decides the status: storeErrorHandler answers the errors of node-redis (such as `new TimeoutError()` from "redis") with 503 and Retry-After. A plain Error is a 500; no error at all is "no session", and a fresh one at 1.',
      "All four: get (a returning visitor), set (a new visitor's first write), touch and destroy. `class extends Store { get(id, cb) { store.get(id, within(cb)); } … }`.",
    ],
    deck: "09-failover.md",
    deckCovers:
      "Sentinel: a failover measured, a deadline around the store; WAIT; Cluster's CROSSSLOT",
    walkthroughs: ["09-failover"],
  },
  {
    number: 10,
    slug: "10-postgres-store",
    title: "All in PostgreSQL",
    lesson: "sessions beside the users: one database, one pool",
    buildsOn: 5,
    store: "postgres",
    afterRestart: "still logged in",
    services: ["postgres"],
    exercise: "10-users-in-sql",
    exerciseTitle: "The users table, safely",
    hints: [
      'Every query takes its values as parameters: `this.pool.query("… WHERE username = $1", [username])`. Never put a value into the SQL text, not even one you checked.',
      "Use the pool the constructor gives you, for every query: it lends one of its connections and takes it back. Never a new Pool or Client in a method.",
      "register: let the UNIQUE constraint decide: `INSERT … ON CONFLICT (username) DO NOTHING RETURNING id` gives no row when the name was taken (or catch error code 23505).",
      "currentUser: read the user by `req.session.userId` with findById on every call; keep nothing else from the database in the session, nor in a variable of the module.",
    ],
    deck: "10-postgres-store.md",
    deckCovers:
      "sessions in PostgreSQL beside the users: one pool, the table, pruning, the race of createTableIfMissing; which store for which app",
    walkthroughs: ["10-postgres-store"],
    pages: [{ path: "/login", label: "Log in or register" }],
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
