import assert from "node:assert/strict";
import { test } from "node:test";
import { RedisStore } from "connect-redis";
import { Cookie, type SessionData } from "express-session";
import { createClient } from "redis";
import { waitUntil } from "../../lib/services/net.ts";
import type { VisitsJson } from "../../lib/visits-contract.ts";
import {
  assertExitsWithMessage,
  assertForeignCookiesStartFresh,
  assertSessionsSurviveRestart,
  Browser,
  startStep,
  usePrivateSentinels,
} from "../../test/harness/index.ts";
import type { RedisClient } from "../shared/redis-client.ts";
import { createSentinelClient } from "./sentinel-client.ts";

const STEP = "09-failover";
const set = await usePrivateSentinels();
const env = {
  REDIS_SENTINELS: set.sentinels.map(({ host, port }) => `${host}:${port}`).join(","),
  REDIS_SENTINEL_MASTER: set.masterName,
};
/** What the step promises: no request waits for the store more than 2 s (plus load). */
const LONGEST_503_MS = 5000;

test("sessions survive a restart of the server; the JSON names the primary", async (t) => {
  await assertSessionsSurviveRestart(t, STEP, "redis", { env });
  const server = await startStep(t, STEP, { env });
  const primary = await set.primary();
  assert.equal((await new Browser(server.url).visit()).primary, `${primary.host}:${primary.port}`);
});

test("sentinels that do not answer, or a REDIS_SENTINELS it cannot read: exit 1, saying which", async (t) => {
  await assertExitsWithMessage(
    t,
    STEP,
    { REDIS_SENTINELS: "127.0.0.1:1,127.0.0.1:2" },
    /REDIS_SENTINELS is set to 127\.0\.0\.1:1,127\.0\.0\.1:2, but no sentinel there named a primary/,
  );
  await assertExitsWithMessage(t, STEP, { REDIS_SENTINELS: "nonsense" }, /host:port pairs/);
});

test("a tampered or unknown cookie starts a fresh session", async (t) => {
  const server = await startStep(t, STEP, { env });
  await assertForeignCookiesStartFresh(server.url);
});

test("the primary killed while a client visits: a short 503 at most, the count goes on", async (t) => {
  const server = await startStep(t, STEP, { env });
  const browser = new Browser(server.url);
  const old = await set.primary();
  const answers: { status: number; ms: number; json?: VisitsJson }[] = [];
  let acknowledged = 0; // the last count a 200 answered
  let visiting = true;
  const loop = (async () => {
    while (visiting) {
      const started = Date.now();
      const response = await browser.request("/", { json: true });
      const answer = { status: response.status, ms: Date.now() - started };
      if (response.status === 200) {
        const json = (await response.json()) as VisitsJson;
        answers.push({ ...answer, json });
        acknowledged = json.visits;
      } else {
        await response.text();
        answers.push(answer);
      }
    }
  })();

  await waitUntil("five visits before the crash", () => acknowledged >= 5);
  // Everything acknowledged so far has reached the replica: from here on, no write may be lost.
  const replicated = await acknowledgedAndReplicated(() => acknowledged, old.port);
  const beforeCrash = acknowledged;
  await set.crash(old.port);
  const crashedAt = answers.length;

  await waitUntil(
    "ten visits counted by the promoted replica",
    () =>
      answers.filter((a) => a.json && a.json.primary !== `${old.host}:${old.port}`).length >= 10,
    { timeoutMs: 90_000 },
  );
  visiting = false;
  await loop;

  const statuses = new Set(answers.map((a) => a.status));
  assert.deepEqual(
    [...statuses].filter((s) => s !== 200 && s !== 503),
    [],
    "only 200s and 503s",
  );
  const slow503 = answers.filter((a) => a.status === 503 && a.ms > LONGEST_503_MS);
  assert.deepEqual(slow503, [], `every 503 within ${LONGEST_503_MS} ms`);
  const counted = answers.flatMap((a) => (a.json ? [a.json] : []));
  assert.ok(new Set(counted.map((json) => json.sessionId)).size === 1, "one session throughout");
  const firstAfter = answers.slice(crashedAt).find((a) => a.json)?.json?.visits ?? 0;
  // Lost: acknowledged, then gone with the primary before it reached the replica. Gained:
  // counted, though no 200 said so before the failover: a request in flight at the crash, or
  // one answered 503 whose command the sentinel client still ran, later, on the promoted
  // replica (the deadline gives up waiting, not the command).
  const lost = Math.max(0, beforeCrash - (firstAfter - 1));
  const gained = Math.max(0, firstAfter - 1 - beforeCrash);
  assert.ok(
    firstAfter - 1 >= replicated,
    `the count went back from ${beforeCrash} to ${firstAfter - 1}: a write acknowledged before the last replication (${replicated}) was lost`,
  );
  const stall = Math.max(...answers.slice(crashedAt).map((a) => a.ms));
  console.log(
    `# failover: ${answers.filter((a) => a.status === 503).length} answers were 503, ` +
      `${lost} acknowledged writes lost, ${gained} counted that no 200 had acknowledged, ` +
      `longest request ${stall} ms`,
  );

  await set.start(old.port); // it comes back as a primary of its own, with its old data
  await rejoined(old.port);
  assert.equal((await browser.visit()).visits, acknowledged + 1, "the count goes on");
  assert.equal(server.output().includes("Error:"), false, server.output());
});

