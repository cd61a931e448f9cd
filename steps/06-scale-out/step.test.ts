import assert from "node:assert/strict";
import { test } from "node:test";
import { boundForLoad, waitUntil } from "../../lib/services/net.ts";
import {
  assertHungStoreAnswers503,
  assertSessionsSurviveRestart,
  Browser,
  redisClientFor,
  startStep,
  usePrivateRedis,
  type VisitsJsonWithPid,
  visitOverNewConnection,
  visitsOverNewConnections,
} from "../../test/harness/index.ts";

const STEP = "06-scale-out";
const redis = await usePrivateRedis();
const env = { REDIS_URL: redis.url, WORKERS: "2" };

const countsOf = (visits: VisitsJsonWithPid[]) => visits.map((visit) => visit.visits);
const pidsOf = (visits: VisitsJsonWithPid[]) => new Set(visits.map((visit) => visit.pid));
const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test("with Redis, one session counts 1..N in order while several workers answer", async (t) => {
  const client = await redisClientFor(t, redis.url);
  const connections = async () => (await client.clientList()).length;
  const alone = await connections();

  const server = await startStep(t, STEP, { env });
  assert.match(server.output(), /2 workers \(pids \d+, \d+\) share port/);
  const visits = await visitsOverNewConnections(new Browser(server.url), 10);

  assert.deepEqual(countsOf(visits), oneToN(10), "every worker sees the same session");
  assert.equal(new Set(visits.map((visit) => visit.sessionId)).size, 1, "one session id");
  assert.equal(pidsOf(visits).size, 2, `answered by pids ${[...pidsOf(visits)]}`);
  assert.ok(!pidsOf(visits).has(server.pid), "the primary answers no request itself");
  assert.equal(await connections(), alone + 2, "one Redis connection per worker");

  // SIGTERM to the primary stops every worker; each closes its Redis connection.
  const { code, ms } = await server.stop("SIGTERM");
  assert.equal(code, 0);
  const bound = boundForLoad(5000);
  assert.ok(ms < bound.ms, `shutdown took ${ms} ms (${bound.said})`);
  assert.equal(await connections(), alone, "every worker closed its connection");
  for (const pid of pidsOf(visits)) {
    assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} is gone`);
  }
});

test("with STORE=memory, every worker keeps its own sessions: counts jump and reset", async (t) => {
  const server = await startStep(t, STEP, { env: { STORE: "memory", WORKERS: "2" } });
  const visits = await visitsOverNewConnections(new Browser(server.url), 10);

  assert.ok(pidsOf(visits).size >= 2, `answered by pids ${[...pidsOf(visits)]}`);
  assert.notDeepEqual(countsOf(visits), oneToN(10), "the count cannot go on across workers");
  assert.ok(
    new Set(visits.map((visit) => visit.sessionId)).size > 1,
    "a worker that does not know the cookie starts a new session",
  );
  assert.ok(visits.every((visit) => visit.store === "memory"));
});

test("the count survives a restart of the whole cluster", async (t) => {
  await assertSessionsSurviveRestart(t, STEP, "redis", { env });
});

test("a hung Redis (frozen): 503 within 3 s from the workers, the session goes on", async (t) => {
  await assertHungStoreAnswers503(t, STEP, redis, { env });
});

test("a worker that dies is replaced, and no session is lost", async (t) => {
  const server = await startStep(t, STEP, { env });
  const browser = new Browser(server.url);
  const first = await visitsOverNewConnections(browser, 2);
  const victim = first[0]?.pid ?? -1;
  process.kill(victim, "SIGKILL");
  // A connection handed to the worker in the instant it died would be lost with it: wait
  // until the primary has noticed (the load balancer's health check, in a real deployment).
  const died = new RegExp(`worker ${victim} died \\(SIGKILL\\); starting a new one`);
  await waitUntil("the primary to notice", () => died.test(server.output()));

  // Until the new worker listens, the survivor answers everything; then both take turns.
  let visits = countsOf(first).length;
  await waitUntil("a new worker to answer", async () => {
    const visit = await visitOverNewConnection(browser);
    visits += 1;
    assert.equal(visit.visits, visits, "the count goes on in order");
    assert.notEqual(visit.pid, victim);
    return !pidsOf(first).has(visit.pid);
  });
});

test("a wrong STORE ends with a clear message and exit code 1", async (t) => {
  const server = await startStep(t, STEP, { env: { STORE: "mongo" }, expectListening: false });
  assert.equal((await server.exited).code, 1);
  assert.match(server.output(), /STORE must be redis or memory, not "mongo"/);
});
