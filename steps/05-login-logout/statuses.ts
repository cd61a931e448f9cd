import type { Pool } from "pg";

/** A short message a user posts on their home page. */
export interface Status {
  body: string;
  postedAt: Date;
}

export const MAX_STATUS = 280;

/** Why BODY cannot be posted, or null when it can. */
export function invalidStatus(body: string): string | null {
  return body.length >= 1 && body.length <= MAX_STATUS
    ? null
    : `A status is 1 to ${MAX_STATUS} characters long.`;
}

/**
 * Each user's statuses, in the database: data that belongs to the user and outlives every
 * login. A session holds who is logged in, never this (it would be lost at logout, and copied
 * into every request).
 */
export class Statuses {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  async post(userId: string, body: string): Promise<void> {
    await this.pool.query("INSERT INTO statuses (user_id, body) VALUES ($1, $2)", [userId, body]);
  }

  /** The user's latest statuses, newest first. */
  async latest(userId: string, limit = 10): Promise<Status[]> {
    const { rows } = await this.pool.query<Status>(
      `SELECT body, created_at AS "postedAt" FROM statuses
       WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
      [userId, limit],
    );
    return rows;
  }
}
