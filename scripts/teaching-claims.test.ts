/**
 * Claims the decks and READMEs make about the libraries, shown on the real libraries and a
 * real redis-server. (Claims about the steps themselves are in each step's step.test.ts and
 * in the redis-cli walkthroughs.)
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import session from "express-session";
import { createClient } from "redis";
import createFileStore from "session-file-store";
import request from "supertest";
import { boundForLoad } from "../lib/services/net.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { createApp as createMemoryStoreApp } from "../steps/01-memory-store/app.ts";
import { usePrivateRedis } from "../test/harness/index.ts";

const redis = await usePrivateRedis();

function temporaryDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "claims-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("02: session-file-store's default retries (5, 50 ms apart) cost about 250 ms per unknown id; retries: 0 does not", async (t) => {
  const FileStore = createFileStore(session);
  const missTakes = async (options: { retries?: number }): Promise<number> => {
    const store = new FileStore({ path: temporaryDir(t), logFn: () => {}, ...options });
    const started = performance.now();
    await new Promise<void>((resolve) => store.get("no-such-session", () => resolve()));
    return performance.now() - started;
  };
  // The waits its defaults make: retries 5, minTimeout 50, maxTimeout 100, factor 1, handed to
  // the retry package: 50 ms each time (factor 1 never grows it towards maxTimeout).
  const require = createRequire(import.meta.url);
  const { DEFAULTS } = require("session-file-store/lib/session-file-helpers.js") as {
    DEFAULTS: { retries: number; factor: number; minTimeout: number; maxTimeout: number };
  };
  const retry = require("retry") as { timeouts(options: object): number[] };
  const { retries, factor, minTimeout, maxTimeout } = DEFAULTS;
  assert.deepEqual(
    { retries, factor, minTimeout, maxTimeout },
    {
      retries: 5,
      factor: 1,
      minTimeout: 50,
      maxTimeout: 100,
    },
  );
  assert.deepEqual(
    retry.timeouts({ retries, factor, minTimeout, maxTimeout }),
    [50, 50, 50, 50, 50],
  );

  const withDefaults = await missTakes({});
  const withoutRetries = await missTakes({ retries: 0 });
  // 5 retries 50 ms apart: never less than 250 ms, whatever the machine's load.
  assert.ok(withDefaults >= 245, `a miss with the defaults took ${withDefaults.toFixed(0)} ms`);
  // It waits for nothing: one failed read of a file, far under the first 50 ms retry's wait.
  const bound = boundForLoad(200);
  assert.ok(
    withoutRetries < bound.ms,
    `a miss with retries: 0 took ${withoutRetries.toFixed(0)} ms (${bound.said})`,
  );
});

test("00: the cookie's value is s: + id + signature, URL-encoded: DevTools shows s%3A…", async () => {
  const response = await request(createMemoryStoreApp()).get("/").set("Accept", "application/json");
  const cookie = response.headers["set-cookie"]?.[0] ?? "";
  assert.match(cookie, /^workshop\.sid=s%3A[\w-]{32}\.[\w%+/=-]+;/);
  assert.match(cookie, /HttpOnly/);
});

test("05: express-session's regenerate() asks the store to destroy the old id, then makes a new one", async () => {
  const store = new session.MemoryStore();
  const destroyed: string[] = [];
  // The real MemoryStore, watched: its own destroy still runs.
  const destroy = store.destroy.bind(store);
  store.destroy = (id, callback) => {
    destroyed.push(id);
    destroy(id, callback);
  };
  const express = (await import("express")).default;
  const app = express();
  app.use(session({ store, secret: "test-secret", resave: false, saveUninitialized: false }));
  app.get("/visit", (req, res) => {
    req.session.visits = 1;
    res.json({ id: req.sessionID });
  });
  app.get("/login", (req, res, next) => {
    const before = req.sessionID;
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.username = "ada";
      res.json({ before, after: req.sessionID });
    });
  });
  const agent = request.agent(app);
  const { id } = (await agent.get("/visit")).body as { id: string };
  const { before, after } = (await agent.get("/login")).body as { before: string; after: string };
  assert.equal(before, id);
  assert.notEqual(after, before, "a new id");
  assert.deepEqual(destroyed, [before], "the store was asked to destroy the old id, once");
  const old = await new Promise((resolve) => store.get(before, (_error, found) => resolve(found)));
  assert.equal(old ?? null, null, "the old record is gone from the store");
});

test("01: MemoryStore deletes an expired session only when something reads it: get or touch of its id, all(), length()", async () => {
  const store = new session.MemoryStore();
  const sessions = (store as unknown as { sessions: Record<string, string> }).sessions;
  const expired = { cookie: { expires: new Date(Date.now() - 60_000), originalMaxAge: 1000 } };
  const put = (id: string) =>
    new Promise<void>((resolve) =>
      store.set(id, expired as unknown as session.SessionData, () => resolve()),
    );
  await put("gone-for-a-minute");
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok("gone-for-a-minute" in sessions, "still in memory: no timer deletes it");
  await new Promise((resolve) => store.get("gone-for-a-minute", resolve));
  assert.ok(!("gone-for-a-minute" in sessions), "deleted when its id is read");

  // all() and length() read every session, and delete every expired one on the way.
  await put("expired-a");
  await put("expired-b");
  const count = await new Promise((resolve) => store.length((_error, n) => resolve(n)));
  assert.equal(count, 0);
  assert.deepEqual(Object.keys(sessions), [], "length() deleted both");
  await put("expired-c");
  await new Promise((resolve) => store.all((_error, all) => resolve(all)));
  assert.deepEqual(Object.keys(sessions), [], "all() deleted it");
});

test("03: at the maxmemory cap, noeviction refuses every SET (updates too); EXPIRE and GET work", async (t) => {
  const client = createClient({ url: redis.url });
  await client.connect();
  t.after(async () => {
    await client.configSet({ maxmemory: "0", "maxmemory-policy": "noeviction" });
    await client.close();
  });
  await client.set("sess:claims-existing", '{"visits":1}', {
    expiration: { type: "EX", value: 600 },
  });
  await client.configSet({ maxmemory: "1", "maxmemory-policy": "noeviction" });
  await assert.rejects(
    client.set("sess:claims-existing", '{"visits":2}', { expiration: { type: "EX", value: 600 } }),
    /OOM command not allowed/,
  );
  assert.equal(await client.get("sess:claims-existing"), '{"visits":1}');
  assert.equal(await client.expire("sess:claims-existing", 1800), 1, "a touch still works");

  // allkeys-lru: at the same cap a write succeeds, because Redis deletes other keys to make
  // room (any key, sessions included: someone is logged out).
  await client.configSet({ maxmemory: "0" });
  for (let i = 0; i < 500; i++) await client.set(`claims:fill:${i}`, "x".repeat(1000));
  const keysBefore = await client.dbSize();
  const used = Number(/used_memory:(\d+)/.exec(await client.info("memory"))?.[1]);
  await client.configSet({ maxmemory: String(used), "maxmemory-policy": "allkeys-lru" });
  assert.equal(await client.set("claims:one-more", "x".repeat(50_000)), "OK");
  const keysAfter = await client.dbSize();
  assert.ok(keysAfter < keysBefore, `evicted: ${keysBefore} keys before, ${keysAfter} after`);
});

test("00: tsx --env-file=.env and node --env-file=.env --import tsx both read a .env file", (t) => {
  const dir = temporaryDir(t);
  writeFileSync(join(dir, ".env"), "SESSION_SECRET=from-the-env-file\n");
  writeFileSync(join(dir, "print.ts"), "console.log(process.env.SESSION_SECRET);\n");
  const tsxCli = join(repoRoot, "node_modules", "tsx", "dist", "cli.mjs");
  // The variable must come from the file, not from the environment the test runs in.
  const { SESSION_SECRET: _ignored, ...env } = process.env;
  for (const args of [
    [tsxCli, `--env-file=${join(dir, ".env")}`, join(dir, "print.ts")],
    [`--env-file=${join(dir, ".env")}`, "--import", "tsx", join(dir, "print.ts")],
  ]) {
    const run = spawnSync(process.execPath, args, { cwd: repoRoot, env, encoding: "utf8" });
    assert.equal(run.stdout.trim(), "from-the-env-file", `${args.join(" ")}: ${run.stderr}`);
  }
});
