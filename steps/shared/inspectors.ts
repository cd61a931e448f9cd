import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { MemoryStore, SessionData } from "express-session";
import type { Collection } from "mongodb";
import type { Pool } from "pg";
import type { RedisClient } from "./redis-client.ts";

/** What a store holds for one session, as the page's "session inspector" shows it. */
export interface StoredRecord {
  /** Where the record lives: a Redis key, a file, a MongoDB document. */
  where: string;
  /** The record exactly as the store keeps it. */
  raw: string;
  /** Seconds until the store forgets it; null when it never expires. */
  expiresInSeconds: number | null;
  /** How that number was read (e.g. "TTL sess:…"). */
  lifetimeSource: string;
}

/** Reads the stored record of one session, or null when the store holds none. */
export type Inspector = (sessionId: string) => Promise<StoredRecord | null>;

const secondsUntil = (time: number) => Math.round((time - Date.now()) / 1000);

/** MemoryStore keeps each session as a JSON string in an object inside this process. */
export function inspectMemory(store: MemoryStore): Inspector {
  return (sessionId) =>
    new Promise((resolve, reject) => {
      store.get(sessionId, (error, session) => {
        if (error) return reject(error);
        if (!session) return resolve(null);
        const expires = session.cookie.expires;
        resolve({
          where: "an object in this Node.js process's memory",
          raw: JSON.stringify(session),
          expiresInSeconds: expires ? secondsUntil(new Date(expires).getTime()) : null,
          lifetimeSource: "cookie.expires, checked by MemoryStore when the session is read",
        });
      });
    });
}

/** session-file-store keeps one JSON file per session; it expires __lastAccess + maxAge. */
export function inspectFile(directory: string): Inspector {
  return async (sessionId) => {
    const path = join(directory, `${sessionId}.json`);
    let raw: string;
    try {
      raw = await readFile(path, "utf8");
    } catch {
      return null;
    }
    const session = JSON.parse(raw) as SessionData & { __lastAccess?: number };
    const maxAge = session.cookie.originalMaxAge;
    return {
      where: `the file ${path}`,
      raw,
      expiresInSeconds:
        session.__lastAccess && maxAge ? secondsUntil(session.__lastAccess + maxAge) : null,
      lifetimeSource: "__lastAccess + cookie.originalMaxAge, from the file",
    };
  };
}

/** A Redis store keeps each session as a string under PREFIX + id, with a TTL. */
export function inspectRedis(client: RedisClient, prefix: string): Inspector {
  return async (sessionId) => {
    const key = prefix + sessionId;
    const [raw, ttl] = await Promise.all([client.get(key), client.ttl(key)]);
    if (raw === null) return null;
    return {
      where: `the Redis key ${key}`,
      raw,
      expiresInSeconds: ttl >= 0 ? ttl : null,
      lifetimeSource: `TTL ${key}`,
    };
  };
}

/** connect-mongo keeps one document per session: {_id, session, expires}. */
export function inspectMongo(collection: Collection<{ _id: string }>): Inspector {
  return async (sessionId) => {
    const document = await collection.findOne({ _id: sessionId });
    if (!document) return null;
    const expires = (document as { expires?: Date }).expires;
    return {
      where: `the document {_id: "${sessionId}"} in the collection ${collection.collectionName}`,
      raw: JSON.stringify(document, null, 2),
      expiresInSeconds: expires ? secondsUntil(expires.getTime()) : null,
      lifetimeSource: "the document's expires field; a TTL index deletes it then",
    };
  };
}

/** connect-pg-simple keeps one row per session in TABLE: (sid, sess json, expire). */
export function inspectPostgres(pool: Pool, table: string): Inspector {
  return async (sessionId) => {
    // expire is a timestamp without time zone in the server's zone: ask PostgreSQL for the
    // seconds left rather than read it in JavaScript's.
    const { rows } = await pool.query<{ sess: unknown; expire: string; left: number }>(
      `SELECT sess, expire::text AS expire, extract(epoch FROM expire - localtimestamp)::int AS left
       FROM "${table}" WHERE sid = $1`,
      [sessionId],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      where: `the row sid = '${sessionId}' of the table ${table}`,
      raw: JSON.stringify({ sid: sessionId, sess: row.sess, expire: row.expire }, null, 2),
      expiresInSeconds: row.left,
      lifetimeSource: "the row's expire column; connect-pg-simple deletes expired rows in batches",
    };
  };
}
