/**
 * Every step's page says where the learner is (step N of M, what to read, what comes next), and
 * every answer names its step in `X-Workshop-Step`, which `npm run walkthrough` reads.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Browser } from "../lib/browser.ts";
import { startStep } from "../lib/step-process.ts";
import { steps } from "../workshop.ts";

test("the page of step 1 says which step it is and what comes next", async (t) => {
  // Its links open the repository where `npm run slides` serves it: SLIDES_PORT says where.
  const server = await startStep(t, "01-memory-store", { env: { SLIDES_PORT: "8090" } });
  const page = await fetch(`${server.url}/`, { headers: { accept: "text/html" } });
  assert.equal(page.headers.get("x-workshop-step"), "01-memory-store");
  const html = await page.text();
  assert.match(html, new RegExp(`Step 1 of ${steps.length}: MemoryStore`));
  assert.match(html, /href="http:\/\/localhost:8090\/steps\/01-memory-store\/README\.md"/);
  assert.match(html, /npm run step:2<\/code> \(FileStore\)/);

  // Asking which step runs creates no session: no cookie on a path no step serves.
  const probe = await fetch(`${server.url}/.well-known/workshop-step`, { method: "HEAD" });
  assert.equal(probe.headers.get("x-workshop-step"), "01-memory-store");
  assert.equal(probe.headers.get("set-cookie"), null);
});

test("after a restart of step 1, the page says the store no longer knew the browser's cookie", async (t) => {
  const first = await startStep(t, "01-memory-store");
  const browser = new Browser(first.url);
  const html = async () =>
    (await browser.request("/", { headers: { accept: "text/html" } })).text();
  const before = await html();
  assert.match(before, /This is the first visit of a new session/);
  assert.match(before, /<pre>\{\n {2}(&quot;|")cookie/, "the inspector's JSON is indented");
  await first.stop("SIGTERM");

  const second = await startStep(t, "01-memory-store");
  browser.baseUrl = second.url;
  const after = await html();
  assert.match(after, /Your browser sent a session cookie, but the store did not know its session/);
});
