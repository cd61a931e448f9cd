import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { type Document, MongoClient } from "mongodb";
import { Browser, usePrivateMongo } from "../harness/index.ts";
import { listen } from "./listen.ts";
import { importTarget } from "./target.ts";

const { createApp } =
  await importTarget<typeof import("../../solutions/04-fewer-writes/app.ts")>("app.ts");

const COLLECTION = "workshop_sessions";
const WRITE_COMMANDS = new Set(["insert", "update", "delete", "findAndModify"]);
const mongo = await usePrivateMongo();

interface RunningApp {
  browser: Browser;
  client: MongoClient;
  /** How many write commands the app sent to MongoDB so far. */
  writes(): number;
  /** The collections it wrote to. */
  written: Set<string>;
}

/**
 * The exercise's app over a MongoClient of its own, which reports every command it sends
 * (command monitoring): that is how the check counts the writes.
 */
async function startApp(t: TestContext): Promise<RunningApp> {
  const client = new MongoClient(mongo.url, {
    monitorCommands: true,
    serverSelectionTimeoutMS: 2000,
  });
  let writes = 0;
  const written = new Set<string>();
  client.on("commandStarted", (event) => {
    if (!WRITE_COMMANDS.has(event.commandName)) return;
    writes++;
    written.add(String(event.command[event.commandName])); // {update: "<collection>", ...}
  });
  await client.connect();
  t.after(() => client.close());
  const browser = new Browser(await listen(t, createApp(client)));
  return { browser, client, writes: () => writes, written };
}

/** The session's document, in whichever collection the app wrote it. */
async function findSession({ client, written }: RunningApp, sessionId: string) {
  for (const name of written) {
    const collection = client.db().collection<Document & { _id: string }>(name);
    const document = await collection.findOne({ _id: sessionId });
    if (document) return { collection, document };
  }
  assert.fail(`after a visit, MongoDB holds no document with _id ${sessionId} in any collection`);
}

/** Requests that pass through the session middleware and change nothing in the session. */
async function unchangedRequests(browser: Browser, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await browser.request("/favicon.ico");
    assert.equal(response.status, 404, `GET /favicon.ico answered ${response.status}`);
    // express-session sends the headers first and ends the body after the store's touch:
    // read the body to the end, so that any write has happened.
    await response.text();
  }
}

test(`each session is a document in the collection ${COLLECTION}`, async (t) => {
  const app = await startApp(t);
  const { sessionId } = await app.browser.visit();

  const { collection, document } = await findSession(app, sessionId);
  assert.equal(
    collection.collectionName,
    COLLECTION,
    `expected the session in the collection ${COLLECTION}, found it in ${collection.collectionName}`,
  );
  assert.equal(JSON.parse(document.session).visits, 1, "the document holds the session");

  const page = await (await app.browser.request("/", { json: false })).text();
  assert.ok(
    page.includes(`in the collection ${COLLECTION}`),
    `the page's session inspector does not read the collection ${COLLECTION}: give ` +
      "inspectMongo the same collection as the store",
  );
});

test("requests that change nothing in the session write nothing for a minute", async (t) => {
  const { browser, writes } = await startApp(t);
  await browser.visit();

  const before = writes();
  await unchangedRequests(browser, 5);
  const touches = writes() - before;
  assert.equal(
    touches,
    0,
    `5 requests that changed nothing in the session (GET /favicon.ico) wrote to MongoDB ` +
      `${touches} times. A session written less than a minute ago should not be touched again`,
  );

  const beforeVisit = writes();
  assert.equal((await browser.visit()).visits, 2);
  assert.equal(
    writes() - beforeVisit,
    1,
    "a visit that changed the session should still write it at once, exactly once",
  );
});

test("a minute after the last write, the next request touches the session once", async (t) => {
  const app = await startApp(t);
  const { browser, writes } = app;
  const { sessionId } = await browser.visit();
  const { collection, document } = await findSession(app, sessionId);
  assert.ok(
    document.lastModified instanceof Date,
    "the session's document has no lastModified field: connect-mongo keeps one only when " +
      "its touchAfter option is set",
  );

  const lastWrite = async (secondsAgo: number) => {
    const lastModified = new Date(Date.now() - secondsAgo * 1000);
    await collection.updateOne({ _id: sessionId }, { $set: { lastModified } });
    const before = writes();
    await unchangedRequests(browser, 1);
    return writes() - before;
  };
  assert.equal(
    await lastWrite(45),
    0,
    "a session last written 45 s ago was written again: touch it at most once a minute (60 s)",
  );
  assert.equal(
    await lastWrite(90),
    1,
    "a session last written 90 s ago was not touched: after a minute (60 s) the next request " +
      "should write it once, so that its expiry moves on while the visitor is active",
  );
});