test("primary and replica both gone: a 503 within seconds, not a hang; back when they are", async (t) => {
  const server = await startStep(t, STEP, { env });
  const browser = new Browser(server.url);
  await browser.visit();
  const { sessionId } = await browser.visit();
  const primary = await set.primary();
  const replica = set.dataPorts.find((port) => port !== primary.port) ?? 0;
  // Nothing left to promote: without a deadline, the sentinel client would wait (asking the
  // sentinels again and again) for as long as both stay down.
  await set.crash(replica);
  await set.crash(primary.port);
  t.after(async () => {
    await set.start(primary.port).catch(() => {});
    await set.start(replica).catch(() => {});
  });

  for (let i = 0; i < 3; i++) {
    const started = Date.now();
    const response = await browser.request("/", { json: true });
    const ms = Date.now() - started;
    assert.equal(response.status, 503, await response.text());
    assert.ok(ms < LONGEST_503_MS, `a 503 after ${ms} ms; the step promises about 2 s`);
  }

  await set.start(primary.port); // its append-only file (fsync always) brings the session back
  await set.start(replica);
  await waitUntil(
    "the app to find the primary again",
    async () => {
      const response = await browser.request("/", { json: true });
      if (response.status === 503) return false;
      const json = (await response.json()) as VisitsJson;
      assert.equal(json.sessionId, sessionId, "the same session goes on");
      assert.equal(json.visits, 3, "no visit lost, none counted twice");
      return true;
    },
    { timeoutMs: 90_000, everyMs: 250 },
  );
  await rejoined(replica);
  assert.equal(process.kill(server.pid, 0), true, "the app's process lives on");
});

test("WAIT: how many replicas have this client's writes; 0 after the timeout with the replica down", async (t) => {
  const primary = await set.primary();
  const replica = set.dataPorts.find((port) => port !== primary.port) ?? 0;
  const client = createClient({ socket: { host: "127.0.0.1", port: primary.port } });
  client.on("error", () => {});
  await client.connect();
  t.after(() => client.destroy());
  await client.set("probe:wait", "1");
  assert.equal(await client.wait(1, 5000), 1, "the replica acknowledged the write");

  await set.crash(replica);
  t.after(async () => {
    await set.start(replica);
    await rejoined(replica);
  });
  await client.set("probe:wait", "2");
  const started = Date.now();
  assert.equal(await client.wait(1, 500), 0, "no replica has the write");
  assert.ok(Date.now() - started >= 450, `WAIT gave up after ${Date.now() - started} ms`);
  await client.del("probe:wait");
});

test("connect-redis over the sentinel client: what works, and what the step does not need", async () => {
  const redis = createSentinelClient(set.masterName, set.sentinels);
  await redis.connect();
  const store = new RedisStore({ client: redis as unknown as RedisClient, prefix: "probe:" });
  const call = <R>(start: (done: (error?: unknown, result?: R) => void) => void) =>
    new Promise<R | undefined>((resolve, reject) =>
      start((error, result) => (error ? reject(error) : resolve(result))),
    );
  try {
    const cookie = new Cookie();
    cookie.maxAge = 60_000;
    const session = { cookie, visits: 1 } as SessionData;
    // What express-session calls: get, set, touch, destroy. All work.
    await call((done) => store.set("a", session, done));
    assert.equal((await call<SessionData | null>((done) => store.get("a", done)))?.visits, 1);
    await call((done) => store.touch("a", session, done));
    await call((done) => store.destroy("a", done));
    assert.equal(await call((done) => store.get("a", done)), null);

    // What only admin code calls: connect-redis walks the keys with client.scanIterator(), which
    // the sentinel client of node-redis 5 does not have.
    await call((done) => store.set("b", session, done));
    for (const method of ["length", "ids", "all", "clear"] as const) {
      await assert.rejects(
        call((done) => store[method](done)),
        /scanIterator is not a function/,
        `${method}() fails`,
      );
    }
    // Where you need them: SCAN through the sentinel client itself (it sends it to the primary).
    let cursor = "0";
    const keys: string[] = [];
    do {
      const reply = await redis.scan(cursor, { MATCH: "probe:*", COUNT: 100 });
      cursor = reply.cursor;
      keys.push(...reply.keys);
    } while (cursor !== "0");
    assert.deepEqual(keys, ["probe:b"]);
  } finally {
    await redis.del("probe:b");
    redis.destroy();
  }
});

/**
 * Waits until the node on PORT is a replica again, and has copied its primary's data (ROLE
 * says "connected" once the first sync is over): only then may the next test kill that primary.
 */
async function rejoined(port: number): Promise<void> {
  await waitUntil(
    `the node on ${port} to rejoin as a replica and finish its sync`,
    async () => {
      const role = await replicaRole(port).catch(() => undefined);
      return role?.[0] === "slave" && role[3] === "connected";
    },
    { timeoutMs: 90_000, everyMs: 200 },
  );
}

async function replicaRole(port: number): Promise<unknown[]> {
  const client = createClient({ socket: { host: "127.0.0.1", port, reconnectStrategy: false } });
  client.on("error", () => {});
  await client.connect();
  try {
    return (await client.sendCommand(["ROLE"])) as unknown[];
  } finally {
    client.destroy();
  }
}

/**
 * Waits until the replica has received everything the primary had when this was called, and
 * resolves with the count acknowledged at that moment.
 */
async function acknowledgedAndReplicated(
  acknowledged: () => number,
  port: number,
): Promise<number> {
  const primary = createClient({ socket: { host: "127.0.0.1", port } });
  primary.on("error", () => {});
  await primary.connect();
  try {
    const count = acknowledged();
    const offset = field(await primary.info("replication"), "master_repl_offset");
    await waitUntil("the replica to catch up", async () => {
      const info = await primary.info("replication");
      return Number(/slave0:.*offset=(\d+)/.exec(info)?.[1] ?? -1) >= offset;
    });
    return count;
  } finally {
    primary.destroy();
  }
}

function field(info: string, name: string): number {
  return Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1]);
}
