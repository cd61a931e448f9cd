/**
 * `npm start` as a learner uses it, in a real Chromium: the page server as a child process,
 * step 3 started from the page (on this test's own redis-server, never the learner's), a visit
 * in the app pane, its cookie, its key and its SET on the page, a new browser, a check run, the
 * step stopped, the page's server stopped, and nothing of either left running.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Page } from "puppeteer-core";
import { waitUntil } from "../lib/services/net.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { launchChromium } from "../test/harness/chromium.ts";
import { usePrivateRedis } from "../test/harness/index.ts";

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
      (s, p) => new RegExp(p).test(document.querySelector(s)?.textContent ?? ""),
      { timeout: WAIT_MS },
      selector,
      pattern.source,
    )
    .catch(async (error: Error) => {
      const shown = await tab.$eval(selector, (node) => node.textContent).catch(() => "");
      throw new Error(`waited for ${selector} to show ${pattern}; it shows:\n${shown}\n${error}`);
    });
  const text = await tab.$eval(selector, (node) => node.textContent ?? "");
  return pattern.exec(text) as RegExpExecArray;
}

test("npm start: step 3 in the page, its cookie, key and SET seen, a check, nothing left running", {
  timeout: 8 * WAIT_MS,
}, async (t) => {
  const redis = await usePrivateRedis();
  const started = Date.now();
  const server = spawn(
    process.execPath,
    [join("scripts", "run-ts.mjs"), join("scripts", "start", "server.ts")],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        PORT: "0",
        REDIS_URL: redis.url,
        SESSION_SECRET: randomBytes(32).toString("hex"),
        WORKSHOP_DIR: mkdtempSync(join(tmpdir(), "workshop-start-")),
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group: the test can tell when all of it is gone
    },
  );
  const pid = server.pid as number;
  after(() => groupGone(pid) || process.kill(-pid, "SIGKILL"));
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
  await tab.setViewport({ width: 1600, height: 1000 });
  await tab.goto(url);
  await (await tab.waitForSelector('button[aria-label^="Start step 3,"]'))?.click();

  // A visit in the app pane: the step's page, framed through the page's server.
  const frame = await (await tab.waitForSelector("#app"))?.contentFrame();
  await frame?.waitForFunction(() => document.body?.textContent?.includes("Visits"), {
    timeout: WAIT_MS,
  });
  const [, id] = await textOf(tab, "#cookies", /id (\S+) · signature verified \(secret 1\)/);
  assert.match(await tab.$eval("#cookies", (node) => node.textContent ?? ""), /HttpOnly/);
  await textOf(tab, "#store", new RegExp(`sess:${id}\\d+\\.\\d s`));
  await textOf(tab, "#events", new RegExp(`"SET" "sess:${id}"`));

  // A restart: the frame comes back, and the browser sends the same cookie, which still verifies.
  await tab.click("#restart");
  await textOf(
    tab,
    "#cookies li",
    new RegExp(`^GET / → 200Cookie \\(sent.*id ${id} · signature verified`),
  );

  // A new browser: the cookie is gone, so the next visit starts another session.
  await tab.click("#new-browser");
  const fresh = new RegExp(`^GET / → 200Cookie: none sent.*id (?!${id})\\S+ · signature verified`);
  await textOf(tab, "#cookies li", fresh);

  // The check pane runs the check with the CLI's code: the solution passes every case.
  await tab.click("#check-solution");
  await textOf(tab, "#check-results", /solution: passed ✓/);
  const cases = await tab.$$eval("#check-results li", (items) => items.map((i) => i.className));
  assert.ok(cases.length > 0 && cases.every((name) => name === "ok"), `cases: ${cases}`);

  // Stopped from the page: the step's whole process group is gone.
  const state = (await (await fetch(`${url}/api/state`)).json()) as { running?: { pid: number } };
  const step = state.running?.pid as number;
  await tab.click("#stop");
  await textOf(tab, "#app-status", /no step running/);
  await waitUntil(`the step's process group (${step}) to be gone`, () => groupGone(step), {
    timeoutMs: WAIT_MS,
  });

  // The page's server stops on SIGTERM, with nothing of its own left behind.
  await tab.click('button[aria-label^="Start step 3,"]');
  const again = await textOf(tab, "#app-status", /running \(pid (\d+)\)/);
  process.kill(pid, "SIGTERM");
  assert.equal(await exited, 0, `the page's server did not exit 0:\n${output}`);
  await waitUntil("the page server's and the step's groups to be gone", () =>
    [pid, Number(again[1])].every(groupGone),
  );
});
