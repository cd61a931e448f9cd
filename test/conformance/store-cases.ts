/**
 * The store contract as runnable cases: what express-session needs from any session store.
 * One list of cases, run by test/conformance/store-conformance.test.ts against the five stores
 * of the workshop, and by exercises/07-own-store/check.ts against the learner's store.
 *
 * A case talks to the store only through its public methods, the way express-session does,
 * and says in its messages what a learner should see, not how the test is written.
 */
import assert from "node:assert/strict";
import { Cookie, type SessionData, type Store } from "express-session";
import { waitUntil } from "../../lib/services/net.ts";
import "../../steps/shared/session-data.ts";

/**
 * How a store behaves where stores are allowed to differ, or where a library store departs
 * from the contract. Each store's profile declares its own (with the upstream source linked
 * beside it), and the cases assert exactly that: a known difference is tested, not skipped.
 */
export interface Behaviour {
  /** What get() answers for an id the store does not hold (express-session reads an error
   * with code ENOENT as "no such session"). */
  missing: "null" | "ENOENT error";
  /** What get() gives for cookie.expires. Either works: express-session's
   * Store#createSession turns an ISO string back into a Date. */
  expiresFromGet: "Date" | "ISO string";
  /** Fields the store adds to the session it gives back. */
  addedFields: string[];
  /** What touch() does for an id the store does not hold (never create it). */
  touchOfUnknown: "nothing" | "error";
  /** The shape all() answers with; "none" when the store has no all(). */
  all: "object by id" | "array with ids" | "array without ids" | "none";
  /** Whether length() counts a session that has expired but is still on disk/in the db. */
  lengthCounts: "live sessions" | "expired ones too" | "no length()";
  /** What get() does with a stored value it cannot parse. */
  corrupt: "null" | "error" | "throws";
}

/** One store, fresh and empty, as a case gets it. */
export interface StoreUnderTest {
  store: Store;
  /** Writes bytes the store cannot parse where it keeps session `sessionId`. */
  corrupt(sessionId: string): Promise<void>;
}

/** A store to run the cases against: a factory of fresh stores, and how this store behaves. */
export interface StoreProfile {
  name: string;
  behaviour: Behaviour;
  /** A new, empty store of this kind (its own folder, key prefix or collection). */
  fresh(): Promise<StoreUnderTest>;
  /** Closes connections and removes folders; called once, after the last case. */
  close(): Promise<void>;
}

export interface StoreCase {
  name: string;
  run(profile: StoreProfile): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Talking to a store the way express-session does: a callback, exactly once, and soon.

/** What a store's callback was called with; `threw` when the method threw instead. */
interface Answer<Result> {
  error: unknown;
  result?: Result;
  threw?: unknown;
}

const CALLBACK_TIMEOUT_MS = 5000;

/** Calls a store method and waits for its callback; fails when it never comes. */
function ask<Result>(
  what: string,
  start: (callback: (error: unknown, result?: Result) => void) => void,
): Promise<Answer<Result>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `${what} never called its callback (waited ${CALLBACK_TIMEOUT_MS / 1000} s). ` +
              "express-session waits for it, so the request would hang.",
          ),
        ),
      CALLBACK_TIMEOUT_MS,
    );
    try {
      start((error, result) => {
        clearTimeout(timer);
        resolve({ error, result });
      });
    } catch (threw) {
      clearTimeout(timer);
      resolve({ error: undefined, threw });
    }
  });
}

/** Like `ask`, and asserts there was no error: the result. */
async function must<Result>(
  what: string,
  start: (callback: (error: unknown, result?: Result) => void) => void,
): Promise<Result | undefined> {
  const answer = await ask(what, start);
  if (answer.threw) assert.fail(`${what} threw ${describe(answer.threw)} instead of calling back`);
  if (answer.error) assert.fail(`${what} called back with an error: ${describe(answer.error)}`);
  return answer.result;
}

const get = (store: Store, id: string) =>
  ask<SessionData | null>(`get("${id}")`, (done) => store.get(id, done));
const set = (store: Store, id: string, session: SessionData) =>
  must(`set("${id}", session)`, (done) => store.set(id, session, done));
const destroy = (store: Store, id: string) =>
  must(`destroy("${id}")`, (done) => store.destroy(id, done));

/** get() that must succeed and find the session. */
async function getFound(store: Store, id: string, context: string): Promise<SessionData> {
  const session = await must<SessionData | null>(`get("${id}")`, (done) => store.get(id, done));
  assert.ok(session, `${context}: get("${id}") found nothing, but the session should be there`);
  return session;
}

