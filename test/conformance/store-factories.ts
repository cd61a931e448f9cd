/**
 * The stores the conformance cases run against, each as a StoreProfile: how to make a fresh
 * one, how to spoil one of its records, and how it behaves where stores differ. Every
 * difference from the contract names its upstream source, so a learner can read why.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import MongoStore from "connect-mongo";
import connectPgSimple from "connect-pg-simple";
import { RedisStore } from "connect-redis";
import session, { MemoryStore, type Store } from "express-session";
import { MongoClient } from "mongodb";
import pg from "pg";
import createFileStore from "session-file-store";
import type { RedisSessionStore } from "../../steps/07-own-store/redis-session-store.ts";
import { createRedisClient, type RedisClient } from "../../steps/shared/redis-client.ts";
import type { Behaviour, StoreProfile } from "./store-cases.ts";

/** What both Redis stores do for a value they cannot parse: written under PREFIX + id. */
const UNPARSABLE = '{"cookie": {"originalMaxAge": 18';

let namespaces = 0;
/** A name no other fresh store of this run uses (key prefix, collection, folder). */
const namespace = () => `conformance${process.pid}n${++namespaces}`;

/** express-session's own MemoryStore: the reference, and what step 01 uses. */
export function memoryProfile(): StoreProfile {
  return {
    name: "MemoryStore (express-session)",
    behaviour: {
      missing: "null",
      expiresFromGet: "ISO string",
      addedFields: [],
      touchOfUnknown: "nothing",
      // The README says all() gives an array; MemoryStore gives {id: session}, and the README
      // was left as it is: https://github.com/expressjs/session/pull/700
      all: "object by id",
      lengthCounts: "live sessions",
      // get() parses synchronously, before deferring the callback, so JSON.parse's
      // SyntaxError is thrown at the caller (session/memory.js, get → getSession). Only
      // MemoryStore itself writes its values, so this needs a bug or a test to happen.
      corrupt: "throws",
    },
    async fresh() {
      const store = new MemoryStore();
      return {
        store,
        async corrupt(sessionId) {
          // MemoryStore keeps each session as a JSON string in its (undocumented) `sessions`.
          (store as unknown as { sessions: Record<string, string> }).sessions[sessionId] =
            UNPARSABLE;
        },
      };
    },
    async close() {},
  };
}

