/**
 * Runs one SQL query on the workshop's PostgreSQL and prints the answer as psql would:
 *
 *   npm run sql -- "SELECT username, created_at FROM users"
 *
 * The PostgreSQL is the one the steps use: DATABASE_URL, else localhost:5432, else the embedded
 * one (started if needed). For a whole session, `psql "$DATABASE_URL"` does the same and more.
 */
import { postgresUrlForStep } from "../lib/services/postgres.ts";
import { psql } from "./walkthrough/sql.ts";

const query = process.argv.slice(2).join(" ").trim();
if (!query) {
  console.error('Give a query: npm run sql -- "SELECT username, created_at FROM users"');
  process.exit(1);
}
const url = await postgresUrlForStep((line) => console.error(line));
const lines = await psql(url, query);
for (const line of lines) console.log(line);
process.exit(lines[0]?.startsWith("ERROR:") ? 1 : 0);
