/**
 * Exercise 06: behind a CDN and a load balancer. Requests come as the balancer sends them
 * (from 127.0.0.1, X-Forwarded-Proto: https, X-Forwarded-For with what the visitor wrote, the
 * visitor's address and the CDN edge's); two apps over one Redis stand for two workers.
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
type Context = CheckContext<Module>;

const VISITOR = "203.0.113.7";
const CDN_EDGE = "192.0.2.50";
const SPOOFED = "6.6.6.6"; // what a visitor can write in X-Forwarded-For themselves

/** The headers the load balancer adds to a visitor's request that came through the CDN. */
const THROUGH_THE_PROXIES = {
  "x-forwarded-for": `${SPOOFED}, ${VISITOR}, ${CDN_EDGE}`,
  "x-forwarded-proto": "https",
};

/** Two workers: two apps over the same Redis, each with its own client. */
async function workers({ module, redis, serve }: Context, count = 2): Promise<Site[]> {
  const server = await redis();
  const sites: Site[] = [];
  for (let i = 0; i < count; i++)
    sites.push(await serve(module.createApp(await server.appClient())));
  return sites;
}

async function visit(visitor: Visitor, html = false): Promise<Response> {
  const response = await visitor.get("/", { json: !html, headers: THROUGH_THE_PROXIES });
  expect(response.status === 200, "GET / does not answer 200", {
    observed: `${response.status} ${(await response.clone().text()).slice(0, 120)}`,
  });
  return response;
}

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "a visitor through the proxies gets a Secure session cookie",
      run: async (context) => {
        const [site] = await workers(context, 1);
        const response = await visit((site as Site).visitor());
        const cookie = setCookieAttributes(response, COOKIE_NAME);
        if (!cookie) {
          wrong("no session cookie behind the proxies", {
            expected: `a Set-Cookie for ${COOKIE_NAME} (the visitor came over HTTPS)`,
            observed: "none: the app believes the request came over plain HTTP",
          });
        }
        expect(cookie.has("secure"), "the session cookie is not marked Secure", {
          expected: "Secure: the visitor only ever talks HTTPS",
          observed: response.headers.getSetCookie().join("; "),
        });
      },
    },
    {
      name: "the app sees the visitor's own address and protocol",
      run: async (context) => {
        const [site] = await workers(context, 1);
        // The CDN has many edge servers: this time the request came through another one.
        const otherEdge = {
          ...THROUGH_THE_PROXIES,
          "x-forwarded-for": `${SPOOFED}, ${VISITOR}, 192.0.2.77`,
        };
        const response = await (site as Site)
          .visitor()
          .get("/whoami", { json: true, headers: otherEdge });
        const { ip, protocol } = (await response.json()) as { ip?: string; protocol?: string };
        if (ip === SPOOFED) {
          wrong("the app believes an address the visitor wrote", {
            expected: `${VISITOR} (the address the CDN received the request from)`,
            observed: `${ip}: the first entry of X-Forwarded-For, which anybody can send`,
          });
        }
        if (ip?.startsWith("192.0.2.")) {
          wrong("the app sees the CDN's address, not the visitor's", {
            expected: VISITOR,
            observed: `${ip}, the CDN edge server: there are two proxies in front, not one`,
          });
        }
        expect(ip === VISITOR, "the app does not see the visitor's address", {
          expected: VISITOR,
          observed: String(ip),
        });
        expect(protocol === "https", "the app does not see that the visitor came over HTTPS", {
          observed: String(protocol),
        });
      },
    },
    {
      name: "a session started on one worker goes on, on the other",
      run: async (context) => {
        const [first, second] = (await workers(context)) as [Site, Site];
        const visitor = first.visitor();
        await visit(visitor);
        const counts: number[] = [];
        for (const site of [second, first, second]) {
          const other = site.visitor();
          other.cookies.set(COOKIE_NAME, visitor.cookie(COOKIE_NAME) ?? "");
          const json = (await (await visit(other)).json()) as VisitsJson;
          counts.push(json.visits);
          visitor.cookies.set(COOKIE_NAME, other.cookie(COOKIE_NAME) ?? "");
        }
        expect(
          counts.join(",") === "2,3,4",
          "a session started on one worker is unknown to another",
          {
            expected: "1 on the first worker, then 2, 3, 4 alternating workers",
            observed: `1, then ${counts.join(", ")}`,
          },
        );
      },
    },
    {
      name: "the session is in Redis as sess:<id>, and the page shows it",
      run: async (context) => {
        const [site] = await workers(context, 1);
        const server = await context.redis();
        const cli = await server.client();
        const visitor = (site as Site).visitor();
        const json = (await (await visit(visitor)).json()) as VisitsJson;
        const key = `sess:${json.sessionId}`;
        expect((await cli.exists(key)) === 1, "the session is not in Redis under sess:<id>", {
          expected: `a key ${key}`,
          observed: `keys: ${(await cli.keys("*")).slice(0, 5).join(", ") || "none"}`,
        });
        expect(json.store === "redis", "the page names the wrong store", {
          expected: '"store": "redis"',
          observed: `"store": ${JSON.stringify(json.store)}`,
        });
        const page = await (await visit(visitor, true)).text();
        expect(page.includes(key), "the page's inspector does not show the session's record", {
          expected: `the page shows the Redis key ${key}`,
          observed: "it does not find the record the store wrote",
        });
      },
    },
  ],
});
