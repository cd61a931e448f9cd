/**
 * Exercise 09: a store that stops answering (as during a failover, when the client holds every
 * command until a replica is promoted) costs a visitor a 503 with Retry-After within the
 * policy's 2 s, never a hang, a 500 or a fresh session; the same session goes on afterwards.
 * Redis is frozen with CLIENT PAUSE for 3.5 s: an app without a deadline answers after that.
 */
import { createClient } from "redis";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import { type CheckContext, defineCheck, expect, type Visitor } from "../../test/checks/kit.ts";

type Module = typeof import("./solution/app.ts");

/** How long Redis answers nobody in a case: longer than the policy's deadline, and then some. */
const FROZEN_MS = 3500;
/** The policy says 2 s; a loaded machine may add a little. */
const ANSWER_WITHIN_MS = 3000;

/** The app, over a client that waits for Redis for as long as it takes (no timeouts of its own). */
async function serveApp({ module, redis, serve, after }: CheckContext<Module>) {
  const server = await redis();
  const client: RedisClient = createClient({ url: server.url });
  client.on("error", () => {});
  await client.connect();
  after(() => (client.isOpen ? client.destroy() : undefined));
  return { site: await serve(module.createApp(client)), server };
}

async function visits(visitor: Visitor): Promise<{ visits: number; sessionId: string }> {
  const response = await visitor.get("/", { json: true });
  const body = await response.text();
  expect(response.status === 200, "GET / does not count a visit while Redis answers", {
    expected: "200",
    observed: `${response.status} ${body}`,
  });
  return JSON.parse(body) as { visits: number; sessionId: string };
}

/** GET / while Redis is frozen: must be a 503 with Retry-After, in time. */
async function expect503(visitor: Visitor, who: string): Promise<void> {
  const response = await visitor.send("/", { json: true }, ANSWER_WITHIN_MS);
  const body = await response.text();
  expect(
    response.status !== 200 || !body.includes('"visits":1'),
    `${who}: a frozen store started a fresh session`,
    {
      expected: "503: the session is still there, the store is only slow",
      observed: `200 ${body}`,
    },
  );
  expect(response.status === 503, `${who}: a frozen store is not answered with 503`, {
    expected: "503 Service Unavailable",
    observed: `${response.status} ${body}`,
  });
  expect(response.headers.has("retry-after"), `${who}: the 503 has no Retry-After header`, {
    expected: "Retry-After: <seconds>",
    observed: "no Retry-After",
  });
}

/** Waits for Redis (frozen at FROZEN_AT) to answer again, then for the app to count. */
async function afterThaw(
  visitor: Visitor,
  frozenAt: number,
): Promise<{ visits: number; sessionId: string }> {
  await new Promise((resolve) => setTimeout(resolve, frozenAt + FROZEN_MS - Date.now()));
  for (let tries = 0; ; tries++) {
    const response = await visitor.send("/", { json: true }, ANSWER_WITHIN_MS);
    if (response.status === 200)
      return (await response.json()) as { visits: number; sessionId: string };
    expect(tries < 20, "after Redis answers again, GET / still fails", {
      expected: "200",
      observed: `${response.status} ${await response.text()}`,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "while Redis answers, visits count as before",
      run: async (context) => {
        const { site } = await serveApp(context);
        const visitor = site.visitor();
        const counts = [await visits(visitor), await visits(visitor), await visits(visitor)];
        expect(counts.map((c) => c.visits).join() === "1,2,3", "the count does not go 1, 2, 3", {
          expected: "1,2,3",
          observed: counts.map((c) => c.visits).join(),
        });
      },
    },
    {
      name: "a visitor with a session, Redis frozen: a 503 with Retry-After within 2 s, and the same session afterwards",
      timeoutMs: 15_000,
      run: async (context) => {
        const { site, server } = await serveApp(context);
        const visitor = site.visitor();
        const first = await visits(visitor);
        const frozenAt = Date.now();
        await server.freeze(FROZEN_MS);
        await expect503(visitor, "a returning visitor");
        const later = await afterThaw(visitor, frozenAt);
        expect(
          later.sessionId === first.sessionId,
          "after the freeze, the visitor has a new session",
          {
            expected: `the same session (${first.sessionId.slice(0, 8)}…)`,
            observed: `${later.sessionId.slice(0, 8)}…, at ${later.visits}`,
          },
        );
        expect(
          later.visits === 2,
          "after the freeze, the count is off: a visit lost, or counted twice",
          {
            expected: "2 (one visit before the freeze, one after; the 503 counted none)",
            observed: String(later.visits),
          },
        );
      },
    },
    {
      name: "a new visitor, Redis frozen: a 503 with Retry-After within 2 s (the first write of a session waits too)",
      timeoutMs: 15_000,
      run: async (context) => {
        const { site, server } = await serveApp(context);
        const visitor = site.visitor();
        const frozenAt = Date.now();
        await server.freeze(FROZEN_MS);
        await expect503(visitor, "a new visitor");
        await afterThaw(visitor, frozenAt);
        expect(visitor.sessionCookie(COOKIE_NAME) !== undefined, "no session after the freeze", {
          expected: "a session cookie",
          observed: "none",
        });
      },
    },
  ],
});
