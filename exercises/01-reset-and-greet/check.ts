/**
 * Exercise 01: GET /hello greets a newcomer and a returning visitor (reading the session,
 * never writing it); POST /reset ends the session in the store and in the browser.
 */
import { setCookieAttributes } from "../../lib/browser.ts";
import type { VisitsJson } from "../../lib/visits-contract.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import {
  type CheckContext,
  defineCheck,
  expect,
  type Site,
  type Visitor,
  wrong,
} from "../../test/checks/kit.ts";

type Module = typeof import("./solution/app.ts");

interface Greeting {
  firstVisit?: unknown;
  message?: unknown;
}

async function hello(visitor: Visitor): Promise<{ greeting: Greeting; response: Response }> {
  const response = await visitor.get("/hello", { json: true });
  expect(response.status === 200, "GET /hello does not answer 200", {
    expected: "200 with a JSON greeting",
    observed: `${response.status} ${(await response.clone().text()).slice(0, 80)}`,
  });
  const text = await response.text();
  try {
    return { greeting: JSON.parse(text) as Greeting, response };
  } catch {
    wrong("GET /hello does not answer JSON", {
      expected: '{ "firstVisit": …, "message": … }',
      observed: text.slice(0, 80),
    });
  }
}

async function visit(visitor: Visitor): Promise<VisitsJson> {
  const response = await visitor.get("/", { json: true });
  expect(response.status === 200, "GET / (the visits page) does not answer 200", {
    observed: String(response.status),
  });
  return (await response.json()) as VisitsJson;
}

/** Ways to say a number of visits: "2", "two", "twice"… */
const SAID: Record<number, RegExp> = {
  2: /\b(2|two|twice)\b/i,
  3: /\b(3|three|thrice)\b/i,
};

const app = (module: Module, serve: CheckContext<Module>["serve"]) => serve(module.createApp());

async function resetOf(site: Site) {
  const visitor = site.visitor();
  await visit(visitor);
  const before = await visit(visitor);
  const copy = visitor.cookie(COOKIE_NAME) ?? "";
  const response = await visitor.post("/reset");
  return { visitor, before, copy, response };
}

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "GET /hello greets a newcomer, and stores nothing",
      run: async ({ module, serve }) => {
        const site = await app(module, serve);
        const { greeting, response } = await hello(site.visitor());
        expect(greeting.firstVisit === true, "a newcomer is not greeted as a first visit", {
          expected: "firstVisit: true",
          observed: `firstVisit: ${JSON.stringify(greeting.firstVisit)}`,
        });
        expect(typeof greeting.message === "string" && greeting.message.length > 0, "no message");
        expect(!setCookieAttributes(response, COOKIE_NAME), "/hello set a cookie", {
          expected: "a newcomer's /hello sends no Set-Cookie (nothing to store yet)",
          observed: response.headers.getSetCookie().join("; "),
        });
      },
    },
    {
      name: "GET /hello with a cookie the store does not know is a first visit",
      run: async ({ module, serve }) => {
        const site = await app(module, serve);
        // A visitor whose session was reset elsewhere, or who brings a made-up cookie.
        const visitor = site.visitor();
        visitor.cookies.set(COOKIE_NAME, "s%3Aunknown-session.nosignature");
        const { greeting } = await hello(visitor);
        expect(
          greeting.firstVisit === true,
          "a cookie for a session the store does not hold counts as a returning visitor",
          {
            expected:
              "firstVisit: true (whether a visitor is back is in the session, not in the cookie header)",
            observed: `firstVisit: ${JSON.stringify(greeting.firstVisit)}`,
          },
        );
      },
    },
    {
      name: "GET /hello greets a returning visitor with their count, and leaves it as it is",
      run: async ({ module, serve }) => {
        const site = await app(module, serve);
        const visitor = site.visitor();
        for (const count of [2, 3]) {
          const seen = await visit(visitor);
          if (seen.visits === 1) await visit(visitor);
          const { greeting, response } = await hello(visitor);
          expect(greeting.firstVisit === false, "a returning visitor is greeted as new", {
            expected: `firstVisit: false after ${count} visits`,
            observed: `firstVisit: ${JSON.stringify(greeting.firstVisit)}`,
          });
          const message = String(greeting.message);
          expect(SAID[count]?.test(message), "the greeting does not say how many visits", {
            expected: `a message that says ${count} visits`,
            observed: JSON.stringify(message),
          });
          expect(!setCookieAttributes(response, COOKIE_NAME), "/hello set a cookie", {
            expected: "no Set-Cookie: /hello only reads the session",
            observed: response.headers.getSetCookie().join("; "),
          });
        }
        const after = await visit(visitor);
        expect(after.visits === 4, "/hello changed the count", {
          expected: "3 visits, two /hello, then the next visit counts 4",
          observed: `the next visit counts ${after.visits}`,
        });
      },
    },
    {
      name: "POST /reset answers 204 and ends the session in the store",
      run: async ({ module, serve }) => {
        const site = await app(module, serve);
        const { before, copy, response } = await resetOf(site);
        expect(response.status === 204, "POST /reset does not answer 204 No Content", {
          observed: String(response.status),
        });
        // Someone who kept a copy of the cookie comes back.
        const thief = site.visitor();
        thief.cookies.set(COOKIE_NAME, copy);
        const again = await visit(thief);
        expect(
          again.sessionId !== before.sessionId,
          "after /reset, the old cookie still names a live session",
          {
            expected: "a copy of the old cookie gets a new, empty session",
            observed: `it still gets session ${before.sessionId} (count ${again.visits})`,
          },
        );
        expect(again.visits === 1, "after /reset the count does not start again at 1", {
          observed: String(again.visits),
        });
        const { greeting } = await hello(site.visitor());
        expect(greeting.firstVisit === true, "after /reset, /hello does not greet a newcomer");
      },
    },
    {
      name: "POST /reset tells the browser to drop the session cookie",
      run: async ({ module, serve }) => {
        const site = await app(module, serve);
        const { visitor, response } = await resetOf(site);
        const cleared = setCookieAttributes(response, COOKIE_NAME);
        if (!cleared) {
          wrong("the session cookie is not cleared", {
            expected: `a Set-Cookie for ${COOKIE_NAME} that has already expired`,
            observed: response.headers.getSetCookie().join("; ") || "no Set-Cookie at all",
          });
        }
        const path = cleared.get("path") ?? "/";
        expect(path === "/", "the session cookie is not cleared: the path is not the cookie's", {
          expected: `Path=/ (the session cookie's path; a cookie is only replaced by one with the same name and path)`,
          observed: `Path=${path}`,
        });
        expect(!visitor.cookie(COOKIE_NAME), "the session cookie is not cleared", {
          expected: "an expiry in the past, so the browser drops it",
          observed: response.headers.getSetCookie().join("; "),
        });
        const fresh = await visit(visitor);
        expect(fresh.visits === 1, "after /reset the count does not start again at 1", {
          observed: String(fresh.visits),
        });
      },
    },
    {
      name: "POST /reset from a visitor with no session answers 204",
      run: async ({ module, serve }) => {
        const site = await app(module, serve);
        const response = await site.visitor().post("/reset");
        expect(response.status === 204, "POST /reset without a session does not answer 204", {
          observed: String(response.status),
        });
      },
    },
  ],
});
