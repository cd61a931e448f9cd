import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
// Straight from browser.ts: the harness index loads the Redis and MongoDB drivers too.
import { Browser, setCookieAttributes } from "../../lib/browser.ts";
import { waitUntil } from "../../lib/services/net.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import { listen } from "./listen.ts";
import { importTarget } from "./target.ts";

const { createApp } =
  await importTarget<typeof import("../../solutions/02-expire-and-reap/app.ts")>("app.ts");

const MINUTE = 60 * 1000;

/** A folder of session files of the test's own, removed when it ends. */
function sessionsDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "workshop-check-02-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Pretends the session's last visit was `minutes` ago, by editing its file. */
function lastVisitAgo(file: string, minutes: number): void {
  const stored = JSON.parse(readFileSync(file, "utf8"));
  stored.__lastAccess = Date.now() - minutes * MINUTE;
  writeFileSync(file, JSON.stringify(stored));
}

test("the cookie expires 30 minutes after the last visit, and the file with it", async (t) => {
  const dir = sessionsDir(t);
  const browser = new Browser(await listen(t, createApp(dir)));
  const response = await browser.request("/", { json: true });
  assert.equal(response.status, 200, `GET / answered ${response.status}`);
  const { sessionId } = (await response.json()) as { sessionId: string };

  const expires = setCookieAttributes(response, COOKIE_NAME)?.get("expires");
  assert.ok(
    expires,
    `the ${COOKIE_NAME} cookie has no expiry: the browser keeps it until it closes, however ` +
      "long that is, while the session file expires on its own. Give the cookie a maxAge",
  );
  const minutesLeft = Math.round((Date.parse(expires) - Date.now()) / MINUTE);
  assert.equal(
    minutesLeft,
    30,
    `the cookie expires in ${minutesLeft} minutes, expected 30 (maxAge is in milliseconds)`,
  );
  const stored = JSON.parse(readFileSync(join(dir, `${sessionId}.json`), "utf8"));
  assert.equal(
    stored.cookie.originalMaxAge,
    30 * MINUTE,
    `the session file says the cookie's maxAge is ${stored.cookie.originalMaxAge} ms, expected ` +
      `${30 * MINUTE} (30 minutes)`,
  );
});

test("a session is served 20 minutes after the last visit, not 31", async (t) => {
  const dir = sessionsDir(t);
  const browser = new Browser(await listen(t, createApp(dir)));
  const { sessionId } = await browser.visit();
  const file = join(dir, `${sessionId}.json`);

  lastVisitAgo(file, 20);
  const recent = await browser.visit();
  assert.equal(
    recent.visits,
    2,
    "a session whose last visit was 20 minutes ago should still count on (it lives 30 minutes)",
  );

  lastVisitAgo(file, 31);
  const expired = await browser.visit();
  assert.ok(
    expired.visits === 1 && expired.sessionId !== sessionId,
    `a session whose last visit was 31 minutes ago was served again (visits: ${expired.visits}); ` +
      "it should have expired after 30 minutes",
  );
});

test("the reaper deletes expired session files, and only those", async (t) => {
  const dir = sessionsDir(t);
  const url = await listen(t, createApp(dir, 1)); // reap every second
  const alive = new Browser(url);
  const gone = new Browser(url);
  const aliveFile = join(dir, `${(await alive.visit()).sessionId}.json`);
  const goneFile = join(dir, `${(await gone.visit()).sessionId}.json`);
  lastVisitAgo(goneFile, 2 * 60); // two hours ago: expired, and never asked for again

  try {
    await waitUntil("the reaper", () => !existsSync(goneFile), { timeoutMs: 5000, everyMs: 100 });
  } catch {
    assert.fail(
      "an expired session file was still on disk 5 s after createApp(sessionsDir, 1): the " +
        "second parameter, reapEverySeconds, should become the FileStore's reapInterval",
    );
  }
  assert.ok(existsSync(aliveFile), "the reaper deleted the file of a session that is still alive");
  assert.equal((await alive.visit()).visits, 2, "a live session should count on after reaping");
});
