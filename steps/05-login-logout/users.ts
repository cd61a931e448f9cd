import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";
import type { Pool } from "pg";

/** What the rest of the app knows about a user: never the password, never its hash. */
export interface User {
  id: string;
  username: string;
}

const USERNAME = /^[a-z0-9_-]{3,32}$/;
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 128;

/**
 * scrypt's cost. OWASP's Password Storage Cheat Sheet asks for N=2^17 (128 MiB per hash); 2^15
 * (32 MiB, tens of ms) keeps the workshop quick on a laptop. Raise N for a real deployment.
 */
const SCRYPT: ScryptOptions = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 64;

/** Usernames are case-insensitive: "Alice" and "alice" are the same user. */
export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

/** Why USERNAME and PASSWORD cannot make a new account, or null when they can. */
export function invalidNewUser(username: string, password: string): string | null {
  if (!USERNAME.test(username)) {
    return "A username is 3 to 32 characters: letters, digits, _ or -.";
  }
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
    return `A password is ${MIN_PASSWORD} to ${MAX_PASSWORD} characters long.`;
  }
  return null;
}

function hashPassword(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, SCRYPT, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/**
 * Hashed with a random salt at start-up: a login for a name nobody registered is checked
 * against it, so it takes as long as a wrong password and the timing does not tell the two apart.
 */
const NOBODY = { salt: randomBytes(16), hash: randomBytes(KEY_LENGTH) };

/** A user id as PostgreSQL's uuid type writes it. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The users table (database.ts), through the process's one pool. Every query passes its values
 * as parameters ($1, $2): PostgreSQL receives them apart from the SQL text, so no username,
 * whatever quotes it holds, can ever become SQL.
 */
export class Users {
  constructor(private readonly pool: Pool) {}

  /** Creates the user; resolves null when the name is taken. Validate with invalidNewUser first. */
  async register(username: string, password: string): Promise<User | null> {
    // A salt of its own per user: the same password gives a different hash for each user, and
    // a table of precomputed hashes is useless.
    const salt = randomBytes(16);
    const hash = await hashPassword(password, salt);
    // The UNIQUE constraint on username decides: of two registrations racing for one name,
    // exactly one row is inserted; the other gets no row back (ON CONFLICT DO NOTHING).
    const { rows } = await this.pool.query<{ id: string }>(
      `INSERT INTO users (username, password_salt, password_hash) VALUES ($1, $2, $3)
       ON CONFLICT (username) DO NOTHING
       RETURNING id`,
      [username, salt, hash],
    );
    const row = rows[0];
    return row ? { id: row.id, username } : null;
  }

  /** The user when USERNAME and PASSWORD match, else null (whichever of the two was wrong). */
  async verify(username: string, password: string): Promise<User | null> {
    const { rows } = await this.pool.query<{
      id: string;
      password_salt: Buffer;
      password_hash: Buffer;
    }>("SELECT id, password_salt, password_hash FROM users WHERE username = $1", [username]);
    const row = rows[0];
    const actual = await hashPassword(password, row ? row.password_salt : NOBODY.salt);
    const expected = row ? row.password_hash : NOBODY.hash;
    // timingSafeEqual takes as long whatever the first differing byte: an attacker cannot
    // learn the hash byte by byte from how fast the answer comes.
    const matches = actual.length === expected.length && timingSafeEqual(actual, expected);
    return row && matches ? { id: row.id, username } : null;
  }

  /**
   * The user as the database has it now, or null when there is no such user (deleted). The
   * session keeps only the id: a rename or a deletion shows on the very next request.
   */
  async findById(id: string): Promise<User | null> {
    if (!UUID.test(id)) return null; // not an id we ever made: no need to ask
    const { rows } = await this.pool.query<User>("SELECT id, username FROM users WHERE id = $1", [
      id,
    ]);
    return rows[0] ?? null;
  }
}
