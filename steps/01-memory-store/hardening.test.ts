import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { freePort, isPortOpen, waitUntil } from "../../lib/services/net.ts";
import { repoRoot } from "../../lib/services/workshop-dir.ts";
import {
  assertPageVisitsSlideExpiry,
  startStep,
  storedExpiryOnPage,
} from "../../test/harness/index.ts";

// Hardening: what attacking and faulting this step once broke, kept fixed.
const STEP = "01-memory-store";

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
  assert.equal(await isPortOpen(server.port, "127.0.0.1"), true);
  // Another address of this machine (every 127.x.y.z is loopback on Linux, so this needs no
  // network, and works offline): a server bound to 127.0.0.1 alone does not answer there; one
  // on every address (HOST=0.0.0.0) would.
  assert.equal(await isPortOpen(server.port, "127.0.0.2"), false, "bound to 127.0.0.1 only");
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
