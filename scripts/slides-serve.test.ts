/**
 * npm run slides, as an instructor starts it: a real child process on a free port. It prints
 * the opening deck's address, its index lists the decks only, and a deck's links to the code
 * open; what is private (node_modules, .workshop, .env) is not served.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { test } from "node:test";
import { typeScript } from "../lib/run-script.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { listDecks } from "./slides-build.ts";

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  assert.ok(address && typeof address === "object");
  return address.port;
}

test("npm run slides prints the opening deck's URL, lists only decks, serves code links", async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, [...typeScript, "scripts/slides-serve.ts"], {
    cwd: repoRoot,
    env: { ...process.env, SLIDES_PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => child.kill("SIGINT"));
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });

  // Building eight decks takes a few seconds, more on a loaded machine: wait for the line.
  const deadline = Date.now() + 90_000;
  while (!/Slides: (http:\S+)/.test(output)) {
    assert.ok(child.exitCode === null, `npm run slides exited early:\n${output}`);
    assert.ok(Date.now() < deadline, `no "Slides: <url>" line after 90 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const url = /Slides: (http:\S+)/.exec(output)?.[1] ?? "";
  assert.equal(url, `http://localhost:${port}/slides-html/00-opening.html`);

  const base = `http://localhost:${port}`;
  const deck = await fetch(url);
  assert.equal(deck.status, 200);
  assert.match(await deck.text(), /Sessions in Node\.js/);

  const root = await fetch(`${base}/`, { redirect: "manual" });
  assert.equal(root.headers.get("location"), "/slides-html/00-opening.html");

  const index = await (await fetch(`${base}/slides-html/index.html`)).text();
  const listed = [...index.matchAll(/href="([^"]+)"/g)].map((match) => match[1]);
  assert.equal(listed.length, listDecks().length, `the index lists: ${listed.join(", ")}`);
  assert.ok(
    listed.every((href) => /^\d\d-[\w-]+\.html$/.test(href ?? "")),
    listed.join(", "),
  );

  // A deck links to ../steps/01-memory-store/app.ts: from /slides-html/ that is /steps/...
  const code = await fetch(new URL("../steps/01-memory-store/app.ts", url));
  assert.equal(code.status, 200);
  assert.match(await code.text(), /MemoryStore/);
  const picture = await fetch(`${base}/slides-html/img/round-trip.svg`);
  assert.equal(picture.headers.get("content-type"), "image/svg+xml");

  for (const hidden of ["/node_modules/express/package.json", "/.env", "/../etc/passwd"]) {
    assert.equal((await fetch(`${base}${hidden}`)).status, 404, `${hidden} must not be served`);
  }
});
