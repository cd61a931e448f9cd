import type { Request } from "express";
import type { Pool } from "pg";
import { hashNewPassword, passwordMatches } from "./credentials.ts";
import "./session-data.ts";

/** What the rest of the app knows about a user: never the password, never its hash. */
export interface User {
  id: string;
  username: string;
}

/** What the app asks of its users table. */
export interface UserStore {
  register(username: string, password: string): Promise<User | null>;
  verify(username: string, password: string): Promise<User | null>;
  findById(id: string): Promise<User | null>;
}

/** A user id as PostgreSQL's uuid type writes it. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The users table (tables.ts), through the process's one pool. Every query passes its values
 * as parameters ($1, $2): PostgreSQL receives them apart from the SQL text, so no username,
 * whatever quotes it holds, can ever become SQL.
 */
export class Users implements UserStore {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  /**
   * Creates the user; resolves null when the name is taken. USERNAME is normalized and
   * valid (credentials.ts).
   */
  async register(username: string, password: string): Promise<User | null> {
    const { salt, hash } = await hashNewPassword(password);
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
    const { rows } = await this.pool.query<{ id: string; salt: Buffer; hash: Buffer }>(
      "SELECT id, password_salt AS salt, password_hash AS hash FROM users WHERE username = $1",
      [username],
    );
    const row = rows[0];
    return (await passwordMatches(password, row)) && row ? { id: row.id, username } : null;
  }

  /** The user as the database has it now, or null when there is no such user (deleted). */
  async findById(id: string): Promise<User | null> {
    if (!UUID.test(id)) return null; // not an id we ever made: no need to ask
    const { rows } = await this.pool.query<User>("SELECT id, username FROM users WHERE id = $1", [
      id,
    ]);
    return rows[0] ?? null;
  }
}

/**
 * The user this request is logged in as, read from the database; null when nobody is logged
 * in, or when the user was deleted since. The session holds the user's id, the database holds
 * the user: a rename or a deletion shows on the very next request.
 */
export async function currentUser(req: Request, users: UserStore): Promise<User | null> {
  const { userId } = req.session;
  if (userId === undefined) return null;
  const user = await users.findById(userId);
  // The copy of the name the login page greets with ("Logged in as …") follows the database.
  if (user && req.session.username !== user.username) req.session.username = user.username;
  return user;
}
