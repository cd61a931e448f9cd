import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { waitUntil } from "../../lib/services/net.ts";
import {
  assertForeignCookiesStartFresh,
  assertPageVisitsSlideExpiry,
  assertSessionsSurviveRestart,
  Browser,
  COOKIE_NAME,
  signedCookie,
  startStep,
} from "../../test/harness/index.ts";

const STEP = "02-file-store";
const sessionsDir = mkdtempSync(join(tmpdir(), "workshop-sessions-"));
after(() => rmSync(sessionsDir, { recursive: true, force: true }));
const SECRET = "a-secret-the-attacker-has-learnt-0123456789";
const env = { SESSIONS_DIR: sessionsDir, SESSION_SECRET: SECRET };
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

test("a session id is never a path: a forged id outside the folder starts a fresh session", async (t) => {
  const outside = mkdtempSync(join(tmpdir(), "workshop-victim-"));
  t.after(() => rmSync(outside, { recursive: true, force: true }));
  const victim = join(outside, "victim.json");
  const original = JSON.stringify({ cookie: { originalMaxAge: 1800000 }, secret: "keep me" });
  writeFileSync(victim, original);
  const server = await startStep(t, STEP, { env });

  for (const id of [`../${outside.split("/").pop()}/victim`, "x".repeat(5000)]) {
    const browser = new Browser(server.url);
    browser.cookies.set(COOKIE_NAME, signedCookie(id, SECRET)); // signed with the real secret
    const response = await browser.request("/", { json: true });
    assert.equal(response.status, 200, `a forged id of ${id.length} characters`);
    const visit = (await response.json()) as { visits: number; sessionId: string };
    assert.equal(visit.visits, 1, "a fresh session");
    assert.notEqual(visit.sessionId, id);
  }
  assert.equal(readFileSync(victim, "utf8"), original, "the file outside the folder is untouched");
});

test("on the page, the stored expiry slides with every visit", async (t) => {
  await assertPageVisitsSlideExpiry(t, STEP, { env }, async (id) => {
    return Date.parse(JSON.parse(readFileSync(fileOf(id), "utf8")).cookie.expires);
  });
});

test("the sessions folder deleted while the server runs is created again", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "workshop-sessions-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startStep(t, STEP, { env: { ...env, SESSIONS_DIR: dir } });
  const browser = new Browser(server.url);
  await browser.visit();
  rmSync(dir, { recursive: true, force: true });

  const next = await browser.visit();
  assert.equal(next.visits, 1, "the session went with its folder: a fresh one");
  assert.ok(existsSync(join(dir, `${next.sessionId}.json`)), "the folder and file are back");
});

test("a record that is not a session, or too large, is a fresh session and is deleted", async (t) => {
  const server = await startStep(t, STEP, { env });
  for (const [what, content] of [
    ["valid JSON, not a session", '{"hello": "world"}'],
    ["JSON null", "null"],
    ["2 MB", JSON.stringify({ cookie: {}, junk: "x".repeat(2_000_000) })],
  ] as const) {
    const browser = new Browser(server.url);
    const { sessionId } = await browser.visit();
    writeFileSync(fileOf(sessionId), content);
    const started = Date.now();
    const next = await browser.visit();
    assert.equal(next.visits, 1, `${what}: a fresh session`);
    assert.ok(Date.now() - started < 2000, `${what}: answered in ${Date.now() - started} ms`);
    assert.equal(existsSync(fileOf(sessionId)), false, `${what}: the file is deleted`);
  }
});

test("the sweep removes orphaned temp files and non-sessions, keeps sessions", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "workshop-sessions-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const id = "A".repeat(32);
  const session = JSON.stringify({ cookie: { originalMaxAge: 1800000 }, __lastAccess: Date.now() });
  writeFileSync(join(dir, `${id}.json`), session);
  writeFileSync(join(dir, `${id}.json.3141592653`), session.slice(0, 10)); // a killed write
  writeFileSync(join(dir, `${"B".repeat(32)}.json`), '{"not": "a session"}');
  const old = new Date(Date.now() - 10 * 60 * 1000);
  utimesSync(join(dir, `${id}.json.3141592653`), old, old);

  await startStep(t, STEP, { env: { ...env, SESSIONS_DIR: dir } });
  await waitUntil("the sweep at start to leave only the session", () => {
    const names = readdirSync(dir);
    return names.length === 1 && names[0] === `${id}.json`;
  });
});

/**
 * Makes DIR refuse (or accept again) new files. Permissions do not bind root, so as root the
 * folder is made immutable (chattr +i, Linux) instead.
 */
function readOnly(dir: string, on: boolean): void {
  if (process.getuid?.() === 0) {
    execFileSync("chattr", [on ? "+i" : "-i", dir]);
    return;
  }
  chmodSync(dir, on ? 0o500 : 0o700);
}

test("a write the disk refuses is a 503 (JSON or page), never a 200", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "workshop-sessions-"));
  t.after(() => {
    readOnly(dir, false);
    rmSync(dir, { recursive: true, force: true });
  });
  mkdirSync(dir, { recursive: true });
  const server = await startStep(t, STEP, { env: { ...env, SESSIONS_DIR: dir } });
  const browser = new Browser(server.url);
  await browser.visit();
  readOnly(dir, true);
  for (const json of [true, false]) {
    const response = await browser.request("/", { json });
    assert.equal(response.status, 503, `a refused write must not answer ${response.status}`);
    assert.match(response.headers.get("content-type") ?? "", json ? /json/ : /html/);
    await response.arrayBuffer();
  }
  readOnly(dir, false);
  assert.equal((await browser.visit()).visits, 2, "nothing already stored was lost");
});
