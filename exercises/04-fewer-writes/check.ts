/**
 * Exercise 04: sessions in workshop_sessions, ending 2 hours after the last request (at most
 * 10 minutes early); a request that changes nothing writes only when the last write is older
 * than the policy allows. The check hands the app a MongoClient with command monitoring, so it
 * sees every write, and moves "the last write" back in time in the session's document.
 */
import { type Document, MongoClient } from "mongodb";
import { setCookieAttributes } from "../../lib/browser.ts";
import type { VisitsJson } from "../../lib/visits-contract.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import {
  type CheckContext,
  defineCheck,
  expect,
  type Visitor,
  wrong,
} from "../../test/checks/kit.ts";

type Module = typeof import("./solution/app.ts");
type Context = CheckContext<Module>;

const COLLECTION = "workshop_sessions";
const WRITES = new Set(["insert", "update", "delete", "findAndModify"]);
const HOURS_2 = 2 * 60 * 60;

async function start(context: Context) {
  const client = new MongoClient(await context.mongo(), {
    monitorCommands: true,
    serverSelectionTimeoutMS: 2000,
  });
  const written: string[] = [];
  client.on("commandStarted", (event) => {
    if (WRITES.has(event.commandName)) written.push(String(event.command[event.commandName]));
  });
  await client.connect();
  context.after(() => client.close());
  const site = await context.serve(context.module.createApp(client));
  return { client, site, writes: () => written.length, written };
}

async function visit(visitor: Visitor, html = false) {
  const response = await visitor.get("/", { json: !html });
  expect(response.status === 200, "GET / does not answer 200", {
    observed: `${response.status} ${(await response.clone().text()).slice(0, 120)}`,
  });
  return response;
}

/** A request through the session middleware that changes nothing in the session. */
async function unchanged(visitor: Visitor): Promise<void> {
  const response = await visitor.get("/favicon.ico");
  await response.text(); // the touch happens before the end of the body
}

/** The session's document, wherever the app wrote it. */
async function findSession(client: MongoClient, written: string[], sessionId: string) {
  for (const name of new Set(written)) {
    const collection = client.db().collection<Document & { _id: string }>(name);
    const document = await collection.findOne({ _id: sessionId });
    if (document) return { collection, document };
  }
  wrong("the session is not in MongoDB", { observed: `no document with _id ${sessionId}` });
}

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "each session is a document of workshop_sessions, and the page shows it",
      run: async (context) => {
        const { client, site, written } = await start(context);
        const visitor = site.visitor();
        const { sessionId } = (await (await visit(visitor)).json()) as VisitsJson;
        const { collection } = await findSession(client, written, sessionId);
        expect(
          collection.collectionName === COLLECTION,
          `the session is not in the collection ${COLLECTION}`,
          {
            observed: `it is in ${collection.collectionName}`,
          },
        );
        const page = await (await visit(visitor, true)).text();
        expect(
          page.includes(`in the collection ${COLLECTION}`),
          "the page's inspector does not show the session's document",
          {
            expected: `the page shows the document in ${COLLECTION}`,
            observed: "it does not find it",
          },
        );
      },
    },
    {
      name: "a session ends 2 hours after the last request, in the cookie and in MongoDB",
      run: async (context) => {
        const { client, site, written } = await start(context);
        const response = await visit(site.visitor());
        const { sessionId } = (await response.clone().json()) as VisitsJson;
        const expires = setCookieAttributes(response, COOKIE_NAME)?.get("expires");
        const cookieSeconds = expires ? Math.round((Date.parse(expires) - Date.now()) / 1000) : 0;
        expect(Math.abs(cookieSeconds - HOURS_2) < 30, "the cookie does not live 2 hours", {
          expected: `${HOURS_2} s`,
          observed: expires ? `${cookieSeconds} s` : "no expiry",
        });
        const { document } = await findSession(client, written, sessionId);
        const stored =
          document.expires instanceof Date
            ? (document.expires.getTime() - Date.now()) / 1000
            : Number.NaN;
        expect(
          Math.abs(stored - HOURS_2) < 30,
          "the session in MongoDB does not end with the cookie",
          {
            expected: `expires in ${HOURS_2} s`,
            observed: Number.isNaN(stored)
              ? "no expires date"
              : `expires in ${Math.round(stored)} s`,
          },
        );
      },
    },
    {
      name: "requests that change nothing write nothing while the expiry may wait",
      run: async (context) => {
        const { site, writes } = await start(context);
        const visitor = site.visitor();
        await visit(visitor);
        const before = writes();
        for (let i = 0; i < 5; i++) await unchanged(visitor);
        expect(
          writes() === before,
          "requests that change nothing write more often than the policy needs",
          {
            expected: "no write for 5 requests right after a visit",
            observed: `${writes() - before} writes`,
          },
        );
        const beforeVisit = writes();
        const { visits } = (await (await visit(visitor)).json()) as VisitsJson;
        expect(
          writes() > beforeVisit,
          "a request that changes the session is not written at once",
          {
            expected: `the visit (count ${visits}) written to MongoDB before the answer ends`,
            observed: "no write",
          },
        );
      },
    },
    {
      name: "the last write may be 5 minutes old, never more than 10",
      run: async (context) => {
        const { client, site, writes, written } = await start(context);
        const visitor = site.visitor();
        const { sessionId } = (await (await visit(visitor)).json()) as VisitsJson;
        const { collection, document } = await findSession(client, written, sessionId);
        expect(
          document.lastModified instanceof Date,
          "requests that change nothing write more often than the policy needs",
          {
            expected: "the store keeps the date of its last write, to skip touches",
            observed: "the document has no lastModified: every request touches it",
          },
        );
        const unchangedAfter = async (secondsAgo: number) => {
          await collection.updateOne(
            { _id: sessionId },
            { $set: { lastModified: new Date(Date.now() - secondsAgo * 1000) } },
          );
          const before = writes();
          await unchanged(visitor);
          return writes() - before;
        };
        const at5 = await unchangedAfter(5 * 60 - 10);
        expect(at5 === 0, "requests that change nothing write more often than the policy needs", {
          expected: "no write when the last one is under 5 minutes old",
          observed: `${at5} write(s) when the last one was 4 min 50 s old`,
        });
        const at10 = await unchangedAfter(10 * 60 + 10);
        expect(at10 === 1, "the session's expiry falls more than 10 minutes behind", {
          expected: "one write when the last one is over 10 minutes old",
          observed: `${at10} writes when the last one was 10 min 10 s old`,
        });
      },
    },
  ],
});
