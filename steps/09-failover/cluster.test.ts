/**
 * Redis Cluster, honestly: what connect-redis does over node-redis's cluster client, the hash-tag
 * remedy for what fails, and what the remedy costs. (Not part of the step's app: Sentinel keeps
 * one copy of all data per node; Cluster splits the data, which sessions rarely need.)
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { RedisStore } from "connect-redis";
import { Cookie, type SessionData } from "express-session";
import { createClient, createCluster } from "redis";
import { startPrivateCluster } from "../../lib/services/redis-cluster.ts";
import type { RedisClient } from "../shared/redis-client.ts";

const nodes = await startPrivateCluster();
after(() => nodes.stop());
const cluster = createCluster({
  rootNodes: nodes.ports.map((port) => ({ url: `redis://127.0.0.1:${port}` })),
});
cluster.on("error", () => {});
await cluster.connect();
after(() => cluster.close());

const ids = Array.from({ length: 30 }, (_, i) => `visitor-${i}`);
const call = <R>(start: (done: (error?: unknown, result?: R) => void) => void) =>
  new Promise<R | undefined>((resolve, reject) =>
    start((error, result) => (error ? reject(error) : resolve(result))),
  );

async function storeWithSessions(prefix: string): Promise<RedisStore> {
  const store = new RedisStore({ client: cluster as unknown as RedisClient, prefix });
  const cookie = new Cookie();
  cookie.maxAge = 60_000;
  for (const id of ids) await call((done) => store.set(id, { cookie } as SessionData, done));
  return store;
}

/** How many keys starting with PREFIX each of the three nodes holds, largest first. */
async function keysPerNode(prefix: string): Promise<number[]> {
  const counts: number[] = [];
  for (const port of nodes.ports) {
    const node = createClient({ socket: { host: "127.0.0.1", port } });
    await node.connect();
    counts.push((await node.keys(`${prefix}*`)).length);
    node.destroy();
  }
  return counts.sort((a, b) => b - a);
}

test('prefix "sess:": sessions spread over the nodes; get/set work, all() and clear() fail with CROSSSLOT', async () => {
  const store = await storeWithSessions("sess:");
  const spread = await keysPerNode("sess:");
  assert.ok(spread.filter((n) => n > 0).length >= 2, `sessions per node: ${spread}`);

  // What express-session calls works: each command names one key, the client sends it to
  // the node that owns that key's slot.
  assert.ok(await call((done) => store.get("visitor-1", done)));
  // length() and ids() work: connect-redis scans every primary, one at a time.
  assert.equal(await call((done) => store.length(done)), ids.length);
  // all() reads every key in one MGET, clear() deletes them in one DEL: one command, many
  // slots, which Redis Cluster refuses.
  await assert.rejects(
    call((done) => store.all(done)),
    /CROSSSLOT/,
  );
  await assert.rejects(
    call((done) => store.clear(done)),
    /CROSSSLOT/,
  );
  assert.equal(await call((done) => store.length(done)), ids.length, "clear() deleted nothing");
  await Promise.all(ids.map((id) => cluster.del(`sess:${id}`)));
});

test('prefix "{sess}:": one hash slot for all, so all() and clear() work; the cost: one node holds every session', async () => {
  const store = await storeWithSessions("{sess}:");
  // Only the part between { and } is hashed: every key lands in the slot of "sess".
  const slots = new Set(
    await Promise.all(
      ids.map((id) => cluster.sendCommand(undefined, true, ["CLUSTER", "KEYSLOT", `{sess}:${id}`])),
    ),
  );
  assert.equal(slots.size, 1, `slots: ${[...slots]}`);
  assert.deepEqual(await keysPerNode("{sess}:"), [ids.length, 0, 0]);

  const all = (await call<SessionData[]>((done) => store.all(done))) ?? [];
  assert.equal(all.length, ids.length);
  await call((done) => store.clear(done));
  assert.equal(await call((done) => store.length(done)), 0);
});
