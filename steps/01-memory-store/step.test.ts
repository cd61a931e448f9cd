import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { freePort, isPortOpen, waitUntil } from "../../lib/services/net.ts";
import { repoRoot } from "../../lib/services/workshop-dir.ts";
import {
  assertForeignCookiesStartFresh,
  assertPageVisitsSlideExpiry,
  Browser,
  COOKIE_NAME,
  setCookieAttributes,
  startStep,
  storedExpiryOnPage,
  visitRestartVisit,
} from "../../test/harness/index.ts";

const STEP = "01-memory-store";

test("MemoryStore forgets every session when the server restarts", async (t) => {
  const { before, after, shutdown } = await visitRestartVisit(t, STEP);
  assert.deepEqual(shutdown, { ...shutdown, code: 0 }, "SIGTERM should end the server with code 0");
  assert.ok(shutdown.ms < 3000, `shutdown took ${shutdown.ms} ms`);
  assert.equal(after.visits, 1, "after a restart the count starts again at 1");
  assert.notEqual(after.sessionId, before[0]?.sessionId, "the old session id is unknown now");
  assert.equal(after.store, "memory");
});

test("the cookie is HttpOnly, SameSite=Lax and signed; the page shows the warning", async (t) => {
  const server = await startStep(t, STEP);
  const browser = new Browser(server.url);
  const response = await browser.request("/", { json: false });
  assert.equal(response.status, 200);

  const attributes = setCookieAttributes(response, COOKIE_NAME);
  assert.ok(attributes, `a ${COOKIE_NAME} cookie is set on the first visit`);
  assert.ok(attributes.has("httponly"));
  assert.equal(attributes.get("samesite")?.toLowerCase(), "lax");
  assert.ok(attributes.has("expires"), "the cookie has an expiry (maxAge)");
  assert.match(browser.cookie(COOKIE_NAME) ?? "", /^s%3A[\w-]+\.[\w%+/-]+$/, "a signed id");

  const page = await response.text();
  assert.match(page, /<p class="count">1<\/p>/);
  assert.match(page, /purposely not designed for a production/);
  assert.match(page, /Session inspector/);
  assert.match(page, /&quot;visits&quot;:1/, "the inspector shows the stored record");
});

test("a tampered or unknown cookie starts a fresh session", async (t) => {
  const server = await startStep(t, STEP);
  await assertForeignCookiesStartFresh(server.url);
});

test("without a cookie-writing visit, nothing is stored and no cookie is set", async (t) => {
  const server = await startStep(t, STEP);
  const response = await fetch(`${server.url}/nothing-here`);
  assert.equal(response.status, 404);
  assert.equal(response.headers.getSetCookie().length, 0, "saveUninitialized: false");
});

test("a port already in use ends with a one-paragraph message and exit code 1", async (t) => {
  const first = await startStep(t, STEP);
  const second = await startStep(t, STEP, { port: first.port, expectListening: false });
  const { code } = await second.exited;
  assert.equal(code, 1);
  assert.match(second.output(), new RegExp(`Port ${first.port} is already in use`));
  assert.doesNotMatch(second.output(), /\n\s+at /, "no stack trace");
});

test("no X-Powered-By header; HEAD / creates no session", async (t) => {
  const server = await startStep(t, STEP);
  const get = await fetch(`${server.url}/`, { headers: { accept: "application/json" } });
  assert.equal(get.headers.get("x-powered-by"), null, "X-Powered-By tells which bugs to try");
  await get.arrayBuffer();
  const head = await fetch(`${server.url}/`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.getSetCookie().length, 0, "HEAD is not a visit: no session, no cookie");
});

test("on the page, the stored expiry slides with every visit", async (t) => {
  await assertPageVisitsSlideExpiry(t, STEP, {}, async (_id, page) => storedExpiryOnPage(page));
});

