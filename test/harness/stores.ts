import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { Browser } from "../../lib/browser.ts";
import { boundForLoad, waitUntil } from "../../lib/services/net.ts";
import { type StartOptions, startStep } from "../../lib/step-process.ts";
import { sessionIdOf } from "./cookies.ts";

/** A store's server that a test can freeze (SIGSTOP) and thaw (SIGCONT). */
export interface Freezable {
  freeze(): void;
  thaw(): void;
}

/**
 * A hung store (its server frozen: connections open, nothing answers, as in a network
 * partition): a request answers 503 within 3 s, as JSON and as a page; the process lives on;
 * once the store answers again, the same session goes on counting.
 */
export async function assertHungStoreAnswers503(
  t: TestContext,
  step: string,
  store: Freezable,
  options: StartOptions,
): Promise<void> {
  const server = await startStep(t, step, options);
  const browser = new Browser(server.url);
  const { sessionId, visits } = await browser.visit();

  store.freeze();
  t.after(() => store.thaw()); // whatever happens, leave the store running for other tests
  for (const json of [true, false]) {
    const started = Date.now();
    const response = await browser.request("/", { json });
    const ms = Date.now() - started;
    assert.equal(response.status, 503, `a ${json ? "JSON" : "page"} request to a hung store`);
    const bound = boundForLoad(3000);
    assert.ok(ms < bound.ms, `the 503 took ${ms} ms (${bound.said})`);
    const type = response.headers.get("content-type") ?? "";
    assert.match(type, json ? /json/ : /html/, "the 503 speaks the client's language");
    await response.arrayBuffer();
  }
  assert.equal(server.output().includes("TypeError"), false, "no crash in the log");
  store.thaw();

  let next = { sessionId: "", visits: 0 };
  await waitUntil(
    "the step to answer 200 again after the store thawed",
    async () => {
      const response = await browser.request("/", { json: true });
      if (response.status !== 200) return false;
      next = (await response.json()) as typeof next;
      return true;
    },
    { timeoutMs: 30_000, everyMs: 200 },
  );
  assert.equal(next.sessionId, sessionId, "the same session goes on after the outage");
  assert.ok(next.visits > visits, `the count goes on (${visits} → ${next.visits})`);
}

/**
 * Sliding expiry on the page path (what a browser gets): two page visits, GAP_MS apart, and
 * the stored expiry (read by READ_EXPIRY, in ms since 1970) moves on by about the gap. Read the
 * cookie.expires inside the stored record: a store computes the key's TTL (the document's
 * `expires`) from it at the next write, so a stale one kills an active session once it passes,
 * even if a touch at the end of each request pushed the TTL back meanwhile.
 */
export async function assertPageVisitsSlideExpiry(
  t: TestContext,
  step: string,
  options: StartOptions,
  readExpiry: (sessionId: string, page: string) => Promise<number>,
  gapMs = 2500,
): Promise<void> {
  const server = await startStep(t, step, options);
  const browser = new Browser(server.url);
  const first = await browser.request("/", { json: false });
  assert.equal(first.status, 200);
  const id = sessionIdOf(browser);
  const before = await readExpiry(id, await first.text());
  const started = Date.now();
  await waitUntil(`${gapMs} ms to pass`, () => Date.now() - started >= gapMs, {
    timeoutMs: gapMs + 5000,
  });
  const second = await browser.request("/", { json: false });
  assert.equal(second.status, 200);
  const page = await second.text();
  assert.match(page, /<p class="count">2<\/p>/, "the second visit counted on the same session");
  const after = await readExpiry(id, page);
  assert.ok(
    after - before >= gapMs - 1000,
    `the stored expiry moved by ${after - before} ms over a ${gapMs} ms gap (should slide)`,
  );
}

/** cookie.expires (ms since 1970) as the page's session inspector shows the stored record. */
export function storedExpiryOnPage(page: string): number {
  const match = /&quot;expires&quot;: ?&quot;([^&]+)&quot;/.exec(page);
  assert.ok(match, "the page's inspector shows the record's cookie.expires");
  return Date.parse(match[1] ?? "");
}
