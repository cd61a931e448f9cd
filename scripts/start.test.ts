/**
 * `npm start` as a learner uses it, in a real Chromium (1280x720, a projector's size): the page
 * server as a child process, step 3 started from the page (with a redis-server the page starts
 * for it, never the learner's), a visit in the app pane; its cookie, its key and its SET (under
 * the request that sent it) on the page; a restart that keeps the session; "freeze the store"
 * giving a 503 and then a 200; a key expired by Redis seen as it dies; a new browser; the
 * solution's check run by the command line's own code; the step stopped, the page's server
 * stopped, and nothing of any of it left running. One browser, one started step.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Page } from "puppeteer-core";
import { createClient } from "redis";
import { isPortOpen, waitUntil } from "../lib/services/net.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { launchChromium } from "../test/harness/chromium.ts";
import { steps } from "../workshop.ts";
import { BUTTON_TEXT, lessonButtons } from "./start/lessons.ts";

/** Generous: a loaded 2-core machine is slow, not broken. Every wait is for a condition. */
const WAIT_MS = 120_000;

/** True when no process of the group led by PID is left. */
function groupGone(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** Waits until the text of SELECTOR on the page matches PATTERN; resolves the match. */
async function textOf(tab: Page, selector: string, pattern: RegExp): Promise<string[]> {
  await tab
    .waitForFunction(
      (s, p, f) => new RegExp(p, f).test(document.querySelector(s)?.textContent ?? ""),
      { timeout: WAIT_MS },
      selector,
      pattern.source,
      pattern.flags,
    )
    .catch(async (error: Error) => {
      const shown = await tab.$eval(selector, (node) => node.textContent).catch(() => "");
      throw new Error(`waited for ${selector} to show ${pattern}; it shows:\n${shown}\n${error}`);
    });
  const text = await tab.$eval(selector, (node) => node.textContent ?? "");
  return pattern.exec(text) as RegExpExecArray;
}

test("the lesson buttons: the manifest's demos, each on a step that can serve it", () => {
  const shown = new Map(steps.map((step) => [step.number, lessonButtons(step)]));
  assert.deepEqual(shown.get(8), ["burst"]);
  assert.deepEqual(shown.get(9), ["kill-primary"]);
  assert.deepEqual(shown.get(1), [], "MemoryStore has no server to freeze");
});

test("npm start: step 3 in the page, its cookie, key, SET, freeze and expiry seen, a check, nothing left running", {
  timeout: 8 * WAIT_MS,
}, async (t) => {
  const started = Date.now();
  const workshopDir = mkdtempSync(join(tmpdir(), "workshop-start-"));
  const server = spawn(
    process.execPath,
    [join("scripts", "run-ts.mjs"), join("scripts", "start", "server.ts")],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        PORT: "0",
        SESSION_SECRET: randomBytes(32).toString("hex"),
        WORKSHOP_DIR: workshopDir,
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group: the test can tell when all of it is gone
    },
  );
  const pid = server.pid as number;
  after(() => groupGone(pid) || process.kill(-pid, "SIGKILL"));
  after(() => rmSync(workshopDir, { recursive: true, force: true }));
  let output = "";
  server.stdout.on("data", (chunk) => (output += chunk));
  server.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise((resolve) => server.once("exit", (code) => resolve(code)));
  await waitUntil("the page's address", () => /page: http:\/\/localhost:\d+/.test(output), {
    timeoutMs: WAIT_MS,
  });
  const url = /page: (http:\/\/localhost:\d+)/.exec(output)?.[1] as string;
  t.diagnostic(`the page server printed its address ${Date.now() - started} ms after spawn`);

  const browser = await launchChromium();
  after(() => browser.close());
  const tab = await browser.newPage();
  await tab.setViewport({ width: 1280, height: 720 });
  await tab.goto(url);
  // Every step of the manifest is listed, however many there are.
  // (drawn from the page's first update: waited for, not read at once).
  await tab.waitForFunction(
    (count) => document.querySelectorAll("#steps > li").length === count,
    { timeout: WAIT_MS },
    steps.length,
  );
  // A locator finds the button again if the list is drawn anew (an update) before the click.
  await tab.locator('button[aria-label^="Start step 3,"]').click();

  // A visit in the app pane: the step's page, framed through the page's proxy.
  const frame = await (await tab.waitForSelector("#app"))?.contentFrame();
  await frame?.waitForFunction(() => document.body?.textContent?.includes("Visits"), {
    timeout: WAIT_MS,
  });
  const [, id] = await textOf(tab, "#cookies", /session id (\S+)signature verified with secret 1/);
  assert.match(await tab.$eval("#cookies", (node) => node.textContent ?? ""), /HttpOnly/);
  await textOf(tab, "#store", new RegExp(`sess:${id}\\d+\\.\\d s`));
  // The SET, under the one request in flight when Redis ran it: the visit.
  await textOf(
    tab,
    "#events",
    new RegExp(`Likely #1 GET /: the only request in flight[\\s\\S]*"SET" "sess:${id}"`),
  );
  const buttons = await tab.$$eval("#lesson-buttons button", (items) =>
    items.map((b) => b.textContent),
  );
  assert.deepEqual(buttons, [BUTTON_TEXT.freeze.label], "step 3's lesson: a frozen store");
  const [, redisPort] = await textOf(tab, "#services", /Redis: redis-cli -p (\d+)/);

  // A restart of the app alone: its Redis stays, the browser sends the same cookie, which still
  // verifies, and the session is found.
  await tab.locator("#restart").click();
  await textOf(
    tab,
    "#cookies li",
    new RegExp(`^#\\d+ GET / → 200.*Cookie \\(sent.*session id ${id}signature verified`),
  );
  await frame
    ?.waitForFunction(() => /Visits in this session\s*2/.test(document.body?.innerText ?? ""), {
      timeout: WAIT_MS,
    })
    .catch(() => {}); // the count is the step's own test's business; the key's survival is below
  await textOf(tab, "#store", new RegExp(`sess:${id}`));

  // Freeze the store: the app answers 503 while Redis answers nobody, and 200 once it does.
  await tab.locator("#lesson-buttons button").click();
  await textOf(tab, "#demo-log", /GET \/ → 503 in \d+ ms[\s\S]*SIGCONT[\s\S]*Back: a 200/);

  // Redis expires the session's key: the events pane says so as it happens, the store pane
  // loses it. (A TTL of a few hundred ms, set from outside, as time passing would.)
  const redis = createClient({ url: `redis://127.0.0.1:${redisPort}` });
  await redis.connect();
  after(() => redis.isOpen && redis.destroy());
  assert.equal(await redis.pExpire(`sess:${id}`, 300), 1, `sess:${id} was not in the page's Redis`);
  await textOf(tab, "#events", new RegExp(`Redis expired a key[\\s\\S]*expired\\S* sess:${id}`));
  await tab.waitForFunction(
    (key) => !document.querySelector("#store")?.textContent?.includes(key),
    { timeout: WAIT_MS },
    `sess:${id}`,
  );
  redis.destroy();

  // A new browser: the cookie is gone, so the next visit starts another session.
  await tab.locator("#new-browser").click();
  await textOf(
    tab,
    "#cookies li",
    new RegExp(`^#\\d+ GET / → 200.*Cookie: none sent.*session id (?!${id})\\S+signature verified`),
  );

  // The check pane runs `npm run check -- 3 --solution` itself, and shows what it prints.
  await tab.select("#exercise", "3");
  await tab.locator("#check-solution").click();
  await textOf(tab, "#check-status", /solution \(on demand\): passed ✓ All \d+ checks pass\./);
  assert.doesNotMatch(await tab.$eval("#check-output", (node) => node.textContent ?? ""), /✗/);

  // Stopped from the page: the step's whole process group is gone, and its Redis.
  const state = (await (await fetch(`${url}/api/state`)).json()) as { running?: { pid: number } };
  const step = state.running?.pid as number;
  await tab.locator("#stop").click();
  await textOf(tab, "#app-status", /no step running/);
  await waitUntil(
    `the step's process group (${step}) and its Redis to be gone`,
    async () => groupGone(step) && !(await isPortOpen(Number(redisPort))),
    { timeoutMs: WAIT_MS },
  );

  // The page's server stops on SIGTERM, with nothing of its own left behind.
  await tab.locator('button[aria-label^="Start step 3,"]').click();
  const again = await textOf(tab, "#app-status", /running \(pid (\d+)\)/);
  const [, redisAgain] = await textOf(tab, "#services", /Redis: redis-cli -p (\d+)/);
  process.kill(pid, "SIGTERM");
  assert.equal(await exited, 0, `the page's server did not exit 0:\n${output}`);
  await waitUntil(
    "the page server's and the step's groups, and the step's Redis, to be gone",
    async () => [pid, Number(again[1])].every(groupGone) && !(await isPortOpen(Number(redisAgain))),
  );
  t.diagnostic(`all of it took ${Date.now() - started} ms`);
});
