import type { Pool } from "pg";
import { migrate } from "../shared/postgres-pool.ts";

/**
 * The app's tables, made when missing (a migration, run at every start). The unique
 * constraint on username is what makes a registration atomic: of two racing for one name,
 * PostgreSQL lets exactly one insert.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text NOT NULL UNIQUE,
    password_salt bytea NOT NULL,
    password_hash bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE IF NOT EXISTS statuses (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 280),
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX IF NOT EXISTS statuses_by_user ON statuses (user_id, created_at DESC);
`;

/** Makes the users and statuses tables if missing. */
export function migrateUsers(pool: Pool): Promise<void> {
  return migrate(pool, SCHEMA, 20250505);
}
