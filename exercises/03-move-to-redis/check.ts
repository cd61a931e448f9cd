/**
 * Exercise 03: the sessions move to the Redis the app is given, under workshop:sess:<id>,
 * living 45 minutes like the cookie; another app over the same Redis (a restart, another
 * process) finds them; the page shows the record; an outage is a quick 503, then recovery.
 */
import { setCookieAttributes } from "../../lib/browser.ts";
import { waitUntil } from "../../lib/services/net.ts";
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

const PREFIX = "workshop:sess:";
const SECONDS = 45 * 60;

async function start(context: Context) {
  const server = await context.redis();
  const cli = await server.client();
  await cli.flushAll();
  const site = await context.serve(context.module.createApp(await server.appClient()));
  return { server, cli, site };
}

async function visit(visitor: Visitor, html = false) {
  const response = await visitor.get("/", { json: !html });
  expect(response.status === 200, "GET / does not answer 200", {
    observed: `${response.status} ${(await response.clone().text()).slice(0, 120)}`,
  });
  return response;
}

const json = async (response: Response) => (await response.json()) as VisitsJson;

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "each session is the key workshop:sess:<id> in the Redis the app was given",
      run: async (context) => {
        const { cli, site } = await start(context);
        const { sessionId } = await json(await visit(site.visitor()));
        const keys = await cli.keys("*");
        expect(
          keys.includes(`${PREFIX}${sessionId}`),
          "the session is not in Redis under workshop:sess:<id>",
          {
            expected: `the key ${PREFIX}${sessionId}`,
            observed:
              keys.length > 0
                ? `keys: ${keys.slice(0, 5).join(", ")}`
                : "no key at all in the Redis the app was given",
          },
        );
      },
    },
    {
      name: "a session lives 45 minutes, in the cookie and in Redis",
      run: async (context) => {
        const { cli, site } = await start(context);
        const response = await visit(site.visitor());
        const { sessionId } = await json(response.clone());
        const expires = setCookieAttributes(response, COOKIE_NAME)?.get("expires");
        if (!expires) {
          wrong("the cookie has no expiry", {
            expected: "a cookie that expires 45 minutes after the last request",
            observed: "it lives until the browser closes",
          });
        }
        const cookieSeconds = Math.round((Date.parse(expires) - Date.now()) / 1000);
        expect(Math.abs(cookieSeconds - SECONDS) <= 10, "the cookie does not live 45 minutes", {
          expected: `${SECONDS} s`,
          observed: `${cookieSeconds} s`,
        });
        const ttl = await cli.ttl(`${PREFIX}${sessionId}`);
        expect(ttl !== -1, "the session's key never expires", {
          expected: `a TTL of ${SECONDS} s`,
          observed: "no TTL: Redis keeps it for ever",
        });
        expect(Math.abs(ttl - SECONDS) <= 10, "the key's TTL does not follow the cookie", {
          expected: `${SECONDS} s`,
          observed: ttl === -2 ? "no such key" : `${ttl} s`,
        });
      },
    },
    {
      name: "another app over the same Redis goes on with the session",
      run: async (context) => {
        const { server, site } = await start(context);
        const visitor = site.visitor();
        await visit(visitor);
        const restarted = await context.serve(context.module.createApp(await server.appClient()));
        const again = restarted.visitor();
        again.cookies.set(COOKIE_NAME, visitor.cookie(COOKIE_NAME) ?? "");
        const { visits } = await json(await visit(again));
        expect(visits === 2, "the session is lost when the app restarts", {
          expected: "the count goes on (2) in a new app over the same Redis",
          observed: `the count is ${visits}`,
        });
      },
    },
    {
      name: "the page names its store and shows the session's record",
      run: async (context) => {
        const { site } = await start(context);
        const visitor = site.visitor();
        const { store, sessionId } = await json(await visit(visitor));
        expect(store === "redis", "the page names the wrong store", {
          expected: '"store": "redis"',
          observed: `"store": ${JSON.stringify(store)}`,
        });
        const page = await (await visit(visitor, true)).text();
        expect(
          page.includes(`${PREFIX}${sessionId}`),
          "the page's inspector does not show the session's record",
          {
            expected: `the page shows the Redis key ${PREFIX}${sessionId}`,
            observed: "it does not find it",
          },
        );
      },
    },
    {
      name: "with Redis down, the page answers 503 at once, and recovers",
      timeoutMs: 6000,
      run: async (context) => {
        const { server, site } = await start(context);
        const visitor = site.visitor();
        await visit(visitor);
        await server.crash();
        context.after(() => server.start());
        const down = await visitor.get("/", { json: true });
        expect(down.status === 503, "an outage of Redis is not a 503", {
          expected: "503 while Redis is down",
          observed: `${down.status}`,
        });
        await server.start();
        try {
          await waitUntil(
            "the page to answer 200 again",
            async () => (await visitor.get("/", { json: true })).status === 200,
            { timeoutMs: 3000, everyMs: 100 },
          );
        } catch {
          wrong("the app does not recover when Redis is back", {
            expected: "200 within 3 s",
            observed: "still failing",
          });
        }
      },
    },
  ],
});
