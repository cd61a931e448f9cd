/**
 * Exercise 08: a download quota (3 per visitor in a 10-minute window from the first download)
 * that holds when requests arrive at the same time, in one process or in two, with a window
 * that neither lasts for ever nor moves with every attempt, and a Retry-After that tells the truth.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "../../lib/browser.ts";
import {
  type CheckRedis,
  defineCheck,
  expect,
  type Site,
  type Visitor,
  wrong,
} from "../../test/checks/kit.ts";

type Module = typeof import("./solution/app.ts");

const QUOTA = 3;
const WINDOW_MS = 10 * 60 * 1000;

/** A visitor with a session: one visit of the counter page first, as a browser would. */
async function newVisitor(site: Site): Promise<Visitor> {
  const visitor = site.visitor();
  const response = await visitor.get("/", { json: true });
  expect(response.status === 200, "GET / does not answer 200", {
    observed: String(response.status),
  });
  return visitor;
}

async function download(visitor: Browser): Promise<Response> {
  return visitor.request("/download", { method: "POST", json: true });
}

/** The session id of VISITOR, from the counter page. */
async function sessionIdOf(visitor: Visitor): Promise<string> {
  const response = await visitor.get("/", { json: true });
  return ((await response.json()) as { sessionId: string }).sessionId;
}

/** N downloads at the same time; how many were let through (200) and what else came back. */
async function burst(visitors: Browser[], n: number) {
  const answers = await Promise.all(
    Array.from({ length: n }, (_, i) => download(visitors[i % visitors.length] as Browser)),
  );
  const statuses = answers.map((answer) => answer.status);
  const other = statuses.filter((status) => status !== 200 && status !== 429);
  expect(other.length === 0, "some downloads of a burst answered neither 200 nor 429", {
    expected: "200 (let through) or 429 (refused)",
    observed: other.join(", "),
  });
  return statuses.filter((status) => status === 200).length;
}

/** The Redis key that counts VISITOR's downloads: any key naming its session id, not its session. */
async function quotaKey(redis: CheckRedis, sessionId: string): Promise<string> {
  const client = await redis.client();
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `*${sessionId}*` })) keys.push(...batch);
  const found = keys.filter((key) => key !== `sess:${sessionId}`);
  if (found.length === 1) return found[0] as string;
  wrong("no key in Redis holds this visitor's count", {
    expected:
      "one key that names the visitor's session id (the quota lives in Redis, not in the session or in the process)",
    observed: found.length === 0 ? `only ${keys.join(", ") || "nothing"}` : found.join(", "),
  });
}

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "one at a time: 3 downloads, then the 4th is refused with 429",
      run: async ({ module, redis, serve }) => {
        const site = await serve(module.createApp(await (await redis()).appClient()));
        const visitor = await newVisitor(site);
        for (const left of [2, 1, 0]) {
          const response = await download(visitor);
          expect(response.status === 200, "a download within the quota was refused", {
            expected: `200 with downloadsLeft ${left}`,
            observed: `${response.status} ${await response.clone().text()}`,
          });
          const body = (await response.json()) as { downloadsLeft?: unknown };
          expect(body.downloadsLeft === left, "downloadsLeft does not count down", {
            expected: String(left),
            observed: JSON.stringify(body.downloadsLeft),
          });
        }
        const fourth = await download(visitor);
        expect(fourth.status === 429, "the 4th download in the window was not refused with 429", {
          expected: "429 Too Many Requests",
          observed: String(fourth.status),
        });
      },
    },
    {
      name: "each visitor has a quota of their own",
      run: async ({ module, redis, serve }) => {
        const site = await serve(module.createApp(await (await redis()).appClient()));
        const first = await newVisitor(site);
        for (let i = 0; i < QUOTA + 1; i++) await download(first);
        const second = await download(await newVisitor(site));
        expect(
          second.status === 200,
          "another visitor was refused: the quota is shared by everybody",
          {
            expected: "200 for a visitor who has downloaded nothing yet",
            observed: String(second.status),
          },
        );
      },
    },
    {
      name: "20 downloads at once with one cookie: exactly 3 are let through",
      run: async ({ module, redis, serve }) => {
        const site = await serve(module.createApp(await (await redis()).appClient()));
        const visitor = await newVisitor(site);
        const through = await burst([visitor], 20);
        expect(through === QUOTA, "20 downloads at once let the wrong number through", {
          expected: `${QUOTA}`,
          observed: `${through} (requests sent together all read the count before any wrote it back)`,
        });
      },
    },
    {
      // Two processes each have their own memory. Two instances of the app module (imported
      // twice, under two URLs) have that too, and start in milliseconds: what one keeps in a
      // variable or a lock, the other does not see. (Step 08's test uses two real processes.)
      name: "two copies of the app, each with its own memory, over one Redis: exactly 3 of 20 get through",
      run: async ({ module, dir, redis, serve }) => {
        const server = await redis();
        const secondCopy = (await import(
          `${pathToFileURL(join(dir, "app.ts")).href}?second-copy`
        )) as Module;
        const a = await serve(module.createApp(await server.appClient()));
        const b = await serve(secondCopy.createApp(await server.appClient()));
        const onA = await newVisitor(a);
        const onB = b.visitor();
        for (const [name, value] of onA.cookies) onB.cookies.set(name, value); // one browser
        const through = await burst([onA, onB], 20);
        expect(
          through === QUOTA,
          "across two processes, 20 downloads at once let the wrong number through",
          {
            expected: `${QUOTA}`,
            observed: `${through} (a count or a lock kept in one process is not seen by the other)`,
          },
        );
      },
    },
    {
      name: "the window: 10 minutes from the first download, not moved by attempts, then a new quota",
      timeoutMs: 15_000,
      run: async ({ module, redis, serve }) => {
        const server = await redis();
        const site = await serve(module.createApp(await server.appClient()));
        const visitor = await newVisitor(site);
        await download(visitor);
        const key = await quotaKey(server, await sessionIdOf(visitor));
        const client = await server.client();
        const ttl = await client.pTTL(key);
        expect(ttl !== -1, "the count never expires: the visitor is refused for ever", {
          expected: "a time to live on the key that counts",
          observed: `no TTL on ${key}`,
        });
        expect(ttl > WINDOW_MS - 30_000 && ttl <= WINDOW_MS, "the window is not 10 minutes", {
          expected: "about 600 s left right after the first download",
          observed: `${Math.round(ttl / 1000)} s on ${key}`,
        });

        for (let i = 1; i < QUOTA; i++) await download(visitor);
        // As if 9 minutes 58 s had gone by: 2 s left in the window.
        await client.pExpire(key, 2000);
        const refused = await download(visitor);
        expect(refused.status === 429, "a download past the quota was let through", {
          observed: String(refused.status),
        });
        const after = await client.pTTL(key);
        expect(after <= 2000, "a refused attempt moved the end of the window", {
          expected: "the window still ends 2 s from now: attempts do not extend it",
          observed: after === -2 ? "the key is gone" : `${Math.round(after / 1000)} s left`,
        });
        const retryAfter = Number(refused.headers.get("retry-after"));
        expect(
          retryAfter >= 1 && retryAfter <= 3,
          "Retry-After does not say when the window ends",
          {
            expected: "about 2 (seconds left in this visitor's window)",
            observed: String(refused.headers.get("retry-after")),
          },
        );

        const deadline = Date.now() + 10_000;
        while ((await client.exists(key)) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const again = await download(visitor);
        expect(again.status === 200, "after the window, the visitor does not get a new quota", {
          expected: "200 once the window has ended",
          observed: String(again.status),
        });
      },
    },
  ],
});
