/**
 * The MemoryStore "leak", measured: step 01's app, in this process, gets N visits from N
 * different visitors who never come back (no cookie sent back, like a bot or a crawler).
 * Each visit stores one session; nothing ever deletes it, because MemoryStore only drops an
 * expired session when someone asks for that id again.
 *
 *   npm run leak                    100 000 visitors
 *   npm run leak -- --visitors 20000
 *
 * Prints the heap before and after (after a full garbage collection each time), and what
 * each session costs. Run with --expose-gc (npm run leak does) so the numbers are retained
 * memory, not garbage waiting to be collected.
 */
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { createApp } from "../steps/01-memory-store/app.ts";

const { values } = parseArgs({
  options: { visitors: { type: "string", default: "100000" } },
});
const visitors = Number(values.visitors);
const PARALLEL = 50;

function heapMegabytes(): number {
  // gc is there with --expose-gc; without it the numbers include garbage.
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

const server = createApp().listen(0, "127.0.0.1");
await new Promise((resolve) => server.once("listening", resolve));
const { port } = server.address() as AddressInfo;
const url = `http://127.0.0.1:${port}/`;

/** One visitor: one request without a cookie, so a new session each time. */
async function visitOnce(): Promise<void> {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  await response.arrayBuffer();
}

// Warm up (JIT, the HTTP client's pool), so "before" does not count the machinery.
for (let i = 0; i < 200; i++) await visitOnce();
const before = heapMegabytes();

let sent = 0;
const started = Date.now();
await Promise.all(
  Array.from({ length: PARALLEL }, async () => {
    while (sent < visitors) {
      sent++;
      await visitOnce();
    }
  }),
);
const after = heapMegabytes();
server.close();

const perSession = ((after - before) * 1024 * 1024) / visitors;
console.log(
  `${visitors} visitors who never came back, in ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
console.log(`heap before: ${before.toFixed(1)} MB   after: ${after.toFixed(1)} MB`);
console.log(`about ${perSession.toFixed(0)} bytes per session, kept until the process ends`);
console.log("(their cookies expire in 30 min; MemoryStore deletes a session only when it is read)");
