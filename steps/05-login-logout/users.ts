import { randomBytes, randomUUID, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";
import type { RedisClient } from "../shared/redis-client.ts";

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

/** The Redis hash that holds one user: HGETALL user:alice */
const userKey = (username: string) => `user:${username}`;

/**
 * Hashed with a random salt at start-up: a login for a name nobody registered is checked
 * against it, so it takes as long as a wrong password and the timing does not tell the two apart.
 */
const NOBODY = { salt: randomBytes(16), hash: randomBytes(KEY_LENGTH) };

export class Users {
  constructor(private readonly redis: RedisClient) {}

  /** Creates the user; resolves null when the name is taken. Validate with invalidNewUser first. */
  async register(username: string, password: string): Promise<User | null> {
    // A salt of its own per user: the same password gives a different hash for each user, and
    // a table of precomputed hashes is useless.
    const salt = randomBytes(16);
    const hash = await hashPassword(password, salt);
    const user: User = { id: randomUUID(), username };
    // HSETNX writes the field only when it does not exist yet: of two registrations racing for
    // one name, exactly one claims it. The rest of the record follows.
    const claimed = await this.redis.hSetNX(userKey(username), "id", user.id);
    if (claimed === 0) return null;
    await this.redis.hSet(userKey(username), {
      username,
      salt: salt.toString("hex"),
      hash: hash.toString("hex"),
      createdAt: new Date().toISOString(),
    });
    return user;
  }

  /** The user when USERNAME and PASSWORD match, else null (whichever of the two was wrong). */
  async verify(username: string, password: string): Promise<User | null> {
    const { id, salt, hash } = await this.redis.hGetAll(userKey(username));
    const known = id !== undefined && salt !== undefined && hash !== undefined;
    const actual = await hashPassword(password, known ? Buffer.from(salt, "hex") : NOBODY.salt);
    const expected = known ? Buffer.from(hash, "hex") : NOBODY.hash;
    // timingSafeEqual takes as long whatever the first differing byte: an attacker cannot
    // learn the hash byte by byte from how fast the answer comes.
    const matches = actual.length === expected.length && timingSafeEqual(actual, expected);
    return known && matches ? { id, username } : null;
  }
}
