import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { MongoClient } from "mongodb";
import { waitUntil } from "../../lib/services/net.ts";
import {
  assertExitsWithMessage,
  assertForeignCookiesStartFresh,
  assertHungStoreAnswers503,
  assertPageVisitsSlideExpiry,
  assertSessionsSurviveRestart,
  Browser,
  startStep,
  usePrivateMongo,
} from "../../test/harness/index.ts";

import { createApp } from "./app.ts";

const STEP = "04-mongo-store";
const mongo = await usePrivateMongo();
const env = { MONGO_URL: mongo.url };

async function sessionsCollection(t: { after: (fn: () => Promise<void>) => void }) {
  const client = new MongoClient(mongo.url, { serverSelectionTimeoutMS: 2000 });
  await client.connect();
  t.after(() => client.close());
  return client.db().collection<{ _id: string; session: string; expires: Date }>("sessions");
}

test("sessions in MongoDB survive a restart of the server", async (t) => {
  await assertSessionsSurviveRestart(t, STEP, "mongo", { env });
});

test("each session is a document with `expires` = cookie.expires, under a TTL index", async (t) => {
  const server = await startStep(t, STEP, { env });
  const { sessionId } = await new Browser(server.url).visit();
  const sessions = await sessionsCollection(t);

  const document = await sessions.findOne({ _id: sessionId });
  assert.ok(document, `a document with _id ${sessionId} in the sessions collection`);
  const stored = JSON.parse(document.session);
  assert.equal(stored.visits, 1);
  assert.equal(document.expires.toISOString(), new Date(stored.cookie.expires).toISOString());

  const indexes = await sessions.indexes();
  const ttlIndex = indexes.find((index) => index.key.expires === 1);
  assert.ok(ttlIndex, "autoRemove: 'native' creates an index on expires");
  assert.equal(ttlIndex.expireAfterSeconds, 0, "documents go when `expires` is reached");
});

test("an expired document is not revived even before the TTL monitor deletes it", async (t) => {
  const server = await startStep(t, STEP, { env });
  const browser = new Browser(server.url);
  const { sessionId } = await browser.visit();
  const sessions = await sessionsCollection(t);
  await sessions.updateOne({ _id: sessionId }, { $set: { expires: new Date(Date.now() - 1000) } });

  const next = await browser.visit();
  assert.equal(next.visits, 1);
  assert.notEqual(next.sessionId, sessionId);
});

test("a tampered or unknown cookie starts a fresh session", async (t) => {
  const server = await startStep(t, STEP, { env });
  await assertForeignCookiesStartFresh(server.url);
});

test("a wrong MONGO_URL ends with a clear message and exit code 1, quickly", async (t) => {
  await assertExitsWithMessage(
    t,
    STEP,
    { MONGO_URL: "mongodb://127.0.0.1:1/workshop" },
    /MONGO_URL is set to mongodb:\/\/127\.0\.0\.1:1\/workshop/,
  );
});

test("on the page, the stored expiry slides with every visit", async (t) => {
  const sessions = await sessionsCollection(t);
  await assertPageVisitsSlideExpiry(t, STEP, { env }, async (id) => {
    const document = await sessions.findOne({ _id: id });
    assert.ok(document, `a document for ${id}`);
    // cookie.expires in the stored session: what the next write computes `expires` from.
    return Date.parse(JSON.parse(document.session).cookie.expires);
  });
});

test("a hung MongoDB (frozen): 503 within 3 s, the process lives on, the session goes on", async (t) => {
  await assertHungStoreAnswers503(t, STEP, mongo, { env });
});

// Last: it restarts the shared MongoDB, which (in memory) comes back empty.
test("MongoDB restarted without the TTL index: the step creates it again", async (t) => {
  const server = await startStep(t, STEP, { env });
  await new Browser(server.url).visit();
  await mongo.restart();
  const sessions = await sessionsCollection(t);
  await waitUntil(
    "the TTL index on expires to be back after the restart (visiting meanwhile)",
    async () => {
      await new Browser(server.url).request("/", { json: true }).then((r) => r.arrayBuffer());
      const indexes = await sessions.indexes().catch(() => []);
      return indexes.some((index) => index.key.expires === 1 && index.expireAfterSeconds === 0);
    },
    { timeoutMs: 30_000, everyMs: 250 },
  );
  assert.equal((await new Browser(server.url).visit()).visits, 1, "and the step serves on");
  assert.doesNotMatch(server.output(), /TypeError/);
});

test("one visit, one write: a returning visitor's visit updates its document once", async (t) => {
  process.env.SESSION_SECRET ??= "a-secret-for-this-test-only-0123456789";
  // The app in this process, over a client that reports every command it sends.
  const client = new MongoClient(mongo.url, { monitorCommands: true });
  await client.connect();
  const server = createApp(client).listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  t.after(async () => {
    server.close();
    await client.close();
  });
  const browser = new Browser(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  await browser.visit();
  let writes = 0;
  client.on("commandStarted", ({ commandName }) => {
    if (["update", "insert", "findAndModify"].includes(commandName)) writes += 1;
  });
  // express-session holds back the answer's last byte until its own end-of-request write is
  // done: once the answer is read, every write of this visit has been sent.
  assert.equal((await browser.visit()).visits, 2);
  assert.equal(writes, 1, `one visit wrote the session ${writes} times`);
});
