/**
 * Exercise 10: POST /password, on step 10's app. A password change ends every other session
 * of the user, for good, in one transaction with the new hash; this browser stays logged in
 * under a new id; the client taken from the pool goes back on every path.
 *
 * A differential check (test/checks/differential.ts): scenarios of four browsers (two users,
 * some browsers logged in as the same user), drawn at random, run on your app and on the
 * reference side by side, each in a PostgreSQL schema of its own. After every request the two
 * must look the same to a visitor (status, who /me says, whether the cookie's id was renewed)
 * and to an operator: the rows of the session table (whose they are), which password the
 * users table now holds, the clients of the pool still checked out (or closed where nothing
 * failed), and what your code sent PostgreSQL (writes inside one transaction that ends, values
 * never pasted into the SQL). New passwords have spaces at their ends and letters Unicode
 * normalization would change: stored and compared as sent (the right one in lowercase, or in
 * NFKC, is refused). Faults: one of your writes fails in
 * PostgreSQL mid-transaction (or your read, or your COMMIT; again in a transaction begun again),
 * or the session store fails as the id is renewed after the change. Races: another browser's
 * request, already under way, writes its session back (nine minutes) after the change (in one
 * scenario, a session that had two minutes left: expired before the change, its row not yet
 * pruned); and two browsers of one user change the password at the same moment, with the right
 * current password: exactly one change may succeed. On PostgreSQL the check
 * holds the first user's row lock while both requests reach it (seen in pg_stat_activity), so
 * the first one sent wins; the change of another user must not wait behind it. When the first
 * one's current password is wrong, its transaction is held instead right after its first
 * statement while the second comes: the second must wait for it, then succeed. On the embedded
 * engine (PGlite) transactions never overlap, so the first one's transaction is held back
 * until the second one's has begun: the second wins, and a check of the current password made
 * outside the transaction is caught there too (a change that gives up at once while another
 * holds the lock is caught only on PostgreSQL).
 *
 * Runs: the lesson's scenarios first (`examples`), then 5 drawn ones without faults and 3 with;
 * CHECK_DRAW and CHECK_RUNS draw others.
 */
import { createHmac, randomUUID } from "node:crypto";
import type { Express } from "express";
import fc from "fast-check";
import type pg from "pg";
import { boundForLoad, waitUntil } from "../../lib/services/net.ts";
import { type PostgresEngine, privateEngine } from "../../lib/services/postgres.ts";
import { hashNewPassword } from "../../steps/05-login-logout/credentials.ts";
import { migrateUsers } from "../../steps/05-login-logout/tables.ts";
import { createApp } from "../../steps/10-postgres-store/app.ts";
import { migrateSessions } from "../../steps/10-postgres-store/session-table.ts";
import { createPool } from "../../steps/shared/postgres-pool.ts";
import { COOKIE_NAME, sessionSecrets } from "../../steps/shared/session-secret.ts";
import { storeErrorHandler } from "../../steps/shared/store-errors.ts";
import {
  type Answer,
  differential,
  type Model,
  type Observation,
  type Side,
  type Step,
} from "../../test/checks/differential.ts";
import { type CheckContext, defineCheck, wrong } from "../../test/checks/kit.ts";
import { StoreProbe } from "../../test/checks/store-probe.ts";
import * as reference from "./solution/password.ts";

type Module = typeof import("./solution/password.ts");

const VISITORS = 4;
const USERS = ["ada", "bob"] as const;
type Who = number;
type UserIndex = 0 | 1;
type Action =
  /** soon: the session was made 28 minutes ago, and expires in two (else it has 30 left). */
  | { do: "login"; who: Who; as: UserIndex; soon?: boolean }
  | { do: "visit"; who: Who }
  | { do: "me"; who: Who }
  | {
      do: "change";
      who: Who;
      /**
       * padded: the right one with a space before and after (a different password); lowercased,
       * nfkc: the right one in lowercase, or in Unicode's compatibility form (NFKC): other
       * passwords too, once the current one has capitals, or an "ö" of two code points and "ﬁ".
       */
      current: "right" | "wrong" | "missing" | "padded" | "lowercased" | "nfkc";
      next: "fresh" | "short";
      /** A browser whose GET / is under way: read its session before, writes it back after. */
      inFlight: Who | undefined;
    }
  /**
   * WHO and OTHER change their passwords at the same moment, each with the right current one;
   * firstWrong: WHO's current password is wrong (so OTHER's change must succeed).
   */
  | { do: "both"; who: Who; other: Who; firstWrong: boolean }
  /**
   * Write NTH of the next change fails; -1: its transaction's first statement (its read);
   * "commit": its COMMIT; "store": the session store, when the change renews the session id.
   */
  | { do: "fail"; nth: Fault };
type Fault = -1 | 1 | 2 | 3 | "commit" | "store";

const name = (i: Who | undefined) => (i === undefined ? "" : ("ABCD"[i] ?? "?"));
const JSON_CLIENT = { accept: "application/json" };
/** The error a write gets when the check makes it fail: PostgreSQL going away (a 503). */
const FAILING_SQL =
  "DO $$ BEGIN RAISE EXCEPTION 'the check made this write fail' USING ERRCODE = '57P01'; END $$";

// ---- Each side's database: a schema, two pools (the app's, and the one your code gets).

/** What the check knows and arranges for one side, across its scenarios. */
interface Db {
  schema: string;
  /** The pool of step 10's app: its session store, users, statuses. */
  app: pg.Pool;
  /** The pool your code is given: every query on it is yours. */
  yours: pg.Pool;
  probe: StoreProbe;
  /** Each user's id and password, as this side should now have them. */
  users: { id: string; username: string; password: string; previous: string }[];
  /** Who each visitor is logged in as (planted), by visitor. */
  loggedInAs: Map<Who, UserIndex>;
  changes: number;
  /**
   * Makes your Nth write of the next change fail (0: none; -1: the transaction's first
   * statement; Infinity: its COMMIT).
   */
  failNth: number;
  /**
   * The fault of this change, again for every transaction it begins after the fault struck
   * (PostgreSQL stays away for the whole request: a transaction tried again fails the same way).
   */
  refault: number;
  /** Makes the session store's next deletion of a session fail (the renewal of the id). */
  storeFault: boolean;
  /** The SQL texts your code sent during this change (to find a salt or hash pasted in). */
  texts: string[];
  writes: number;
  /** Holds the next session write of the app (a request under way) until released. */
  gate: { caught: () => void; released: Promise<void> } | undefined;
  /** PGlite: holds your first BEGIN until released, and counts the BEGINs answered meanwhile. */
  beginGate: { caught: boolean; begun: number; released: Promise<void> } | undefined;
  /**
   * PostgreSQL: holds the answer to the first statement of your next transaction (after
   * BEGIN) until released; PID is the backend that ran it, whatever locks it took.
   */
  statementGate: { caught: boolean; pid: number | undefined; released: Promise<void> } | undefined;
  /** Session ids seen, to tell a value pasted into SQL. */
  sids: Set<string>;
  /** The (salt, hash) last seen per user, and which password it was. */
  seen: Map<string, { hash: string; which: string }>;
  /** Your pool's clients out now: a scenario starts with none (a leaked one is closed). */
  out: Set<pg.PoolClient>;
  /** A change with no fault is under way: a client it gives back closed is counted (CLOSED). */
  countClosed: boolean;
}