test("the step listens on this machine only, unless HOST says otherwise", async (t) => {
  const server = await startStep(t, STEP);
  assert.match(server.output(), new RegExp(`listening on http://localhost:${server.port}`));
  const outside = Object.values(networkInterfaces())
    .flat()
    .find((address) => address && address.family === "IPv4" && !address.internal);
  assert.ok(outside, "this test needs a network interface besides loopback");
  assert.equal(await isPortOpen(server.port, "127.0.0.1"), true);
  assert.equal(
    await isPortOpen(server.port, outside.address),
    false,
    `port ${server.port} must not answer on ${outside.address}`,
  );
});

test("without SESSION_SECRET: a secret generated for this checkout, kept, said once", async (t) => {
  const workshop = mkdtempSync(join(tmpdir(), "workshop-dir-"));
  t.after(() => rmSync(workshop, { recursive: true, force: true }));
  const env = { SESSION_SECRET: undefined, WORKSHOP_DIR: workshop };
  const first = await startStep(t, STEP, { env });
  const file = join(workshop, "secrets", "session-secret");
  assert.ok(existsSync(file), "the secret is kept in the workshop folder");
  const secret = readFileSync(file, "utf8");
  assert.match(secret, /^[0-9a-f]{64}$/, "32 random bytes");
  const said = first.output().match(/using a development secret generated for this checkout/g);
  assert.equal(said?.length, 1, `said once; it printed:\n${first.output()}`);
  await first.stop();

  await startStep(t, STEP, { env });
  assert.equal(readFileSync(file, "utf8"), secret, "the next start uses the same secret");
  const committed = readFileSync(join(repoRoot, "steps/shared/session-secret.ts"), "utf8");
  assert.doesNotMatch(committed, /development-only-secret/, "no secret is written in the code");
});

test("production refuses weak secrets: short, or 32 zeros", async (t) => {
  for (const weak of ["short-secret", "0".repeat(32), "ab".repeat(20)]) {
    const server = await startStep(t, STEP, {
      env: { NODE_ENV: "production", SESSION_SECRET: weak },
      expectListening: false,
    });
    assert.equal((await server.exited).code, 1, `"${weak}" must be refused`);
    assert.match(server.output(), /SESSION_SECRET holds a weak secret/);
  }
});

test("SIGTERM to the pid of `npm run step:1` ends the server too", async (t) => {
  const port = await freePort();
  const npm = spawn("npm", ["run", "step:1"], {
    cwd: repoRoot,
    env: { ...process.env, PORT: String(port), SESSION_SECRET: "x".repeat(8) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  npm.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  t.after(() => npm.kill("SIGKILL"));
  await waitUntil(
    `npm run step:1 to print "listening on" (it printed: ${output})`,
    () => output.includes(`listening on http://localhost:${port}`),
    { timeoutMs: 90_000 },
  );
  npm.kill("SIGTERM");
  await waitUntil(
    `port ${port} to close after SIGTERM to npm (pid ${npm.pid})`,
    async () => !(await isPortOpen(port)),
    { timeoutMs: 10_000, everyMs: 200 },
  );
});

test("a server whose parent is killed (a test runner that crashed) ends too", async (t) => {
  const port = await freePort();
  // sh starts the server and waits; SIGKILL to sh gives the server no chance to be told.
  const parent = spawn(
    "sh",
    ["-c", `"${process.execPath}" --import tsx steps/01-memory-store/server.ts & wait`],
    {
      cwd: repoRoot,
      env: { ...process.env, PORT: String(port), SESSION_SECRET: "x".repeat(8) },
      stdio: "ignore",
    },
  );
  t.after(() => parent.kill("SIGKILL"));
  await waitUntil(`the server on port ${port} to listen`, () => isPortOpen(port), {
    timeoutMs: 90_000,
    everyMs: 200,
  });
  parent.kill("SIGKILL");
  await waitUntil(
    `port ${port} to close after its parent (pid ${parent.pid}) was killed`,
    async () => !(await isPortOpen(port)),
    { timeoutMs: 10_000, everyMs: 200 },
  );
});