/** Asserts that `get(id)` finds nothing, the way this store says "nothing". */
async function assertGone(profile: StoreProfile, store: Store, id: string, context: string) {
  const answer = await get(store, id);
  if (answer.threw) assert.fail(`${context}: get("${id}") threw ${describe(answer.threw)}`);
  if (profile.behaviour.missing === "ENOENT error") {
    // session-file-store: the file is missing, and it passes on the ENOENT error of
    // fs.readFile; express-session reads that code as "no session" (index.js, store.get).
    assert.equal(
      (answer.error as NodeJS.ErrnoException | undefined)?.code,
      "ENOENT",
      `${context}: expected get("${id}") to call back with an ENOENT error, got ` +
        `${describe(answer.error)} and ${JSON.stringify(answer.result)}`,
    );
    return;
  }
  assert.equal(
    answer.error ?? null,
    null,
    `${context}: get("${id}") called back with an error: ${describe(answer.error)}`,
  );
  assert.equal(
    answer.result ?? null,
    null,
    `${context}: get("${id}") should find nothing, but it found ${JSON.stringify(answer.result)}`,
  );
}

/** Whether get(id) finds nothing (without asserting): for polling until a session expires. */
async function isGone(store: Store, id: string): Promise<boolean> {
  const answer = await get(store, id);
  if (answer.threw) throw answer.threw;
  const code = (answer.error as NodeJS.ErrnoException | undefined)?.code;
  if (answer.error && code !== "ENOENT") throw answer.error;
  return answer.error !== undefined && answer.error !== null ? true : !answer.result;
}

/**
 * @types/express-session types touch()'s callback as `() => void`, but express-session calls
 * it with an error (index.js: `store.touch(req.sessionID, req.session, function ontouch(err)`),
 * and stores pass one: pass our callback as the type says, and still read the error.
 */
const untyped = (callback: (error: unknown) => void) => callback as () => void;

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return value === undefined || value === null ? "nothing" : JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------
// Sessions as express-session hands them to a store: a real Cookie, and the app's data.

let counter = 0;
/** A session id nobody else uses, readable in a failure message. */
const newId = (label: string) => `${label}-${process.pid}-${++counter}`;

/** A session whose cookie expires `maxAgeMs` from now, as express-session would build it. */
function newSession(maxAgeMs: number, data: Partial<SessionData> = {}): SessionData {
  const cookie = new Cookie(); // path "/", httpOnly, like express-session's default
  cookie.sameSite = "lax";
  cookie.maxAge = maxAgeMs; // sets cookie.expires = now + maxAgeMs, and originalMaxAge
  return { cookie, visits: 1, ...data } as SessionData;
}

const MINUTE = 60_000;
/** Short enough to wait for, long enough for slow machines to write and read it first. */
const SHORT_MS = 2000;
/**
 * The touch case's lifetime: longer, because the touch must land before the session expires.
 * session-file-store's touch() of a session that has just expired writes a new, empty one
 * (helpers.touch reads nothing, then saves only the cookie), so on a busy machine a touch that
 * came 2 s late would fail this case for the wrong reason.
 */
const TOUCH_TEST_MS = 6000;

/** Waits until get(id) finds nothing, a few seconds at most (expiry is not exact). */
async function waitUntilExpired(store: Store, id: string, what: string): Promise<void> {
  // Generous: on a busy machine a store's own clock checks can lag; a live session fails fast
  // enough elsewhere.
  await waitUntil(what, () => isGone(store, id), { timeoutMs: 30_000, everyMs: 100 });
}

/** A session's fields as the app wrote them, without the cookie and what the store adds. */
function dataOf(session: SessionData, profile: StoreProfile): Record<string, unknown> {
  const { cookie: _cookie, ...data } = session as SessionData & Record<string, unknown>;
  for (const field of profile.behaviour.addedFields) delete data[field];
  return data;
}

/** The sessions all() answered with, as a list of visit counts, whatever its shape. */
function visitsOf(all: unknown, profile: StoreProfile): number[] {
  const shape = profile.behaviour.all;
  if (shape === "object by id") {
    assert.ok(
      all && typeof all === "object" && !Array.isArray(all),
      `all() should call back with an object {id: session}, got ${JSON.stringify(all)}`,
    );
    return Object.values(all as Record<string, SessionData>).map((session) => session.visits);
  }
  assert.ok(Array.isArray(all), `all() should call back with an array, got ${JSON.stringify(all)}`);
  const sessions = all as (SessionData & { id?: string })[];
  for (const session of sessions) {
    if (shape === "array with ids") assert.equal(typeof session.id, "string", "each has its id");
    else assert.equal(session.id, undefined, "the sessions do not say their id");
  }
  return sessions.map((session) => session.visits);
}

