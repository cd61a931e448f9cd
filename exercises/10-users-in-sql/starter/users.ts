import type { Request } from "express";
import type { Pool } from "pg";
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
    throw new Error("TODO 1: register");
  }

  /**
   * TODO 2: the user whose name is USERNAME when PASSWORD is theirs (passwordMatches), else
   * null. USERNAME is whatever the visitor typed: quotes and all.
   */
  async verify(username: string, password: string): Promise<User | null> {
    throw new Error("TODO 2: verify");
  }

  /** TODO 3: the user with this id as the table has it now, or null when there is none. */
  async findById(id: string): Promise<User | null> {
    throw new Error("TODO 3: findById");
  }
}

/**
 * TODO 4: the user this request is logged in as (the session holds `userId`), as the table has
 * it now: a user renamed since the login has the new name, a user deleted since is null (the
 * app then logs the session out). Null when nobody is logged in.
 */
export async function currentUser(req: Request, users: UserStore): Promise<User | null> {
  throw new Error("TODO 4: currentUser");
}
