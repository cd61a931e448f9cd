import assert from "node:assert/strict";
import { test } from "node:test";
import { Browser, startStep, usePrivateRedis } from "./harness/index.ts";
import { type VisitsJsonWithPid, visitsOverNewConnections } from "./harness/new-connection.ts";

// Many browsers at once, each visiting in sequence, as people do: no visit may be lost,
// counted twice, or given to another session, and no request may fail.
const CLIENTS = 40;
const VISITS_EACH = 25;

const redis = await usePrivateRedis();

async function loadTest(url: string): Promise<VisitsJsonWithPid[][]> {
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, () => visitsOverNewConnections(new Browser(url), VISITS_EACH)),
  );
  const expected = Array.from({ length: VISITS_EACH }, (_, i) => i + 1);
  clients.forEach((visits, client) => {
    assert.deepEqual(
      visits.map((visit) => visit.visits),
      expected,
      `client ${client} should count 1..${VISITS_EACH}`,
    );
    assert.equal(new Set(visits.map((visit) => visit.sessionId)).size, 1, "one session each");
  });
  const sessions = new Set(clients.map((visits) => visits[0]?.sessionId));
  assert.equal(sessions.size, CLIENTS, "every client has a session of its own");
  return clients;
}

test(`step 03: ${CLIENTS} clients × ${VISITS_EACH} visits, every count exact`, async (t) => {
  const server = await startStep(t, "03-redis-store", { env: { REDIS_URL: redis.url } });
  await loadTest(server.url);
  assert.doesNotMatch(server.output(), /→ 5\d\d/, "no request failed");
});

test(`step 06: ${CLIENTS} clients × ${VISITS_EACH} visits over 2 workers, every count exact`, async (t) => {
  const server = await startStep(t, "06-scale-out", {
    env: { REDIS_URL: redis.url, WORKERS: "2" },
  });
  const clients = await loadTest(server.url);
  const pids = new Set(clients.flat().map((visit) => visit.pid));
  assert.equal(pids.size, 2, `both workers answered (pids ${[...pids]})`);
  assert.doesNotMatch(server.output(), /→ 5\d\d/, "no request failed");
});
