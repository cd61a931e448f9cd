import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  assertForeignCookiesStartFresh,
  assertSessionsSurviveRestart,
  Browser,
  startStep,
} from "../../test/harness/index.ts";

const STEP = "02-file-store";
const sessionsDir = mkdtempSync(join(tmpdir(), "workshop-sessions-"));
after(() => rmSync(sessionsDir, { recursive: true, force: true }));
const env = { SESSIONS_DIR: sessionsDir };
const fileOf = (sessionId: string) => join(sessionsDir, `${sessionId}.json`);

test("session files survive a restart of the server", async (t) => {
  await assertSessionsSurviveRestart(t, STEP, "file", { env });
});

test("each session is the file <id>.json, valid for cookie.maxAge after its last write", async (t) => {
  const server = await startStep(t, STEP, { env });
  const browser = new Browser(server.url);
  await browser.visit();
  const { sessionId } = await browser.visit();

  const stored = JSON.parse(readFileSync(fileOf(sessionId), "utf8"));
  assert.equal(stored.visits, 2);
  // express-session computes it as expires - now, so a clock tick can take 1 ms off
  assert.ok(Math.abs(stored.cookie.originalMaxAge - 30 * 60 * 1000) <= 1, "maxAge of 30 min");
  assert.ok(Math.abs(stored.__lastAccess - Date.now()) < 10_000, "__lastAccess is the last write");
});

test("an expired session file is not revived: the visit starts a new session", async (t) => {
  const server = await startStep(t, STEP, { env });
  const browser = new Browser(server.url);
  const { sessionId } = await browser.visit();

  // Pretend the last visit was two hours ago: longer than the cookie's 30 minutes.
  const stored = JSON.parse(readFileSync(fileOf(sessionId), "utf8"));
  stored.__lastAccess = Date.now() - 2 * 60 * 60 * 1000;
  writeFileSync(fileOf(sessionId), JSON.stringify(stored));

  const next = await browser.visit();
  assert.equal(next.visits, 1, "an expired session must not count on");
  assert.notEqual(next.sessionId, sessionId);
});

test("a corrupt session file starts a fresh session and is removed", async (t) => {
  const server = await startStep(t, STEP, { env });
  const browser = new Browser(server.url);
  const { sessionId } = await browser.visit();
  writeFileSync(fileOf(sessionId), '{"cookie": {"originalMaxAge": 18');

  const next = await browser.visit();
  assert.equal(next.visits, 1);
  assert.equal(existsSync(fileOf(sessionId)), false, "the unreadable file is deleted");
  assert.equal(server.output().includes("SyntaxError"), false, "no error reached the log");
});

test("a tampered or unknown cookie starts a fresh session", async (t) => {
  const server = await startStep(t, STEP, { env });
  await assertForeignCookiesStartFresh(server.url);
});