/** Per client of your pool: inside a transaction, and whether it wrote there. */
const transactions = new WeakMap<
  pg.PoolClient,
  { open: boolean; wrote: boolean; failed: boolean }
>();
/** Counted when a transaction that wrote commits (one where a statement failed rolls back). */
const COMMITTED = "transactions that committed writes";
/** Counted when a change where nothing failed gives its client back to be closed. */
const CLOSED = "clients closed instead of given back";

const isWrite = (sql: string) =>
  /\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE)\b/i.test(
    sql.replace(/\bFOR\s+(NO\s+KEY\s+)?UPDATE\b|\bFOR\s+(KEY\s+)?SHARE\b/gi, ""),
  );

/** Whether TEXT holds a value it should have got as a parameter. */
function pasted(db: Db, text: string): boolean {
  if (/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.test(text)) return true;
  if (/\\x[0-9a-f]{16}|'[0-9a-f]{32,}'/i.test(text)) return true; // a hash, as hex
  if ([...db.sids].some((sid) => text.includes(sid))) return true;
  return db.users.some(
    (u) =>
      text.includes(`'${u.username}'`) || text.includes(u.password) || text.includes(u.previous),
  );
}

/** Watches every query your code sends on CLIENT: transactions, writes, pasted values, faults. */
function watch(db: Db, client: pg.PoolClient): void {
  const state = { open: false, wrote: false, failed: false };
  transactions.set(client, state);
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
    const first = args[0];
    const text =
      typeof first === "string" ? first : String((first as { text?: unknown })?.text ?? "");
    const sql = text.trim().replace(/^(\s*--[^\n]*\n)+/, "");
    if (pasted(db, text)) db.probe.count("values pasted into the SQL text");
    db.texts.push(text);
    if (/^LOCK\b/i.test(sql)) db.probe.count("whole tables locked");
    // A read of the session table with no WHERE: every user's sessions, at every change.
    if (/\bFROM\s+("?public"?\.)?"?session"?(?![\w"])/i.test(sql) && !/\bWHERE\b/i.test(sql))
      db.probe.count("reads of every session");
    if (/^(BEGIN|START\s+TRANSACTION)\b/i.test(sql)) {
      state.open = true;
      state.wrote = false;
      state.failed = false;
      if (db.refault !== 0 && (db.refault === -1 ? db.failNth === 0 : db.writes >= db.failNth)) {
        // The fault struck already in this change: the transaction begun again meets it again.
        db.failNth = db.refault;
        db.writes = 0;
      }
      const gate = db.beginGate;
      if (gate && !gate.caught) {
        gate.caught = true;
        return gate.released.then(() => query(...args));
      }
      const begun = query(...args);
      if (gate && begun instanceof Promise)
        begun.then(
          () => gate.begun++,
          () => {},
        );
      return begun;
    } else if (/^(COMMIT|END|ROLLBACK|ABORT)\b/i.test(sql)) {
      const commits = /^(COMMIT|END)\b/i.test(sql);
      if (commits && state.wrote && db.failNth > db.writes) {
        // Fewer writes than the fault's number (the change in one statement, WITH … of
        // several; or the fault is the COMMIT's): PostgreSQL refuses the COMMIT instead, so
        // the fault strikes every change. A refused COMMIT ends the transaction, as
        // PostgreSQL's own do (a serialization failure, a deferred constraint).
        args[0] = `ROLLBACK; ${FAILING_SQL}`;
        if (Array.isArray(args[1])) args.splice(1, 1);
        db.writes = db.failNth;
        state.failed = true;
      }
      // After a failed statement, PostgreSQL answers COMMIT with a ROLLBACK: nothing written.
      if (commits && state.open && state.wrote && !state.failed) db.probe.count(COMMITTED);
      state.open = false;
    } else if (state.open && db.failNth === -1) {
      // The transaction's first statement (a locking read, most often) fails: a lock timeout.
      db.failNth = 0;
      state.failed = true;
      args[0] = FAILING_SQL;
      if (Array.isArray(args[1])) args.splice(1, 1);
    } else if (isWrite(sql)) {
      if (state.open) state.wrote = true;
      else db.probe.count("writes outside a transaction");
      db.writes++;
      if (db.writes === db.failNth) {
        // A real failure in PostgreSQL: inside a transaction, it aborts it.
        if (state.open) state.failed = true;
        args[0] = FAILING_SQL;
        if (Array.isArray(args[1])) args.splice(1, 1);
      }
    }
    const gate = db.statementGate;
    if (gate && !gate.caught && state.open) {
      // The first statement after BEGIN runs (and takes whatever lock it takes); its answer
      // waits until the hold ends.
      gate.caught = true;
      gate.pid = (client as unknown as { processID?: number }).processID;
      const answered = query(...args);
      if (answered instanceof Promise)
        return answered.then(
          (result) => gate.released.then(() => result),
          (error: unknown) =>
            gate.released.then(() => {
              throw error;
            }),
        );
      return answered;
    }
    return query(...args);
  };
}

/**
 * Holds the app's session writes while a gate is set (a request under way, paused); fails the
 * store's deletion of a session (regenerate's) when a store fault is set.
 */
function gated(db: Db): void {
  const pool = db.app as unknown as { query: (...args: unknown[]) => Promise<unknown> };
  const query = pool.query.bind(pool);
  pool.query = (...args) => {
    const gate = db.gate;
    const text = typeof args[0] === "string" ? args[0] : "";
    if (db.storeFault && /^DELETE FROM\s+("?\w+"?\.)?"?session"?\s+WHERE\s+sid\b/i.test(text)) {
      db.storeFault = false;
      args[0] = FAILING_SQL;
      if (Array.isArray(args[1])) args.splice(1, 1);
    }
    if (gate && /^INSERT INTO\b[\s\S]*ON CONFLICT \(sid\)/i.test(text)) {
      db.gate = undefined;
      gate.caught();
      return gate.released.then(() => query(...args));
    }
    return query(...args);
  };
}

async function openDb(url: string, schema: string, admin: pg.Pool): Promise<Db> {
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const at = new URL(url);
  at.searchParams.set("options", `-c search_path=${schema}`);
  const app = createPool(at.href);
  const yours = createPool(at.href);
  // Two changes at once wait behind a hold the check makes on purpose, as long as the second
  // request takes to reach it on a busy machine (a row lock; on PGlite, the one session): the
  // step's bounds on a wait (1 to 2 s) are for what nobody lets go. A change may take
  // CHANGE_WITHIN_MS anyway.
  Object.assign(yours.options, {
    connectionTimeoutMillis: CHANGE_WITHIN_MS,
    lock_timeout: CHANGE_WITHIN_MS,
    statement_timeout: CHANGE_WITHIN_MS,
    query_timeout: CHANGE_WITHIN_MS,
    // An idle client stays open for the whole run, so that a client closed is one your code
    // closed.
    idleTimeoutMillis: 0,
  });
  await migrateUsers(app);
  await migrateSessions(app);
  const db: Db = {
    schema,
    app,
    yours,
    probe: new StoreProbe(),
    users: [],
    loggedInAs: new Map(),
    changes: 0,
    failNth: 0,
    refault: 0,
    storeFault: false,
    texts: [],
    writes: 0,
    gate: undefined,
    beginGate: undefined,
    statementGate: undefined,
    sids: new Set(),
    seen: new Map(),
    out: new Set(),
    countClosed: false,
  };
  yours.on("connect", (client) => watch(db, client));
  yours.on("acquire", (client) => db.out.add(client));
  yours.on("release", (error, client) => {
    db.out.delete(client);
    // Released with an error (or true), the client is closed: the next request opens a new
    // connection. Right after a failed query, that is prudence; after nothing failed, waste.
    if (error && db.countClosed) db.probe.count(CLOSED);
  });
  yours.on("release", (error, client) => {
    const state = transactions.get(client);
    if (!state?.open) return;
    state.open = false;
    // Released with an error, the client is closed: PostgreSQL rolls its transaction back.
    if (!error) db.probe.count("clients given back inside a transaction");
  });
  gated(db);
  return db;
}

/** The starting users, hashed once per run (scrypt is slow on purpose). */
let starting: ReturnType<typeof hashStartingUsers> | undefined;
const startingUsers = () => {
  starting ??= hashStartingUsers();
  return starting;
};
async function hashStartingUsers() {
  return Promise.all(
    USERS.map(async (username) => {
      const password = `${username}-first-password`;
      return { id: randomUUID(), username, password, ...(await hashNewPassword(password)) };
    }),
  );
}
type Starting = Awaited<ReturnType<typeof hashStartingUsers>>;

/** Empties the side's tables and puts the starting users back. */
async function reset(db: Db, starting: Starting): Promise<void> {
  for (const client of db.out) client.release(true); // leaked by the last scenario: closed
  db.out.clear();
  const t = (table: string) => `${db.schema}.${table}`;
  await db.app.query(
    `DELETE FROM ${t("statuses")}; DELETE FROM ${t("users")}; DELETE FROM ${t("session")}; DELETE FROM ${t("ended_sessions")}`,
  );
  for (const u of starting) {
    await db.app.query(
      `INSERT INTO ${t("users")} (id, username, password_salt, password_hash) VALUES ($1, $2, $3, $4)`,
      [u.id, u.username, u.salt, u.hash],
    );
  }
  db.users = starting.map((u) => ({
    id: u.id,
    username: u.username,
    password: u.password,
    previous: u.password,
  }));
  db.seen = new Map(
    starting.map((u) => [
      u.username,
      { hash: `${u.salt.toString("hex")}:${u.hash.toString("hex")}`, which: "unchanged" },
    ]),
  );
  db.loggedInAs.clear();
  db.sids.clear();
  db.changes = 0;
  db.failNth = 0;
  db.refault = 0;
  db.storeFault = false;
  db.gate = undefined;
}

/** A signed session cookie's value for SID, as express-session makes it. */
function cookieFor(sid: string): string {
  const [secret = ""] = sessionSecrets();
  const mac = createHmac("sha256", secret).update(sid).digest("base64").replace(/=+$/, "");
  return encodeURIComponent(`s:${sid}.${mac}`);
}
/** The session id inside a session cookie's value (s%3A<id>.<signature>). */
const idIn = (value: string | undefined) =>
  /^s:([^.]+)\./.exec(decodeURIComponent(value ?? ""))?.[1];

/** Logs VISITOR in as USER by writing the session a login writes (no password check: fast). */
async function plantLogin(
  db: Db,
  side: Side,
  who: Who,
  user: UserIndex,
  soon = false,
): Promise<void> {
  const sid = randomUUID().replaceAll("-", "");
  const u = db.users[user];
  if (!u) return;
  const since = Date.now() - (soon ? 28 * 60 * 1000 : 0);
  const expires = new Date(since + 30 * 60 * 1000);
  const sess = {
    cookie: { originalMaxAge: 1_800_000, expires, secure: false, httpOnly: true, path: "/" },
    userId: u.id,
    username: u.username,
    loggedInAt: since,
  };
  await db.app.query(`INSERT INTO ${db.schema}.session (sid, sess, expire) VALUES ($1, $2, $3)`, [
    sid,
    JSON.stringify({ ...sess, cookie: { ...sess.cookie, sameSite: "lax" } }),
    expires,
  ]);
  db.sids.add(sid);
  db.loggedInAs.set(who, user);
  side.labels.set(sid, `#${side.labels.size + 1}`);
  side.owners.set(side.labels.get(sid) as string, name(who));
  side.visitors[who]?.cookies.set(COOKIE_NAME, cookieFor(sid));
}

/** Waits until no client of either pool is out (end-of-request writes included), a while at most. */
async function settle(db: Db): Promise<void> {
  const busy = () =>
    db.yours.totalCount - db.yours.idleCount + (db.app.totalCount - db.app.idleCount) > 0;
  for (let i = 0; i < 60 && busy(); i++) await new Promise((r) => setTimeout(r, 5));
}

/** How long POST /password may take: scrypt runs twice in it, slow on purpose. */
const CHANGE_WITHIN_MS = 10_000;

// ---- The model: what browsers do.

async function perform(
  dbs: Record<Side["name"], Db>,
  engine: PostgresEngine,
  a: Action,
  side: Side,
) {
  const db = dbs[side.name];
  if (a.do === "both") return changeAtOnce(db, engine, a, side);
  if (a.do === "fail") {
    if (a.nth === "store") db.storeFault = true;
    else db.failNth = db.refault = a.nth === "commit" ? Number.POSITIVE_INFINITY : a.nth;
    side.notes.fault = a.nth;
    return undefined;
  }
  if (a.do === "login") {
    await plantLogin(db, side, a.who, a.as, a.soon);
    return undefined;
  }
  const visitor = side.visitors[a.who];
  if (!visitor) return undefined;
  side.notes.sent = idIn(visitor.cookie(COOKIE_NAME));
  side.notes.sentPassword = undefined;
  if (a.do === "visit") return visitor.send("GET", "/", JSON_CLIENT);
  if (a.do === "me") return visitor.send("GET", "/me", JSON_CLIENT);

  const user = db.users[db.loggedInAs.get(a.who) ?? 0];
  if (!user) return undefined;
  const openBefore = givenBackOpen(db);
  const currentPassword = {
    right: user.password,
    padded: ` ${user.password} `,
    lowercased: user.password.toLowerCase(),
    nfkc: user.password.normalize("NFKC"),
    wrong: "not-the-password",
    missing: undefined,
  }[a.current];
  const body = {
    ...(currentPassword === undefined ? {} : { currentPassword }),
    newPassword: a.next === "fresh" ? freshPassword(db, user.username) : "short",
  };
  // The fault armed for this change (a "fail" step just before), else none.
  side.notes.fault = db.failNth !== 0 || db.storeFault ? side.notes.fault : undefined;
  db.countClosed = side.notes.fault === undefined;
  db.texts = [];
  side.notes.sentPassword = body.newPassword;
  side.notes.changer = user.username;
  const racing = a.inFlight === undefined ? undefined : side.visitors[a.inFlight];
  let underWay: Promise<Answer> | undefined;
  if (racing) {
    // The other browser's GET / reads its session, and is held just before writing it back.
    let release = () => {};
    const caught = new Promise<void>((resolve) => {
      db.gate = { caught: resolve, released: new Promise<void>((r) => (release = r)) };
    });
    underWay = racing.send("GET", "/", JSON_CLIENT);
    await Promise.race([caught, new Promise((r) => setTimeout(r, 1500))]);
    db.gate = undefined;
    // A session that had two minutes left expires while the request is under way, before the
    // change: its row is still there (not yet pruned), and the request still writes it back.
    await db.app
      .query(
        `UPDATE ${db.schema}.session SET expire = now() - interval '1 second' WHERE expire < now() + interval '3 minutes'`,
      )
      .catch(() => {});
    db.writes = 0;
    const answer = await visitor
      .send("POST", "/password", JSON_CLIENT, body, CHANGE_WITHIN_MS)
      .finally(async () => {
        db.failNth = 0;
        db.refault = 0;
        db.storeFault = false;
        db.countClosed = false;
        // The held request took nine minutes (a slow upload): what ended the id must outlast
        // it (step 10: ten minutes outlives any request).
        await db.app
          .query(`UPDATE ${db.schema}.ended_sessions SET until = until - interval '9 minutes'`)
          .catch(() => {});
        release();
      });
    await underWay.catch(() => undefined);
    stuckIfGivenBackOpen(db, engine, openBefore);
    await hashPasted(db);
    return settled(user, body.newPassword, answer);
  }
  db.writes = 0;
  const answer = await visitor.send("POST", "/password", JSON_CLIENT, body).finally(() => {
    db.failNth = 0;
    db.refault = 0;
    db.storeFault = false;
    db.countClosed = false;
  });
  stuckIfGivenBackOpen(db, engine, openBefore);
  await hashPasted(db);
  return settled(user, body.newPassword, answer);
}

/**
 * A new password, as a visitor may type it: spaces at its ends, a capital, letters beyond
 * ASCII that Unicode normalization would change (an "ä" of one code point, an "ö" of two, the
 * ligature "ﬁ"). Every character counts: it is stored, and later compared, exactly as sent.
 */
const freshPassword = (db: Db, username: string) =>
  ` ${username}-new-Pässwo\u0308rd-\ufb01-${++db.changes} `;

/**
 * Whether the SQL sent during the change held the salt or the hash now stored (as hex or
 * base64, say) rather than a parameter: read once the change is over, from the users table.
 */
async function hashPasted(db: Db): Promise<void> {
  const { rows } = await db.app.query<{ salt: Buffer; hash: Buffer }>(
    `SELECT password_salt AS salt, password_hash AS hash FROM ${db.schema}.users`,
  );
  const forms = rows.flatMap(({ salt, hash }) =>
    [salt, hash].flatMap((bytes) => [
      bytes.toString("hex"),
      bytes.toString("base64").replace(/=+$/, ""),
      bytes.toString("base64url"),
    ]),
  );
  const texts = db.texts.join("\n");
  db.texts = [];
  if (forms.some((form) => texts.toLowerCase().includes(form.toLowerCase())))
    db.probe.count("values pasted into the SQL text");
}

const givenBackOpen = (db: Db) => db.probe.traffic["clients given back inside a transaction"] ?? 0;

/**
 * On PGlite, a client given back inside a transaction keeps the one session: every other
 * query waits for it, the check's own included. Said at once, rather than as the timeout of
 * the next query (on PostgreSQL itself, trafficRule says it with the rest).
 */
function stuckIfGivenBackOpen(db: Db, engine: PostgresEngine, before: number): void {
  if (engine === "pglite" && givenBackOpen(db) > before)
    wrong(
      "a client went back to the pool inside a transaction (POST /password): without COMMIT or ROLLBACK, its transaction goes on; on the embedded engine it holds the one session, and every other query waits for it",
    );
}

/** Holds both changes back at the same point, and says how many wait there. */
interface Hold {
  waiting(): Promise<number>;
  release(): Promise<void>;
}

/**
 * PostgreSQL: the check takes USER's row lock, as a change of it would; a change that locks
 * or writes the row waits behind it (pg_stat_activity: a backend waiting on a lock the check
 * holds, or on one that waits for it), in the order they came.
 */
async function holdRow(db: Db, userId: string): Promise<Hold> {
  const client = await db.app.connect();
  await client.query("BEGIN");
  const { rows } = await client.query<{ pid: number }>(
    `SELECT pg_backend_pid() AS pid FROM ${db.schema}.users WHERE id = $1 FOR UPDATE`,
    [userId],
  );
  const holder = rows[0]?.pid;
  return {
    waiting: () => waitingBehind(db, holder),
    release: async () => {
      await client.query("COMMIT").then(
        () => client.release(),
        (error: Error) => client.release(error),
      );
    },
  };
}

/** How many backends wait for a lock HOLDER holds, or for one that waits for it. */
async function waitingBehind(db: Db, holder: number | undefined): Promise<number> {
  if (holder === undefined) return 0;
  const { rows: waiters } = await db.app.query<{ pid: number; blockers: number[] }>(
    "SELECT pid, pg_blocking_pids(pid) AS blockers FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
  );
  const behind = new Set([holder]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const w of waiters) {
      if (behind.has(w.pid) || !w.blockers.some((pid) => behind.has(pid))) continue;
      behind.add(w.pid);
      grew = true;
    }
  }
  return behind.size - 1;
}

/**
 * PostgreSQL, the first change's current password wrong: its transaction is held right after
 * its first statement (the locking read, most often), so that it holds what it took while the
 * second change comes; the second waits behind it (pg_stat_activity) or is answered.
 */
function holdFirstStatement(db: Db): Hold {
  let release = () => {};
  db.statementGate = { caught: false, pid: undefined, released: new Promise((r) => (release = r)) };
  const gate = db.statementGate;
  return {
    waiting: async () => (gate.caught ? 1 + (await waitingBehind(db, gate.pid)) : 0),
    release: async () => {
      db.statementGate = undefined;
      release();
    },
  };
}

/**
 * PGlite: one transaction at a time, so the row lock above would stop every connection. The
 * first BEGIN of yours is held back instead, until another has been answered (its transaction
 * has the engine): then the first one's transaction runs after the other one's whole.
 */
function holdFirstBegin(db: Db): Hold {
  let release = () => {};
  db.beginGate = { caught: false, begun: 0, released: new Promise((r) => (release = r)) };
  const gate = db.beginGate;
  return {
    waiting: async () => (gate.caught ? 1 : 0) + gate.begun,
    release: async () => {
      db.beginGate = undefined;
      release();
    },
  };
}

/**
 * A.who and A.other change their passwords at the same moment: the first request is sent, and
 * once it waits at the hold (or has answered), the second; once both wait, the hold ends. Each
 * wait is bounded; one that runs out just ends the hold. The answer is the first one's; the
 * other one's status is noted for the body.
 */
async function changeAtOnce(
  db: Db,
  engine: PostgresEngine,
  a: Extract<Action, { do: "both" }>,
  side: Side,
): Promise<Answer | undefined> {
  const changes = [a.who, a.other].map((who) => {
    const user = db.users[db.loggedInAs.get(who) ?? 0];
    const visitor = side.visitors[who];
    if (!user || !visitor) return undefined;
    const sent = freshPassword(db, user.username);
    const current = a.firstWrong && who === a.who ? "not-the-password" : user.password;
    return { user, visitor, sent, body: { currentPassword: current, newPassword: sent } };
  });
  const [first, second] = changes;
  if (!first || !second) return undefined;
  db.storeFault = false; // a store fault is for a change on its own
  side.notes.fault = undefined;
  db.texts = [];
  // Two users' changes (PostgreSQL): the second must not wait for the first one's lock.
  const twoUsers =
    engine !== "pglite" &&
    db.loggedInAs.has(a.who) &&
    db.loggedInAs.has(a.other) &&
    first.user !== second.user;
  side.notes.sent = idIn(first.visitor.cookie(COOKIE_NAME));
  side.notes.sentPassword = first.sent;
  side.notes.changer = first.user.username;
  const otherSid = idIn(second.visitor.cookie(COOKIE_NAME));
  db.writes = 0;
  const openBefore = givenBackOpen(db);
  const hold =
    engine === "pglite"
      ? holdFirstBegin(db)
      : a.firstWrong
        ? holdFirstStatement(db)
        : await holdRow(db, first.user.id);
  db.countClosed = db.failNth === 0;
  let answered = 0;
  const send = (change: typeof first) => {
    const answer = change.visitor
      .send("POST", "/password", JSON_CLIENT, change.body, CHANGE_WITHIN_MS)
      .finally(() => answered++);
    answer.catch(() => {}); // awaited below, once the hold has ended
    return answer;
  };
  let mostWaiting = 0;
  const waitFor = (n: number, ms: number) =>
    waitUntil(
      `${n} waiting`,
      async () => {
        if (answered > 0) return true;
        mostWaiting = Math.max(mostWaiting, await hold.waiting());
        return mostWaiting >= n;
      },
      { timeoutMs: ms, everyMs: 5 },
    ).catch(() => {});
  const firstAnswer = send(first);
  let secondAnswer: Promise<Answer>;
  try {
    await waitFor(1, boundForLoad(3000).ms);
    secondAnswer = send(second);
    await waitFor(2, boundForLoad(3000).ms);
  } finally {
    await hold.release();
  }
  const [one, two] = await Promise.all([firstAnswer, secondAnswer]).finally(() => {
    db.countClosed = false;
  });
  stuckIfGivenBackOpen(db, engine, openBefore);
  await hashPasted(db);
  side.notes.queued = twoUsers ? mostWaiting >= 2 : undefined;
  // Settled in the order they can commit: on PGlite, the second one's transaction ran first.
  if (engine === "pglite") settled(second.user, second.sent, two);
  settled(first.user, first.sent, one);
  if (engine !== "pglite") settled(second.user, second.sent, two);
  side.notes.other = two.status;
  const renewed = idIn(second.visitor.cookie(COOKIE_NAME));
  if (renewed && renewed !== otherSid && !side.labels.has(renewed)) {
    side.labels.set(renewed, `#${side.labels.size + 1}`);
    side.owners.set(side.labels.get(renewed) as string, name(a.other));
  }
  return one;
}

function settled(user: Db["users"][number], sent: string, answer: Answer): Answer {
  if (answer.status === 200) {
    user.previous = user.password;
    user.password = sent;
  }
  return answer;
}

/**
 * Whether each user's row holds a new password since the scenario began: "unchanged", "a new
 * hash", or the password itself. Which password a new hash is of, a later change tells: it
 * must accept the new one as the current password.
 */
async function passwords(db: Db, sent: unknown) {
  const { rows } = await db.app.query<{ username: string; salt: Buffer; hash: Buffer }>(
    `SELECT username, password_salt AS salt, password_hash AS hash FROM ${db.schema}.users ORDER BY username`,
  );
  const held: Record<string, string> = {};
  for (const row of rows) {
    const hash = `${row.salt.toString("hex")}:${row.hash.toString("hex")}`;
    const last = db.seen.get(row.username);
    if (last?.hash === hash) {
      held[row.username] = last.which;
      continue;
    }
    const typed =
      typeof sent === "string" &&
      (row.hash.toString("utf8").includes(sent) || row.salt.toString("utf8").includes(sent));
    const which = typed ? "changed: the password stored as typed" : "changed";
    db.seen.set(row.username, { hash, which });
    held[row.username] = which;
  }
  return held;
}

async function body(dbs: Record<Side["name"], Db>, a: Action, answer: Answer, side: Side) {
  const db = dbs[side.name];
  const out = answer.status < 400 && a.do !== "change" ? answerOf(a, answer, side) : null;
  return {
    answer: out,
    ...(a.do === "both" ? { "the other change": side.notes.other } : {}),
    ...(a.do === "both" && side.notes.queued !== undefined
      ? { "the other user's change waited for the first": side.notes.queued }
      : {}),
    passwords: await passwords(db, side.notes.sentPassword),
    "clients still out of the pool": db.yours.totalCount - db.yours.idleCount,
  };
}

function answerOf(a: Action, answer: Answer, side: Side): unknown {
  try {
    const json = JSON.parse(answer.text) as { username?: string; sessionId?: string };
    if (a.do === "me") return { user: json.username };
    if (a.do === "visit") return { session: side.labels.get(json.sessionId ?? "") ?? "(new)" };
  } catch {
    return "(not JSON)";
  }
  return null;
}

function cookieOf(line: string) {
  const [pair = "", ...parts] = line.split(";").map((part) => part.trim());
  const cookieName = pair.slice(0, pair.indexOf("="));
  const cleared = parts.some(
    (p) =>
      /^max-age=(0|-\d+)$/i.test(p) ||
      (/^expires=/i.test(p) && Date.parse(p.slice(8)) < Date.now()),
  );
  return { name: cookieName, sid: idIn(pair.slice(cookieName.length + 1)), cleared };
}

/** The session table as an operator reads it: sid → whose session, and since when. */
async function sessionsOf(db: Db): Promise<Record<string, unknown>> {
  const { rows } = await db.app.query<{ sid: string; username: string | null; since: boolean }>(
    `SELECT s.sid, u.username, (s.sess->>'loggedInAt') IS NOT NULL AS since
     FROM ${db.schema}.session s LEFT JOIN ${db.schema}.users u ON u.id::text = s.sess->>'userId'`,
  );
  const sessions: Record<string, unknown> = {};
  for (const row of rows) {
    db.sids.add(row.sid);
    sessions[row.sid] = { user: row.username ?? "(nobody)", "logged in": row.since };
  }
  return sessions;
}

// ---- Rules: what is wrong, in words, at the first step where your app and the reference differ.
type S = Step<Action>;
type Sessions = Record<string, { user: string }>;
type Body = {
  answer: unknown;
  /** For two changes at once: the status of the second one. */
  "the other change"?: number;
  /** Two users' changes at once: whether the second one waited behind the first one's lock. */
  "the other user's change waited for the first"?: boolean;
  passwords: Record<string, string>;
  "clients still out of the pool": number;
};
const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
const route = (a: Action) =>
  a.do === "change" || a.do === "both"
    ? "POST /password"
    : a.do === "me"
      ? "GET /me"
      : a.do === "visit"
        ? "GET /"
        : a.do;

function raceRule({ action: a, yours: y, reference: r }: S) {
  if (a.do !== "both") return undefined;
  const [first, second] = [name(a.who), name(a.other)];
  const queued = "the other user's change waited for the first";
  if ((y.body as Body)[queued] && (r.body as Body)[queued] === false)
    return `one user's password change waited for another user's: ${second}'s change waited until ${first}'s (of another user) was over; a change must hold up only the changes of its own user (lock that user's row, not every change), else one slow change stops every user's`;
  const statuses = (o: Observation) => [o.status, (o.body as Body)["the other change"]];
  const [mine, theirs] = [statuses(y), statuses(r)];
  if (same(mine, theirs)) return undefined;
  if (a.firstWrong && mine[0] === theirs[0] && mine[1] === 403 && theirs[1] === 200)
    return `the right current password was refused because another change of the user was under way: ${first}'s change (with a wrong current password) had begun its transaction when ${second}'s came, and ${second} was told 403; a change must wait for the other one to end, not give up at once: the other one may fail (as ${first}'s did, 403), and then ${second}'s current password is still the right one`;
  if (mine.every((status) => status === 200) && theirs.includes(403))
    return `two changes at once both succeeded: ${first} and ${second} sent the right current password at the same moment, and both were told 200; but once one change is made, the password the other one was checked against is no longer the current one: that one must answer 403 (else one new password silently replaces the other, and each change ends the other's session)`;
  return `two changes at once: ${first}'s POST /password answered ${mine[0]} and ${second}'s ${mine[1]} where ${theirs[0]} and ${theirs[1]} were expected (exactly one change may succeed; the other is told the current password is wrong)`;
}

function statusRule({ action: a, yours: y, reference: r, referenceSide }: S) {
  if (y.status === r.status) return undefined;
  if (a.do === "change") {
    const fault = referenceSide.notes.fault as Fault | undefined;
    if (r.status >= 500 && y.status < 400 && fault === "store")
      return `claimed success though the session store failed: POST /password answered ${y.status} while the store refused to end this browser's old session id (renewing it, after the change was committed); the visitor must learn that the renewal did not happen (let the error through, as a login does), not believe in a new login that was never made`;
    if (r.status >= 500 && y.status < 400 && fault === "commit")
      return `claimed success though the COMMIT failed: POST /password answered ${y.status} while PostgreSQL refused the transaction's COMMIT, so nothing of the change was written; answer only once the COMMIT has succeeded, and let its error through`;
    if (r.status >= 500 && y.status < 400)
      return `claimed success though a write failed: POST /password answered ${y.status} while PostgreSQL refused part of the change (a write, or its COMMIT); the visitor must learn it did not happen: answer only once the COMMIT has succeeded, and let an error through, after a ROLLBACK (once a statement of a transaction has failed, its COMMIT writes nothing)`;
    if (r.status === 403 && y.status < 400)
      return `a wrong current password was accepted: POST /password answered ${y.status} where 403 was expected${
        a.current === "padded"
          ? " (the current password was sent with a space before and after it: that is another password; every character counts, as typed)"
          : a.current === "lowercased" || a.current === "nfkc"
            ? ` (the current password was sent ${a.current === "nfkc" ? 'in Unicode\'s compatibility form (NFKC: its "ﬁ" as "fi", its "o" and two dots as one "ö")' : "in lowercase"}: that is another password; passwords are taken exactly as sent, every code point, never case-folded or normalized)`
            : ""
      }`;
    if (r.status === 200 && y.status === 403 && a.current === "right")
      return "the right current password was refused: POST /password answered 403 where 200 was expected (when the password was changed before, what that change stored must verify the password it set, exactly as it was sent: spaces at its ends, capitals, accents and ligatures count, in the very code points typed, never normalized; the new salt and the new hash, both)";
    if (r.status === 401)
      return `POST /password without a login answered ${y.status} where 401 was expected`;
    if (r.status === 400)
      return `POST /password with a missing or too short password answered ${y.status} where 400 was expected`;
    if (r.status === 200 && y.status >= 500)
      return `the password change failed (${y.status}) where it should work: did a query fail, or did a request wait for a client the pool never got back?`;
  }
  if (a.do === "me" && r.status === 401 && y.status === 200)
    return "a browser of the same user is still logged in after the password change: GET /me answered 200 where 401 was expected";
  if (a.do === "me" && r.status === 200 && y.status === 401)
    return "a browser that should still be logged in is not: GET /me answered 401 where 200 was expected (after a password change, the browser that changed it stays logged in, and other users' browsers too)";
  return `${route(a)} answered ${y.status} where ${r.status} was expected`;
}

function sessionRule(step: S) {
  const { action: a, yours: y, reference: r, owners, referenceSide } = step;
  // Two changes that both succeeded leave sessions as the race went: raceRule says why.
  if (a.do === "both" && raceRule(step)) return undefined;
  const said: string[] = [];
  const mine = y.store as Sessions;
  const theirs = r.store as Sessions;
  const failed = a.do === "change" && r.status >= 500;
  const changer = a.do === "change" ? name(a.who) : undefined;
  const changed = referenceSide.notes.changer;
  for (const label of Object.keys(mine)) {
    if (label in theirs) continue;
    const whose = mine[label]?.user;
    const owner = owners.get(label) ?? "a";
    if (a.do === "change" && a.inFlight !== undefined && owner === name(a.inFlight))
      said.push(
        `an ended session came back: ${owner}'s request, under way during the change, wrote ${owner}'s session (${label}, ${whose}) back after it was deleted; deleting the row is not enough, the id must stay ended for as long as a request under way may write it back, whenever the deleted row was due to expire (each answer pushes the expiry back: this one wrote nine minutes later; step 10 keeps an ended id ten), as a logout ends it`,
      );
    else if (failed)
      said.push(
        `the change failed part-way (503), yet ${owner}'s session (${label}, ${whose}) is not as it was: a failed change must leave every session alone`,
      );
    else if (owner === changer)
      said.push(
        `the session id was not renewed: after the change, ${owner}'s old session (${label}) is still in the table; this browser keeps its login under a new id`,
      );
    else if (whose !== "(nobody)")
      said.push(
        `the password changed, but ${owner}'s session of ${whose} (${label}) is still in the session table: every other session of the user must end`,
      );
    else said.push(`${route(a)} left a session (${label}) that should not be there`);
  }
  for (const label of Object.keys(theirs)) {
    if (label in mine) continue;
    const whose = theirs[label]?.user;
    const owner = owners.get(label) ?? "a";
    if (failed)
      said.push(
        `the change failed part-way (503), yet ${owner}'s session (${label}, ${whose}) was deleted: the deletion must be undone with the rest (one transaction, rolled back)`,
      );
    else if (a.do === "change" && owner === changer)
      said.push(
        `the browser that changed the password was logged out: its session must go on, under a new id`,
      );
    else if (a.do === "change" && whose !== changed)
      said.push(
        `${owner}'s session (${label}, ${whose}) was deleted by ${changer}'s password change for ${changed}: only the sessions of the user whose password changed may end`,
      );
    else said.push(`${route(a)} deleted ${owner}'s session (${label}, ${whose})`);
  }
  for (const label of Object.keys(theirs)) {
    if (label in mine && !same(mine[label], theirs[label]))
      said.push(
        `${owners.get(label)}'s session (${label}) holds ${JSON.stringify(mine[label])} where ${JSON.stringify(theirs[label])} was expected`,
      );
  }
  return said.join("\n") || undefined;
}

function cookieRule({ action: a, yours: y, reference: r }: S) {
  if (same(y.cookies, r.cookies) || a.do !== "change") return undefined;
  const renewed = (o: Observation) => (o.cookies as { renewed?: boolean }[]).some((c) => c.renewed);
  if (renewed(r) && !renewed(y))
    return "the session id was not renewed: after a password change, this browser keeps its login under a new id (whoever holds a copy of the old cookie holds nothing)";
  return `POST /password sets cookies ${JSON.stringify(y.cookies)} where ${JSON.stringify(r.cookies)} was expected`;
}

function bodyRule({ action: a, yours: y, reference: r }: S) {
  const mine = y.body as Body;
  const theirs = r.body as Body;
  if (same(mine, theirs)) return undefined;
  const said: string[] = [];
  for (const [user, held] of Object.entries(theirs.passwords)) {
    const yours = mine.passwords[user];
    if (yours === held) continue;
    if (yours?.includes("as typed"))
      said.push(`${user}'s password is stored as typed: store the salt and hash`);
    else if (held === "unchanged" || (r.status >= 400 && a.do === "change"))
      said.push(
        r.status >= 500
          ? `the change failed part-way (503), yet ${user}'s password in the users table is ${yours}: the new hash must be rolled back with the rest`
          : `${user}'s password changed (${yours}) though it should not have (${route(a)} answered ${r.status})`,
      );
    else
      said.push(
        `${user}'s password in the users table is ${yours ?? "gone"} where it should be ${held}`,
      );
  }
  const out = mine["clients still out of the pool"];
  if (out > theirs["clients still out of the pool"])
    said.push(
      `a client taken from the pool was not given back: ${out} still out after ${route(a)} answered${r.status >= 400 ? ` (${r.status}: on this path too)` : ""}; with ten leaked, every query waits`,
    );
  if (!same(mine.answer, theirs.answer))
    said.push(
      `${route(a)} answered ${JSON.stringify(mine.answer)} where ${JSON.stringify(theirs.answer)} was expected`,
    );
  return said.join("\n") || undefined;
}

function trafficRule(step: S) {
  const { action: a, yours: y, reference: r } = step;
  const said: string[] = [];
  const n = (o: Observation, key: string) => o.traffic[key] ?? 0;
  if (n(y, "values pasted into the SQL text") > 0)
    said.push(
      `a value was pasted into the SQL text (${route(a)}): pass every value as a parameter ($1, $2…)`,
    );
  if (n(y, "writes outside a transaction") > n(r, "writes outside a transaction"))
    said.push(
      `a write ran outside a transaction (${route(a)}): the new hash and the end of the other sessions must be written in ONE transaction (BEGIN … COMMIT on one client), all or nothing`,
    );
  if (n(y, "clients given back inside a transaction") > 0)
    said.push(
      `a client went back to the pool inside a transaction (${route(a)}): without COMMIT or ROLLBACK, the next query on it runs in that transaction`,
    );
  if (n(y, CLOSED) > n(r, CLOSED))
    said.push(
      `a client was closed instead of given back to the pool (${route(a)}, where no query failed): released with an error (or true), the pool ends its connection, and the next request waits for a new one (a PostgreSQL process, several round trips); give a client back to be reused, and have it closed only when a query of it failed`,
    );
  if (n(y, "reads of every session") > n(r, "reads of every session"))
    said.push(
      `every session was read (${route(a)}: SELECT … FROM session with no WHERE): each change loads every user's sessions into the process; let PostgreSQL find the user's own (WHERE sess->>'userId' = $1)`,
    );
  if (n(y, "whole tables locked") > n(r, "whole tables locked"))
    said.push(
      `a whole table was locked (${route(a)}: LOCK TABLE): every login and every other user's change waits while this one hashes; lock the one user's row (SELECT … FOR UPDATE)`,
    );
  const tx = COMMITTED;
  if (n(y, tx) > n(r, tx))
    said.push(
      n(y, tx) > 1
        ? `the change was written in ${n(y, tx)} transactions: the new hash and the end of the other sessions belong in ONE`
        : `a transaction of yours committed writes though ${route(a)} should change nothing (answered ${r.status}): a change that is refused or fails part-way must leave every table as it was`,
    );
  // Two changes at once answered otherwise (one refused that should have written): raceRule.
  else if (
    n(y, tx) < n(r, tx) &&
    n(y, "writes outside a transaction") === 0 &&
    !(a.do === "both" && raceRule(step))
  )
    said.push(
      `no transaction of yours wrote the change on the pool you were given (${route(a)}): write through a client of that pool (pool.connect()), not another connection`,
    );
  if (y.early && !r.early)
    said.push(
      `answered before the renewed session was saved (${route(a)}): wait for the login to be written`,
    );
  return said.join("\n") || undefined;
}

// ---- The check.

const A = 0;
const B = 1;
const C = 2;
const D = 3;
const login = (who: Who, as: UserIndex, soon = false): Action =>
  soon ? { do: "login", who, as, soon } : { do: "login", who, as };
const me = (who: Who): Action => ({ do: "me", who });
const visit = (who: Who): Action => ({ do: "visit", who });
const both = (who: Who, other: Who, firstWrong = false): Action => ({
  do: "both",
  who,
  other,
  firstWrong,
});
const change = (who: Who, more: Partial<Extract<Action, { do: "change" }>> = {}): Action => ({
  do: "change",
  who,
  current: "right",
  next: "fresh",
  inFlight: undefined,
  ...more,
});

const who = fc.constantFrom(A, A, B, B, C, D);
const clientActions: { arbitrary: fc.Arbitrary<Action>; weight: number }[] = [
  {
    arbitrary: fc.record({
      do: fc.constant("login" as const),
      who,
      as: fc.constantFrom<UserIndex>(0, 0, 1),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ do: fc.constant("visit" as const), who }), weight: 1 },
  { arbitrary: fc.record({ do: fc.constant("me" as const), who }), weight: 3 },
  {
    arbitrary: fc.record({
      do: fc.constant("change" as const),
      who,
      current: fc.constantFrom("right", "right", "right", "wrong", "padded", "missing"),
      next: fc.constantFrom("fresh", "fresh", "fresh", "short"),
      inFlight: fc.option(who, { nil: undefined, freq: 3 }),
    }),
    weight: 3,
  },
  {
    arbitrary: fc
      .record({
        do: fc.constant("both" as const),
        who,
        other: who,
        firstWrong: fc.constantFrom(false, false, true),
      })
      .filter((a) => a.who !== a.other),
    weight: 1,
  },
];

function describe(a: Action): string {
  switch (a.do) {
    case "login":
      return `${name(a.who)} logs in as ${USERS[a.as]}${a.soon ? " (28 minutes ago: the session expires in two)" : ""}`;
    case "visit":
      return `${name(a.who)}: GET /`;
    case "me":
      return `${name(a.who)}: GET /me`;
    case "fail":
      return a.nth === -1
        ? "PostgreSQL will refuse the first statement of the next password change's transaction (its read of the user: a lock timeout, say)"
        : a.nth === "commit"
          ? "PostgreSQL will refuse the COMMIT of the next password change"
          : a.nth === "store"
            ? "the session store will fail to end the old session id when the next password change renews it (PostgreSQL refuses its DELETE)"
            : `PostgreSQL will refuse write number ${a.nth} of the next password change (its COMMIT, if it has fewer writes)`;
    case "both":
      return a.firstWrong
        ? `${name(a.who)} and ${name(a.other)}: POST /password at the same moment, ${name(a.who)} with a wrong current password, ${name(a.other)} with the right one, each with a new password (${name(a.other)}'s sent while ${name(a.who)}'s transaction is under way)`
        : `${name(a.who)} and ${name(a.other)}: POST /password at the same moment, each with the right current password and a new password (${name(a.other)}'s sent while ${name(a.who)}'s waits)`;
    case "change": {
      const current =
        a.current === "missing"
          ? "no currentPassword"
          : a.current === "padded"
            ? "the right current password with a space before and after it"
            : a.current === "lowercased"
              ? "the right current password in lowercase"
              : a.current === "nfkc"
                ? "the right current password in Unicode's compatibility form (NFKC)"
                : `the ${a.current} current password`;
      const next =
        a.next === "fresh"
          ? "a new password (with spaces at its ends)"
          : "a too short new password";
      const race =
        a.inFlight === undefined
          ? ""
          : `, while ${name(a.inFlight)}'s GET / is under way (its session read before, written back nine minutes later)`;
      return `${name(a.who)}: POST /password with ${current} and ${next}${race}`;
    }
  }
}

async function run(
  context: CheckContext<Module>,
  withFaults: boolean,
  examples: Action[][],
  runs: number,
) {
  const database = await context.postgres();
  const engine = await privateEngine();
  const admin = await database.pool();
  const starting = await startingUsers();
  const dbs = {
    yours: await openDb(database.url, "yours", admin),
    reference: await openDb(database.url, "reference", admin),
  };
  context.after(async () => {
    for (const db of Object.values(dbs)) await Promise.all([db.app.end(), db.yours.end()]);
  });
  const build = async (side: Side, routes: Module["passwordRoutes"]): Promise<Express> => {
    const db = dbs[side.name];
    await reset(db, starting);
    const app = createApp(db.app, { pruneSeconds: 3600 });
    app.use(routes(db.yours), storeErrorHandler);
    return app;
  };
  const fault = fc.record({
    do: fc.constant("fail" as const),
    nth: fc.constantFrom<Fault>(2, 1, -1, 3, "commit", "store"),
  });
  const model: Model<Action> = {
    visitors: VISITORS,
    action: fc.oneof(
      ...clientActions,
      ...(withFaults ? [{ arbitrary: fault as fc.Arbitrary<Action>, weight: 3 }] : []),
    ),
    examples,
    describe,
    actor: (a) => ("who" in a ? a.who : undefined),
    perform: (a, side) => perform(dbs, engine, a, side),
    body: (a, answer, side) => body(dbs, a, answer, side),
    cookie: cookieOf,
    session: (data) => data,
    probe: (sideName) => {
      const db = dbs[sideName];
      db.probe = new StoreProbe(
        () => sessionsOf(db),
        () => settle(db),
      );
      return db.probe;
    },
    allowed: [
      {
        name: "any 5xx when PostgreSQL refuses a write",
        apply: (o) => (o.status >= 500 ? { ...o, status: 503 } : o),
      },
      {
        name: "how the session store is called (get, set, touch, destroy)",
        apply: (o) => {
          const traffic: Record<string, number> = {};
          for (const [key, n] of Object.entries(o.traffic)) if (key.includes(" ")) traffic[key] = n;
          return { ...o, traffic };
        },
      },
      {
        name: "two changes at once: whether the one told 403 wrote before it found out (rolled back)",
        apply: (o, a) => {
          const tx = COMMITTED;
          if (a.do !== "both" || !o.traffic[tx]) return o;
          return { ...o, traffic: { ...o.traffic, [tx]: 1 } };
        },
      },
      {
        name: "which session id a cookie carries (only whether it was renewed is compared)",
        apply: (o, _a, side) => ({
          ...o,
          cookies: (o.cookies as { name: string; sid?: string; cleared: boolean }[]).map((c) => ({
            name: c.name,
            cleared: c.cleared,
            renewed: c.sid !== side.notes.sent,
          })),
        }),
      },
    ],
    rules: [raceRule, statusRule, sessionRule, cookieRule, bodyRule, trafficRule],
    createApp: (side) => build(side, context.module.passwordRoutes),
    createReference: (side) => build(side, reference.passwordRoutes),
  };
  await differential(model, { runs, maxActions: 6, shrinkTries: 6 });
}

export default defineCheck<Module>({
  entry: "password.ts",
  cases: [
    {
      name: "POST /password ends the user's other sessions, keeps this one under a new id, for any browsers in any order",
      timeoutMs: 40_000,
      run: (context) =>
        run(
          context,
          false,
          [
            // Two browsers of ada, one of bob: the change ends ada's other browser only.
            [login(A, 0), login(B, 0), login(C, 1), change(A), me(B), me(A), me(C)],
            // The other browser's request was under way (for nine minutes): its session must not
            // come back, though it had only two minutes left (and expired, its row still there, before
            // the change).
            [login(A, 0), login(B, 0, true), change(A, { inFlight: B }), me(B)],
            // A wrong current password (and the right one with spaces around it), a missing one,
            // a short new one, nobody logged in.
            [
              login(A, 0),
              login(B, 0),
              change(A, { current: "wrong" }),
              me(B),
              change(A, { current: "padded" }),
              change(A, { current: "missing" }),
              change(A, { next: "short" }),
              change(D),
            ],
            // A second change, with the password the first one set: its salt and hash were stored;
            // the same one in lowercase, or in NFKC, is another password (403).
            [
              login(A, 0),
              change(A),
              change(A),
              change(A, { current: "lowercased" }),
              change(A, { current: "nfkc" }),
              me(A),
            ],
            // Two browsers of ada change it at the same moment: one wins, the other gets 403.
            [login(A, 0), login(B, 0), login(C, 1), both(A, B), me(A), me(B), me(C)],
            // A's current password is wrong, B's is right: B's change must wait for A's to end
            // (not give up), then succeed.
            [login(A, 0), login(B, 0), both(A, B, true), me(A), me(B)],
            // Ada and bob change theirs at the same moment: neither waits for the other.
            [login(A, 0), login(C, 1), both(A, C), me(A), me(C)],
            // An anonymous visitor's session and bob's survive ada's change; then bob changes his.
            [
              visit(D),
              login(A, 0),
              login(C, 1),
              change(A),
              visit(D),
              login(B, 1),
              change(C),
              me(B),
            ],
          ],
          5,
        ),
    },
    {
      name: "a change that fails part-way changes nothing, and gives its client back",
      timeoutMs: 40_000,
      run: (context) =>
        run(
          context,
          true,
          [
            [login(A, 0), login(B, 0), { do: "fail", nth: 2 }, change(A), me(B), me(A)],
            [login(A, 0), login(B, 0), { do: "fail", nth: 1 }, change(A), me(B), change(A), me(B)],
            [login(A, 0), { do: "fail", nth: -1 }, change(A), me(A), change(A)],
            // The last write fails (a change of two writes: its COMMIT), then the COMMIT itself.
            [
              login(A, 0),
              login(B, 0),
              { do: "fail", nth: 3 },
              change(A),
              me(B),
              { do: "fail", nth: "commit" },
              change(A),
              me(B),
            ],
            // The change is committed; the session store fails as this browser's id is renewed.
            [login(A, 0), login(B, 0), { do: "fail", nth: "store" }, change(A), me(B)],
          ],
          3,
        ),
    },
  ],
});
