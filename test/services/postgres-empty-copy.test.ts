/**
 * The tests' private PostgreSQL servers start from a copy of the empty data folder that the
 * first initdb left in .workshop/postgresql/ (lib/services/postgres.ts): each server gets a copy
 * of its own, so what one writes is in no other and not in the kept folder.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import pg from "pg";
import { startPrivatePostgres } from "../../lib/services/postgres.ts";
import { needsPostgresql } from "../harness/index.ts";

const skip = await needsPostgresql();

test("servers started from the kept empty folder share nothing", { skip }, async () => {
  const first = await startPrivatePostgres("postgresql");
  after(() => first.stop());
  const written = new pg.Client(first.url);
  await written.connect();
  await written.query("CREATE TABLE written (n int)");
  await written.end();
  // Started after the first wrote: from the kept copy, which must still be empty.
  const second = await startPrivatePostgres("postgresql");
  after(() => second.stop());
  const other = new pg.Client(second.url);
  await other.connect();
  const { rows } = await other.query("SELECT to_regclass('written') AS found");
  await other.end();
  assert.equal(rows[0]?.found, null, "the second server has the first one's table");
});
