import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { createClient } from "redis";
import {
  Browser,
  COOKIE_NAME,
  setCookieAttributes,
  startStep,
  usePrivateRedis,
} from "../harness/index.ts";
import { type VisitsJsonWithPid, visitOverNewConnection } from "../harness/new-connection.ts";
import { listen } from "./listen.ts";
import { exerciseDir, importTarget } from "./target.ts";

const { createApp } =
  await importTarget<typeof import("../../solutions/06-behind-the-balancer/app.ts")>("app.ts");

const redis = await usePrivateRedis();
// What the load balancer adds to every request it passes on: the visitor came over HTTPS.
const FROM_THE_BALANCER = { "x-forwarded-proto": "https" };

async function connectedRedis() {
  const client = createClient({ url: redis.url });
  await client.connect();
  return client;
}

test("behind the HTTPS load balancer, the session cookie is set, and Secure", async (t) => {
  const client = await connectedRedis();
  t.after(() => client.close());
  const browser = new Browser(await listen(t, createApp(client)));

  const response = await browser.request("/", { json: true, headers: FROM_THE_BALANCER });
  assert.equal(response.status, 200, `GET / answered ${response.status}`);
  const cookie = setCookieAttributes(response, COOKIE_NAME);
  assert.ok(
    cookie,
    "a visit that came over HTTPS through the load balancer (X-Forwarded-Proto: https) got no " +
      "session cookie. With cookie.secure true, express-session sends the cookie only when it " +
      'believes the request came over HTTPS: tell Express that one proxy stands in front (app.set("trust proxy", 1))',
  );
  assert.ok(
    cookie.has("secure"),
    "the session cookie has no Secure attribute: behind HTTPS it must never travel in clear",
  );
});

test("the workers share the sessions: one visitor counts 1..8 in order, whoever answers", async (t) => {
  const server = await startStep(t, "06-behind-the-balancer", {
    entry: join(exerciseDir(), "server.ts"),
    env: { REDIS_URL: redis.url, WORKERS: "2" },
  });
  const browser = new Browser(server.url);
  const visits: VisitsJsonWithPid[] = [];
  for (let i = 0; i < 8; i++) visits.push(await visitOverNewConnection(browser, FROM_THE_BALANCER));

  const counts = visits.map((visit) => visit.visits);
  const pids = [...new Set(visits.map((visit) => visit.pid))];
  assert.ok(pids.length >= 2, `only process ${pids} answered; expected both workers to take turns`);
  assert.deepEqual(
    counts,
    [1, 2, 3, 4, 5, 6, 7, 8],
    `expected the visits to count 1, 2, … 8 across the workers (pids ${pids.join(", ")}), ` +
      `got ${counts.join(", ")}. ${
        browser.cookie(COOKIE_NAME) === undefined
          ? "No session cookie came back at all (see the first check: trust proxy)."
          : "Each worker keeps its own sessions: store them in the Redis the workers share."
      }`,
  );
  assert.equal(visits.at(-1)?.store, "redis", 'the page should name its store: "redis"');

  const client = await connectedRedis();
  t.after(() => client.close());
  const key = `sess:${visits[0]?.sessionId}`;
  assert.ok(
    await client.exists(key),
    `expected the session in Redis under ${key}; found no such key`,
  );
});
