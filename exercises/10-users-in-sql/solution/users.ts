import type { Request } from "express";
import type { Pool } from "pg";
import { hashNewPassword, passwordMatches } from "../../../steps/05-login-logout/credentials.ts";
import type { User, UserStore } from "../../../steps/05-login-logout/users.ts";

/**
 * The users table, as step 05 makes it (steps/05-login-logout/tables.ts):
 *   users (id uuid, username text UNIQUE, password_salt bytea, password_hash bytea, created_at)
 * POOL is the process's one pool, made at start (steps/shared/postgres-pool.ts).
 */
export class Users implements UserStore {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  /**
   * TODO 1: insert the user (hashNewPassword gives the salt and hash to store) and resolve
   * { id, username }; resolve null when the name is taken, even when two registrations for
   * one name arrive at the same moment.
   */
  async register(username: string, password: string): Promise<User | null> {
    const { salt, hash } = await hashNewPassword(password);
    const { rows } = await this.pool.query<{ id: string }>(
      `INSERT INTO users (username, password_salt, password_hash) VALUES ($1, $2, $3)
       ON CONFLICT (username) DO NOTHING
       RETURNING id`,
      [username, salt, hash],
    );
    const row = rows[0];
    return row ? { id: row.id, username } : null;
  }

  /**
   * TODO 2: the user whose name is USERNAME when PASSWORD is theirs (passwordMatches), else
   * null. USERNAME is whatever the visitor typed: quotes and all.
   */
  async verify(username: string, password: string): Promise<User | null> {
    const { rows } = await this.pool.query<{ id: string; salt: Buffer; hash: Buffer }>(
      "SELECT id, password_salt AS salt, password_hash AS hash FROM users WHERE username = $1",
      [username],
    );
    const row = rows[0];
    return (await passwordMatches(password, row)) && row ? { id: row.id, username } : null;
  }

  /** TODO 3: the user with this id as the table has it now, or null when there is none. */
  async findById(id: string): Promise<User | null> {
    const { rows } = await this.pool.query<User>("SELECT id, username FROM users WHERE id = $1", [
      id,
    ]);
    return rows[0] ?? null;
  }
}

/**
 * TODO 4: the user this request is logged in as (the session holds `userId`), as the table has
 * it now: a user renamed since the login has the new name, a user deleted since is null (the
 * app then logs the session out). Null when nobody is logged in.
 */
export async function currentUser(req: Request, users: UserStore): Promise<User | null> {
  const { userId } = req.session;
  if (userId === undefined) return null;
  return users.findById(userId);
}
