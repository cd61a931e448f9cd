import assert from "node:assert/strict";
import { test } from "node:test";
import type { Browser as BrowserType } from "../../lib/browser.ts";
import { launchChromium } from "../../test/harness/chromium.ts";
import {
  assertSessionsSurviveRestart,
  Browser,
  redisClientFor,
  startStep,
  usePrivateRedis,
} from "../../test/harness/index.ts";

const STEP = "08-concurrent-requests";
const redis = await usePrivateRedis();
const env = { REDIS_URL: redis.url };

interface Counts {
  visits: number;
  naiveVisits: number;
  sessionId: string;
}

/** N requests at the same time with BROWSER's cookie; fails on any answer that is not a 200. */
async function burst(browser: BrowserType, n: number, think = 300): Promise<Counts[]> {
  const answers = await Promise.all(
    Array.from({ length: n }, () => browser.request(`/?think=${think}`, { json: true })),
  );
  const statuses = answers.map((answer) => answer.status).filter((status) => status !== 200);
  assert.deepEqual(statuses, [], "every request of a burst answers 200");
  return Promise.all(answers.map((answer) => answer.json() as Promise<Counts>));
}

test("20 requests at once: the naive counter loses updates, the exact one counts 20 of 20", async (t) => {
  const server = await startStep(t, STEP, { env });
  const browser = new Browser(server.url);
  await browser.visit();
  await burst(browser, 20);
  const after = (await browser.visit()) as unknown as Counts;

  assert.equal(after.visits, 22, "exact: 1 + 20 + 1 visits");
  // Every request of the burst read naiveVisits = 1 before any of them wrote: all wrote 2.
  assert.ok(after.naiveVisits < 22, `naive: ${after.naiveVisits} of 22 (it should lose some)`);
  console.log(
    `# naive counter after 22 visits: ${after.naiveVisits} (lost ${22 - after.naiveVisits})`,
  );
});

test("two processes, one Redis: 200 requests at once count 200 of 200", async (t) => {
  const [a, b] = await Promise.all([startStep(t, STEP, { env }), startStep(t, STEP, { env })]);
  const onA = new Browser(a.url);
  const { sessionId } = await onA.visit();
  const onB = new Browser(b.url);
  for (const [name, value] of onA.cookies) onB.cookies.set(name, value); // the same browser

  await Promise.all([burst(onA, 100, 50), burst(onB, 100, 50)]);
  const after = (await onA.visit()) as unknown as Counts;
  assert.equal(after.sessionId, sessionId);
  assert.equal(after.visits, 202, "exact across processes: 1 + 200 + 1");
});

test("the counter lives beside the session, with the session's time to live", async (t) => {
  const server = await startStep(t, STEP, { env });
  const { sessionId } = await new Browser(server.url).visit();
  const client = await redisClientFor(t, redis.url);
  assert.deepEqual({ ...(await client.hGetAll(`counters:${sessionId}`)) }, { visits: "1" });
  const counterTtl = await client.pTTL(`counters:${sessionId}`);
  const sessionTtl = await client.pTTL(`sess:${sessionId}`);
  assert.ok(counterTtl > 29 * 60 * 1000, `counter TTL ${counterTtl} ms should be about 30 min`);
  assert.ok(Math.abs(counterTtl - sessionTtl) < 5000, "the same TTL as the session's key");
});

test("sessions and counters survive a restart of the server", async (t) => {
  await assertSessionsSurviveRestart(t, STEP, "redis", { env });
});

test("the page shows both counters", async (t) => {
  const server = await startStep(t, STEP, { env });
  const browser = new Browser(server.url);
  await browser.visit();
  const page = await (await browser.request("/", { headers: { accept: "text/html" } })).text();
  assert.match(page, /Two counters, one browser/);
  assert.match(page, /<p class="count">2<\/p>/);
  assert.match(page, /<p class="count naive">2<\/p>/);
  assert.doesNotMatch(page, /localStorage/, "the page never keeps the session id in the browser");
});

test("in a real browser, the page's button sends 20 requests: exact +20, naive less", async (t) => {
  const server = await startStep(t, STEP, { env });
  const chromium = await launchChromium();
  t.after(() => chromium.close());
  const page = await chromium.newPage();
  await page.goto(`${server.url}/`);
  const count = (selector: string) =>
    page.$eval(selector, (element) => Number(element.textContent));
  assert.equal(await count(".count:not(.naive)"), 1);
  await Promise.all([page.waitForNavigation({ timeout: 60_000 }), page.click("#burst")]);
  assert.equal(await count(".count:not(.naive)"), 22, "exact: 1 + 20 + the reload");
  const naive = await count(".count.naive");
  assert.ok(naive < 22, `naive: ${naive} (a browser sends them 6 at a time, so it loses some)`);
  const cookies = await page.cookies();
  assert.ok(
    cookies.every((cookie) => cookie.httpOnly),
    "the session cookie stays HttpOnly",
  );
});
