import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

const USERNAME = /^[a-z0-9_-]{3,32}$/;
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 128;

/**
 * scrypt's cost. OWASP's Password Storage Cheat Sheet asks for N=2^17 (128 MiB per hash); 2^15
 * (32 MiB, tens of ms) keeps the workshop quick on a laptop. Raise N for a real deployment:
 * SCRYPT_N sets it from the environment, as the secret is set. (The tests and the exercise
 * checks set 2^10: they hash hundreds of passwords to test sessions, not hashing.)
 */
const N = scryptCost(process.env.SCRYPT_N ?? String(2 ** 15));
// maxmem: scrypt needs 128 × N × r bytes, and refuses to run past maxmem (default 32 MiB).
const SCRYPT: ScryptOptions = { N, r: 8, p: 1, maxmem: 2 * 128 * N * 8 };
const KEY_LENGTH = 64;

/**
 * Usernames are case-insensitive: "Alice" and "alice" are the same user. And NFC, as passwords
 * (below): one name, however the keyboard composed its letters.
 */
export function normalizeUsername(username: string): string {
  return username.normalize("NFC").trim().toLowerCase();
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

function scryptCost(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(Math.log2(n)) || n < 2 ** 10 || n > 2 ** 20) {
    throw new Error(`SCRYPT_N is "${value}": scrypt's cost is a power of two, 1024 to 1048576`);
  }
  return n;
}

/** What is stored for a password: never the password itself. */
export interface PasswordHash {
  /** 16 random bytes, a new one per user: the same password gives each user another hash. */
  salt: Buffer;
  /** scrypt(password, salt): 64 bytes. */
  hash: Buffer;
}

function scryptHash(password: string, salt: Buffer): Promise<Buffer> {
  // Unicode has two ways to write "é": one character (U+00E9), or e + U+0301 (macOS, some
  // keyboards). They look the same and are different bytes: NFC makes them one, at
  // registration and at every login alike (both hash here).
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFC"), salt, KEY_LENGTH, SCRYPT, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** A new salt, and the hash of PASSWORD with it: what registration stores. */
export async function hashNewPassword(password: string): Promise<PasswordHash> {
  const salt = randomBytes(16);
  return { salt, hash: await scryptHash(password, salt) };
}

/**
 * Hashed with a random salt at start-up: a login for a name nobody registered is checked
 * against it, so it takes as long as a wrong password and the timing does not tell the two apart.
 */
const NOBODY: PasswordHash = { salt: randomBytes(16), hash: randomBytes(KEY_LENGTH) };

/**
 * Whether PASSWORD is the one STORED was made from; with no STORED (an unknown name) it
 * takes as long, and says no.
 */
export async function passwordMatches(
  password: string,
  stored: PasswordHash | undefined,
): Promise<boolean> {
  const { salt, hash } = stored ?? NOBODY;
  const actual = await scryptHash(password, salt);
  // timingSafeEqual takes as long whatever the first differing byte: an attacker cannot
  // learn the hash byte by byte from how fast the answer comes.
  const matches = actual.length === hash.length && timingSafeEqual(actual, hash);
  return stored !== undefined && matches;
}
