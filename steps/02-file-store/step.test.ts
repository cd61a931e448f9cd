import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  assertForeignCookiesStartFresh,
  assertPageVisitsSlideExpiry,
  assertSessionsSurviveRestart,
  Browser,
  startStep,
} from "../../test/harness/index.ts";
import { fileStore } from "./app.ts";

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
  // express-session computes it as expires - now, a moment after setting expires: the time
  // between the two (a millisecond, more on a loaded machine) comes off the 30 minutes.
  const maxAge = stored.cookie.originalMaxAge;
  assert.ok(
    maxAge <= 30 * 60 * 1000 && maxAge > 30 * 60 * 1000 - 5_000,
    `maxAge of 30 min, got ${maxAge} ms`,
  );
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

test("on the page, the stored expiry slides with every visit", async (t) => {
  await assertPageVisitsSlideExpiry(t, STEP, { env }, async (id) => {
    return Date.parse(JSON.parse(readFileSync(fileOf(id), "utf8")).cookie.expires);
  });
});

test("a missing session is no error: the Store contract's (null, null), not ENOENT", async () => {
  // express-session's middleware forgives ENOENT; req.session.reload() and other callers
  // of store.get do not, and the message would name a path on the server.
  const store = fileStore(sessionsDir);
  const answer = await new Promise<unknown[]>((resolve) =>
    store.get("A".repeat(32), (...args: unknown[]) => resolve(args)),
  );
  assert.equal(answer[0] ?? null, null, `an error: ${String(answer[0])}`);
  assert.equal(answer[1] ?? null, null);
});

test("a touch of a session whose file is gone is no error; set() leaves the session as it was", async () => {
  const store = fileStore(sessionsDir);
  const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) };
  const touched = await new Promise<unknown>((resolve) =>
    store.touch?.(
      "B".repeat(32),
      { cookie } as never,
      ((error?: unknown) => resolve(error)) as () => void,
    ),
  );
  assert.equal(touched ?? null, null, `touch of a missing file: ${String(touched)}`);
  // session-file-store writes __lastAccess into what it is given; express-session would see a
  // change it did not make, and write the session again as the response ends.
  const session = { cookie, visits: 1 };
  await new Promise((resolve) => store.set("C".repeat(32), session as never, resolve));
  assert.deepEqual(Object.keys(session), ["cookie", "visits"], "the session given to set()");
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
