import assert from "node:assert/strict";
import { after, test } from "node:test";
import { MongoClient } from "mongodb";
import pg from "pg";
import { createClient } from "redis";
import {
  needsPostgresql,
  usePrivateMongo,
  usePrivatePostgres,
  usePrivateRedis,
} from "../../test/harness/index.ts";
import { isStoreOutage } from "./store-errors.ts";

// What storeErrorHandler calls an outage (503) and what it does not (500), with the errors the
// real drivers raise against real servers: told by their classes and codes, not by words.

// Awaited before the first test(): an await between two test() calls lets node:test run the
// first and, finding nothing after it, the file's after() hooks, before the second exists.
const withoutPostgresql = await needsPostgresql();
const [redis, mongo, postgres] = await Promise.all([
  usePrivateRedis(),
  usePrivateMongo(),
  usePrivatePostgres(),
]);

/** The error PROMISE rejects with. */
async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the operation to fail");
}

test("Redis refusing a write (OOM under maxmemory) is an outage; a wrong command is not", async () => {
  const client = createClient({ url: redis.url });
  await client.connect();
  after(() => client.close());
  await client.configSet({ maxmemory: "1", "maxmemory-policy": "noeviction" });
  try {
    const refused = await errorOf(client.set("k", "v"));
    assert.match(String(refused), /OOM/);
    assert.equal(isStoreOutage(refused), true, "OOM: try again later (503)");
  } finally {
    await client.configSet("maxmemory", "0");
  }
  const wrongType = await errorOf(client.sendCommand(["NOSUCHCOMMAND"]));
  assert.equal(isStoreOutage(wrongType), false, "an unknown command is a bug (500)");
});

test("Redis gone (a closed client) is an outage", async () => {
  const client = createClient({ url: redis.url });
  await client.connect();
  await client.close();
  assert.equal(isStoreOutage(await errorOf(client.get("k"))), true);
});

test("a MongoDB duplicate key is not an outage; no server is", async () => {
  const client = new MongoClient(mongo.url, { serverSelectionTimeoutMS: 2000 });
  await client.connect();
  after(() => client.close());
  const collection = client.db().collection<{ _id: string }>("duplicates");
  await collection.insertOne({ _id: "one" });
  const duplicate = await errorOf(collection.insertOne({ _id: "one" }));
  assert.equal((duplicate as { code?: number }).code, 11000);
  assert.equal(isStoreOutage(duplicate), false, "a duplicate key is a bug, not an outage");

  const nobody = new MongoClient("mongodb://127.0.0.1:1/x", { serverSelectionTimeoutMS: 300 });
  assert.equal(isStoreOutage(await errorOf(nobody.connect())), true, "no server: 503");
});

test("words in a message make no outage: an Error that says 'Socket timeout' is a 500", () => {
  assert.equal(isStoreOutage(new Error("Socket timeout in Redis Mongo ECONNRESET")), false);
  const readOnlyDisk = Object.assign(new Error("read-only"), { code: "EROFS" });
  assert.equal(isStoreOutage(readOnlyDisk), true, "a disk refusing writes is an outage");
});

test("PostgreSQL cancelling a query after statement_timeout or lock_timeout is an outage; a duplicate is not", {
  skip: withoutPostgresql,
}, async () => {
  const [holder, waiter] = [new pg.Client(postgres.url), new pg.Client(postgres.url)];
  await Promise.all([holder.connect(), waiter.connect()]);
  after(() => Promise.all([holder.end(), waiter.end()]));
  await waiter.query("CREATE TABLE IF NOT EXISTS outage_probe (id int PRIMARY KEY)");
  await waiter.query("INSERT INTO outage_probe VALUES (1) ON CONFLICT DO NOTHING");

  await waiter.query("SET statement_timeout = 50");
  const slow = await errorOf(waiter.query("SELECT pg_sleep(5)"));
  assert.equal((slow as { code?: string }).code, "57014");
  assert.equal(isStoreOutage(slow), true, "statement_timeout: 503");

  await waiter.query("SET statement_timeout = 0; SET lock_timeout = 50");
  await holder.query("BEGIN; LOCK TABLE outage_probe IN ACCESS EXCLUSIVE MODE");
  const locked = await errorOf(waiter.query("SELECT * FROM outage_probe"));
  await holder.query("ROLLBACK");
  assert.equal((locked as { code?: string }).code, "55P03");
  assert.equal(isStoreOutage(locked), true, "lock_timeout: 503");

  const duplicate = await errorOf(waiter.query("INSERT INTO outage_probe VALUES (1)"));
  assert.equal(isStoreOutage(duplicate), false, "a unique violation is a bug or a race: 500");
});