/** session-file-store, as in step 02: one JSON file per session. */
export function fileProfile(): StoreProfile {
  const FileStore = createFileStore(session);
  const folders: string[] = [];
  return {
    name: "session-file-store",
    behaviour: {
      // A missing file is fs.readFile's ENOENT error, passed on as it is; express-session
      // reads code ENOENT as "no session" (lib/session-file-helpers.js, helpers.get).
      missing: "ENOENT error",
      expiresFromGet: "ISO string",
      // set() stamps __lastAccess (ms) on the session, and the file keeps it: its expiry is
      // __lastAccess + cookie.originalMaxAge (helpers.setLastAccess, helpers.isExpired).
      addedFields: ["__lastAccess"],
      // touch() reads the file first and passes on the ENOENT error when there is none
      // (helpers.touch).
      touchOfUnknown: "error",
      // No all(); list() gives file names only.
      all: "none",
      // length() counts the .json files in the folder, expired or not, until the reaper
      // deletes them (helpers.length; reaping every `reapInterval` seconds).
      lengthCounts: "expired ones too",
      // The file is deleted and the SyntaxError passed on (helpers.get); step 02 turns it
      // into ENOENT with a `decoder`, so the visitor gets a fresh session.
      corrupt: "error",
    },
    async fresh() {
      const folder = mkdtempSync(join(tmpdir(), "workshop-conformance-files-"));
      folders.push(folder);
      const store = new FileStore({
        path: folder,
        // The default, 5 retries 50–100 ms apart, makes every missing file take ~0.5 s and
        // print "will retry" 5 times: https://github.com/valery-barysok/session-file-store/issues/48
        retries: 0,
        reapInterval: -1, // no reaper timer: the cases create and throw away many stores
        logFn: () => {},
      });
      return {
        store,
        async corrupt(sessionId) {
          writeFileSync(join(folder, `${sessionId}.json`), UNPARSABLE);
        },
      };
    },
    async close() {
      for (const folder of folders) rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** connect-redis 9 over node-redis 5, as in step 03. */
export function connectRedisProfile(redisUrl: string): Promise<StoreProfile> {
  return redisProfile(redisUrl, (client, prefix) => new RedisStore({ client, prefix }), {
    name: "connect-redis",
    behaviour: {
      missing: "null",
      expiresFromGet: "ISO string",
      addedFields: [],
      touchOfUnknown: "nothing", // EXPIRE of a missing key does nothing
      // An array, each session with an `id` field added (RedisStore#all).
      all: "array with ids",
      lengthCounts: "live sessions",
      // The serializer's SyntaxError is passed to the callback (RedisStore#get), so
      // express-session answers 500 on that visitor's requests until the key expires.
      corrupt: "error",
    },
  });
}

/** connect-mongo 6, as in step 04 (a collection of its own per fresh store). */
export async function connectMongoProfile(mongoUrl: string): Promise<StoreProfile> {
  const client = await new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 5000 }).connect();
  return {
    name: "connect-mongo",
    behaviour: {
      missing: "null",
      expiresFromGet: "ISO string", // stringify: true (the default) keeps the session as JSON
      addedFields: [],
      // updateOne matched nothing → "Unable to find the session to touch" (MongoStore#touch).
      // In production it shows up when the TTL monitor deleted a session between the get and
      // the touch of one request: https://github.com/jdesboeufs/connect-mongo/issues/459
      touchOfUnknown: "error",
      // An array, without the ids (MongoStore#all pushes the unserialized session only).
      all: "array without ids",
      // countDocuments() with no filter, while get() and all() skip expired documents
      // (MongoStore#length). They stay until MongoDB's TTL monitor (about once a minute)
      // deletes them.
      lengthCounts: "expired ones too",
      // JSON.parse's SyntaxError reaches the callback (MongoStore#get).
      corrupt: "error",
    },
    async fresh() {
      const collectionName = namespace();
      return {
        store: MongoStore.create({
          client,
          collectionName,
          // No TTL index: a test must not race MongoDB's TTL monitor (about once a minute).
          // get() ignores expired documents either way.
          autoRemove: "disabled",
        }),
        async corrupt(sessionId) {
          await client
            .db()
            .collection<{ _id: string }>(collectionName)
            .updateOne({ _id: sessionId }, { $set: { session: UNPARSABLE } });
        },
      };
    },
    close: () => client.close(),
  };
}

/** connect-pg-simple: one row per session in a PostgreSQL table (sid, sess json, expire). */
export async function connectPgSimpleProfile(url: string, engine: string): Promise<StoreProfile> {
  const PgStore = connectPgSimple(session);
  const pool = new pg.Pool({ connectionString: url, max: 5 });
  const stores: { close(): Promise<void> | void }[] = [];
  return {
    name: `connect-pg-simple (${engine})`,
    behaviour: {
      missing: "null",
      // The sess column is json: what was a Date is read back as its ISO string.
      expiresFromGet: "ISO string",
      addedFields: [],
      // An UPDATE … WHERE sid = $2 that matches no row is not an error (PGStore#touch).
      touchOfUnknown: "nothing",
      // No all(), length() or clear(): connect-pg-simple implements get, set, destroy, touch.
      all: "none",
      lengthCounts: "no length()",
      // JSON.parse of a sess that is a string fails; get() then destroys the row and calls
      // back with nothing (PGStore#get).
      corrupt: "null",
    },
    async fresh() {
      // A schema of its own: the package's table.sql names its primary key "session_pkey",
      // so two session tables cannot share one schema.
      const schemaName = namespace();
      await pool.query(`CREATE SCHEMA "${schemaName}"`);
      const store = new PgStore({
        pool,
        schemaName,
        tableName: "session",
        createTableIfMissing: true, // CREATE TABLE from the package's table.sql, on first use
        pruneSessionInterval: false, // no background DELETE racing the cases
      });
      stores.push(store);
      return {
        store,
        async corrupt(sessionId) {
          // The column's type is json, so it cannot hold broken JSON: store a JSON *string*
          // holding broken JSON, as an app that double-encoded its data would.
          await pool.query(
            `UPDATE "${schemaName}".session SET sess = to_json($1::text) WHERE sid = $2`,
            [UNPARSABLE, sessionId],
          );
        },
      };
    },
    async close() {
      for (const store of stores) await store.close();
      await pool.end();
    },
  };
}

/** The store of step 07: the contract, with no known difference. */
export function ownStoreProfile(
  StoreClass: typeof RedisSessionStore,
  redisUrl: string,
  name = "own RedisSessionStore (step 07)",
): Promise<StoreProfile> {
  return redisProfile(redisUrl, (client, prefix) => new StoreClass({ client, prefix }), {
    name,
    behaviour: OWN_STORE_BEHAVIOUR,
  });
}

/** What the store written in step 07 does (see steps/07-own-store/redis-session-store.ts). */
export const OWN_STORE_BEHAVIOUR: Behaviour = {
  missing: "null",
  expiresFromGet: "Date",
  addedFields: [],
  touchOfUnknown: "nothing",
  all: "object by id",
  lengthCounts: "live sessions",
  corrupt: "null", // a fresh session for the visitor; the unreadable key is deleted
};

/** A profile for a store over Redis: one client, and a key prefix of its own per fresh store. */
async function redisProfile(
  url: string,
  makeStore: (client: RedisClient, prefix: string) => Store,
  about: Pick<StoreProfile, "name" | "behaviour">,
): Promise<StoreProfile> {
  const client = createRedisClient(url);
  await client.connect();
  return {
    ...about,
    async fresh() {
      const prefix = `${namespace()}:`;
      return {
        store: makeStore(client, prefix),
        corrupt: (sessionId) => spoilRedisKey(client, prefix + sessionId),
      };
    },
    close: () => client.close(),
  };
}

/** Overwrites a session's value with text that is not JSON, keeping the key's TTL. */
async function spoilRedisKey(client: RedisClient, key: string): Promise<void> {
  await client.set(key, UNPARSABLE, { expiration: "KEEPTTL" });
}