const sorted = (numbers: number[]) => [...numbers].sort((a, b) => a - b);

// ---------------------------------------------------------------------------------------
// The cases.

export const storeCases: StoreCase[] = [
  {
    name: "set, then get, gives the same session back (cookie.expires the same instant)",
    async run(profile) {
      const { store } = await profile.fresh();
      const id = newId("round-trip");
      const written = newSession(30 * MINUTE, { visits: 3 });
      const expires = (written.cookie.expires as Date).getTime();
      await set(store, id, written);

      const read = await getFound(store, id, "right after set()");
      assert.deepEqual(dataOf(read, profile), { visits: 3 }, "the data comes back as it was set");
      const readExpires = read.cookie.expires as Date | string;
      assert.equal(
        new Date(readExpires).getTime(),
        expires,
        `cookie.expires should come back as the same instant, got ${JSON.stringify(readExpires)}`,
      );
      assert.equal(
        readExpires instanceof Date ? "Date" : typeof readExpires === "string" && "ISO string",
        profile.behaviour.expiresFromGet,
        "get() gives cookie.expires as a",
      );
      // As written: express-session derives originalMaxAge from expires - now, which a clock
      // tick can make 1 ms short of the 30 minutes asked for.
      assert.equal(
        read.cookie.originalMaxAge,
        written.cookie.originalMaxAge,
        "cookie.originalMaxAge comes back",
      );
      for (const field of profile.behaviour.addedFields) {
        assert.ok(field in read, `${profile.name} adds ${field} to the session it gives back`);
      }

      // What express-session does with it: Store#load → createSession gives a real Cookie
      // whose expires is a Date again, whatever get() returned.
      const loaded = await must<SessionData>(`load("${id}")`, (done) => store.load(id, done));
      assert.ok(loaded?.cookie.expires instanceof Date, "express-session gets a Date back");
      assert.equal(loaded.cookie.expires.getTime(), expires);
    },
  },
  {
    name: "get of an id the store never saw finds nothing, without an error",
    async run(profile) {
      const { store } = await profile.fresh();
      await assertGone(profile, store, newId("never-stored"), "an id that was never stored");
    },
  },
  {
    name: "destroy forgets the session; destroying an unknown id is not an error",
    async run(profile) {
      const { store } = await profile.fresh();
      const id = newId("destroyed");
      await set(store, id, newSession(30 * MINUTE));
      await getFound(store, id, "before destroy()");
      await destroy(store, id);
      await assertGone(profile, store, id, "after destroy()");
      await destroy(store, newId("never-stored"));
    },
  },
  {
    name: "a session expires with its cookie; length() then no longer counts it",
    async run(profile) {
      const { store } = await profile.fresh();
      const shortLived = newId("short-lived");
      const longLived = newId("long-lived");
      await set(store, shortLived, newSession(SHORT_MS));
      await set(store, longLived, newSession(30 * MINUTE));
      await waitUntilExpired(store, shortLived, `the ${SHORT_MS} ms session to expire`);
      await getFound(store, longLived, "a 30-minute session, a few seconds later");

      if (profile.behaviour.lengthCounts === "no length()") {
        assert.equal(store.length, undefined, `${profile.name} has no length()`);
        return;
      }
      if (!store.length) assert.fail("the store has no length() method");
      const length = await must<number>("length()", (done) => store.length?.(done));
      if (profile.behaviour.lengthCounts === "live sessions") {
        assert.equal(length, 1, "length() counts the live session only");
      } else {
        // A file or document that outlived its expiry stays until the store reaps it, and
        // length() counts what is there, not what is valid.
        assert.equal(length, 2, `${profile.name}: length() still counts the expired session`);
      }
    },
  },
  {
    name: "touch pushes back the expiry, without rewriting the data",
    async run(profile) {
      const { store } = await profile.fresh();
      if (!store.touch) {
        assert.fail(
          "the store has no touch() method: with resave: false, express-session calls touch() " +
            "on each request that did not change the session, to keep an active user logged in",
        );
      }
      const touched = newId("touched");
      const untouched = newId("untouched");
      await set(store, touched, newSession(TOUCH_TEST_MS, { visits: 1 }));
      await set(store, untouched, newSession(TOUCH_TEST_MS, { visits: 1 }));

      // express-session passes the whole session to touch(); only its cookie is news. The
      // visits in it are deliberately different, to see that touch() does not write them.
      const later = newSession(30 * MINUTE, { visits: 99 });
      await must(`touch("${touched}", session)`, (done) =>
        store.touch?.(touched, later, untyped(done)),
      );

      await waitUntilExpired(
        store,
        untouched,
        `the untouched ${TOUCH_TEST_MS} ms session to expire`,
      );
      const session = await must<SessionData | null>(`get("${touched}")`, (done) =>
        store.get(touched, done),
      );
      assert.ok(
        session,
        `a session set to live ${TOUCH_TEST_MS} ms, then touch()ed with a cookie of 30 minutes, was ` +
          `gone once the ${TOUCH_TEST_MS} ms had passed: touch() should push its expiry back to ` +
          "the new cookie.expires",
      );
      assert.equal(session.visits, 1, "touch() must not write the session's data, only its expiry");
    },
  },
  {
    name: "touch of an id the store does not hold does not create it",
    async run(profile) {
      const { store } = await profile.fresh();
      if (!store.touch) assert.fail("the store has no touch() method");
      const id = newId("touch-unknown");
      const answer = await ask(`touch("${id}")`, (done) =>
        store.touch?.(id, newSession(30 * MINUTE), untyped(done)),
      );
      if (answer.threw) assert.fail(`touch("${id}") threw ${describe(answer.threw)}`);
      if (profile.behaviour.touchOfUnknown === "error") {
        assert.ok(answer.error instanceof Error, `${profile.name}: touch() of an unknown id fails`);
      } else {
        assert.equal(
          answer.error ?? null,
          null,
          `touch() called back with ${describe(answer.error)}`,
        );
      }
      await assertGone(profile, store, id, "after touch() of an id that was not stored");
    },
  },
  {
    name: "all(), length() and clear() see exactly this store's sessions",
    async run(profile) {
      const { store } = await profile.fresh();
      const ids = [newId("many"), newId("many"), newId("many")];
      await Promise.all(ids.map((id, i) => set(store, id, newSession(30 * MINUTE, { visits: i }))));

      if (profile.behaviour.all === "none") {
        assert.equal(store.all, undefined, `${profile.name} has no all()`);
      } else {
        const all = await must<unknown>("all()", (done) => store.all?.(done));
        assert.deepEqual(sorted(visitsOf(all, profile)), [0, 1, 2], "all() gives every session");
      }
      if (profile.behaviour.lengthCounts === "no length()") {
        assert.equal(store.length, undefined, `${profile.name} has no length()`);
        assert.equal(store.clear, undefined, `${profile.name} has no clear()`);
        return;
      }
      if (!store.length || !store.clear) assert.fail("the store has no length() or clear()");
      assert.equal(await must<number>("length()", (done) => store.length?.(done)), 3, "length()");

      await must("clear()", (done) => store.clear?.(done));
      for (const id of ids) await assertGone(profile, store, id, "after clear()");
      assert.equal(await must("length()", (done) => store.length?.(done)), 0, "length after clear");
    },
  },
  {
    name: "concurrent sets to different ids keep each session apart",
    async run(profile) {
      const { store } = await profile.fresh();
      const ids = Array.from({ length: 20 }, () => newId("concurrent"));
      await Promise.all(
        ids.map((id, visits) => set(store, id, newSession(30 * MINUTE, { visits }))),
      );
      const read = await Promise.all(ids.map((id) => getFound(store, id, "after 20 sets at once")));
      assert.deepEqual(
        read.map((session) => session.visits),
        ids.map((_, visits) => visits),
        "each id holds its own session",
      );
    },
  },
  {
    name: "a stored value it cannot parse is an error or nothing, never a crash",
    async run(profile) {
      const { store, corrupt } = await profile.fresh();
      const id = newId("corrupt");
      await set(store, id, newSession(30 * MINUTE));
      await corrupt(id);
      const answer = await get(store, id);
      const outcome = answer.threw ? "throws" : answer.error ? "error" : "null";
      assert.equal(
        outcome,
        profile.behaviour.corrupt,
        `get() of an unparsable value: expected "${profile.behaviour.corrupt}", ` +
          `it ${outcome === "throws" ? "threw" : "called back with"} ${describe(answer.threw ?? answer.error ?? answer.result)}`,
      );
      if (outcome === "null") assert.equal(answer.result ?? null, null, "get() gives nothing");
      // The store still works for every other session.
      const other = newId("after-corrupt");
      await set(store, other, newSession(30 * MINUTE, { visits: 7 }));
      assert.equal((await getFound(store, other, "after reading a corrupt value")).visits, 7);
    },
  },
];
