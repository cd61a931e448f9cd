/**
 * The embedded PostgreSQL (lib/services/pglite-server.ts) killed as a crash would kill it
 * (SIGKILL: no chance to save anything), over and over: what was committed is there at the
 * next start. A data folder damaged anyway stops the next start with what happened and how to
 * start over, instead of PGlite's WebAssembly abort at every start.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import pg from "pg";
import { typeScript } from "../../lib/run-script.ts";
import { freePort, waitUntil } from "../../lib/services/net.ts";
import { pglite, startPrivatePostgres } from "../../lib/services/postgres.ts";
import { answers } from "../../lib/services/service.ts";
import { repoRoot } from "../../lib/services/workshop-dir.ts";

const KILLS = 4;

test(`${KILLS} SIGKILLs in the middle of writes: every committed row is there after each`, async () => {
  const postgres = await startPrivatePostgres("pglite");
  after(() => postgres.stop());
  let next = 0; // the next row's number
  let acknowledged = 0; // rows whose INSERT answered: committed
  for (let kill = 1; kill <= KILLS; kill++) {
    const pool = new pg.Pool({ connectionString: postgres.url, max: 4 });
    pool.on("error", () => {}); // the kill closes its connections
    await pool.query("CREATE TABLE IF NOT EXISTS rows (n int PRIMARY KEY, pad text)");
    // Four writers at once; the kill comes once they have committed some rows, mid-write.
    let killed = false;
    const writer = async () => {
      while (!killed) {
        await pool.query("INSERT INTO rows VALUES ($1, repeat('x', 2000))", [++next]).then(
          () => acknowledged++,
          () => {}, // the kill: not acknowledged, so maybe not committed
        );
      }
    };
    const before = acknowledged;
    const writing = Promise.all(Array.from({ length: 4 }, writer));
    await waitUntil("some rows written", () => acknowledged >= before + 40);
    await postgres.crash();
    killed = true;
    await writing;
    await pool.end().catch(() => {});
    await postgres.start(); // rejects when the folder cannot be opened
    // Every acknowledged row is there; one whose answer the kill cut off may be there too.
    const check = new pg.Client(postgres.url);
    await check.connect();
    const { rows } = await check.query<{ n: number }>("SELECT count(*)::int AS n FROM rows");
    await check.end();
    const found = rows[0]?.n ?? 0;
    assert.ok(found >= acknowledged, `kill ${kill}: ${found} rows, ${acknowledged} acknowledged`);
    acknowledged = found;
  }
});

/** pglite-server.ts on DATA, as the workshop runs it; resolves its output once it prints "ready". */
function pgliteServer(data: string, port: number, empty: string) {
  const child = spawn(
    process.execPath,
    [...typeScript, join(repoRoot, "lib", "services", "pglite-server.ts"), data, String(port)],
    {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PGLITE_EMPTY: empty },
    },
  );
  after(() => child.kill("SIGKILL"));
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, output: () => output, exited };
}

test("killed during its very first start (an initdb, then a copy of the empty database it kept): the next start makes the folder anew", async () => {
  // The empty database is kept in a folder of this test's own: the first kill is during an
  // initdb (none kept yet), the second during the copy of the one the first kill's restart kept.
  const empty = join(mkdtempSync(join(tmpdir(), "workshop-pglite-empty-")), "empty");
  after(() => rmSync(dirname(empty), { recursive: true, force: true }));
  for (let kill = 1; kill <= 2; kill++) {
    assert.equal(
      existsSync(empty),
      kill === 2,
      kill === 1 ? "no empty database kept yet" : "the empty database kept",
    );
    const dir = mkdtempSync(join(tmpdir(), "workshop-pglite-first-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const data = join(dir, "data");
    const port = await freePort();
    const first = pgliteServer(data, port, empty);
    // Killed as the first files appear, in the new folder beside the data folder.
    await waitUntil(
      "initdb to write files",
      () => existsSync(`${data}.initdb`) || existsSync(data),
      {
        everyMs: 1,
        timeoutMs: 180_000,
      },
    );
    // 20 ms in: an initdb takes seconds, a copy about 100 ms.
    await new Promise((resolve) => setTimeout(resolve, 20));
    first.child.kill("SIGKILL");
    await first.exited;
    const second = pgliteServer(data, port, empty);
    await waitUntil(
      "the second start to answer",
      async () => {
        if (second.child.exitCode !== null) assert.fail(`it exited:\n${second.output()}`);
        return (await answers(pglite, pglite.url(port), 2000)).ok;
      },
      { timeoutMs: 180_000, everyMs: 100 },
    );
    const client = new pg.Client(pglite.url(port));
    await client.connect();
    await client.query("CREATE TABLE t (n int)");
    await client.query("INSERT INTO t VALUES (1)");
    assert.equal((await client.query("SELECT count(*)::int AS n FROM t")).rows[0]?.n, 1);
    await client.end();
    second.child.kill("SIGKILL");
    await second.exited;
  }
});

test("a damaged data folder: the start says which folder, what happened, and how to start over", async () => {
  const postgres = await startPrivatePostgres("pglite");
  after(() => postgres.stop());
  await postgres.crash();
  truncateSync(join(postgres.dir, "data", "global", "pg_control")); // what a torn write can leave
  await assert.rejects(postgres.start(), (error: Error) => {
    assert.match(error.message, /exited \(code 1\) before it answered/);
    assert.match(
      error.message,
      new RegExp(
        `cannot open its data folder ${join(postgres.dir, "data")} .*damaged.*` +
          `\`rm -rf ${join(postgres.dir, "data")}\`, then start the step again \\(\`npm run step:5\``,
        "s",
      ),
    );
    assert.doesNotMatch(error.message, /RuntimeError/, "PGlite's raw abort is not the message");
    return true;
  });
});
