/**
 * scripts/run-ts.mjs, which `npm run step:N` runs: the TypeScript file runs in the launcher's
 * own process, sees itself as argv[1] with its arguments after it, gets the signals and sets
 * the exit code. On a Node that strips types itself (22.18+, 24) nothing else is loaded: an
 * enum, which only a compiler can run, then fails, as tsconfig.json's erasableSyntaxOnly warns.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../lib/services/workshop-dir.ts";

// process.features.typescript: "strip" on Node 22.18+ and 24; absent on Node 20, whose types
// (@types/node 20, the oldest Node the workshop supports) do not know it.
const nodeStripsTypes = Boolean((process.features as { typescript?: string | false }).typescript);

/** Writes FILES into a folder of .workshop/ (the repository's package.json: ES modules). */
function probeDir(t: test.TestContext, files: Record<string, string>): string {
  const dir = join(repoRoot, ".workshop", `run-ts-test-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const runTs = (...args: string[]) =>
  spawnSync(process.execPath, ["scripts/run-ts.mjs", ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: undefined },
  });

test("the file runs in this process, with its arguments, and sets the exit code", (t) => {
  const dir = probeDir(t, {
    "probe.ts": [
      "const seen: { argv: string[]; pid: number } = { argv: process.argv.slice(1), pid: process.pid };",
      "console.log(JSON.stringify(seen));",
      "process.exitCode = 3;",
    ].join("\n"),
  });
  const result = runTs(join(dir, "probe.ts"), "a", "b");
  assert.equal(result.status, 3, result.stderr);
  const seen = JSON.parse(result.stdout) as { argv: string[]; pid: number };
  assert.deepEqual(seen.argv, [join(dir, "probe.ts"), "a", "b"]);
});

test("without a file: usage, exit code 2", () => {
  const result = runTs();
  assert.equal(result.status, 2);
  assert.match(result.stderr, /Usage: node scripts\/run-ts\.mjs FILE\.ts/);
});

test(`an enum: ${nodeStripsTypes ? "refused, Node runs the file as it is" : "runs, compiled by esbuild (this Node cannot strip types)"}`, (t) => {
  const dir = probeDir(t, {
    "enum.ts": 'enum Store {\n  Memory = "memory",\n}\nconsole.log(Store.Memory);\n',
  });
  const result = runTs(join(dir, "enum.ts"));
  if (nodeStripsTypes) {
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX/);
  } else {
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), "memory");
  }
});

// module.enableCompileCache: Node 22.1 and later; absent on Node 20.
const nodeKeepsCompiledCode = "enableCompileCache" in (await import("node:module")).default;

test(`compiled code: ${nodeKeepsCompiledCode ? "kept in .workshop/node-compile-cache, for this process and the ones it starts" : "not kept (this Node has no compile cache)"}`, (t) => {
  const dir = probeDir(t, {
    "cache.ts": [
      'import module from "node:module";',
      "const kept = { here: module.getCompileCacheDir?.() ?? null, env: process.env.NODE_COMPILE_CACHE };",
      "console.log(JSON.stringify(kept));",
    ].join("\n"),
  });
  const result = spawnSync(process.execPath, ["scripts/run-ts.mjs", join(dir, "cache.ts")], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: undefined, NODE_COMPILE_CACHE: undefined },
  });
  assert.equal(result.status, 0, result.stderr);
  const kept = JSON.parse(result.stdout) as { here: string | null; env: string };
  const folder = join(repoRoot, ".workshop", "node-compile-cache");
  assert.equal(kept.env, folder, "the processes it starts are told the folder");
  if (!nodeKeepsCompiledCode) assert.equal(kept.here, null);
  // A folder per Node version inside it: v24.11.1-x64-…
  else assert.ok(kept.here?.startsWith(`${folder}/`), `compile cache in ${kept.here}`);
});

test("SIGTERM reaches the file's own handler", async (t) => {
  const dir = probeDir(t, {
    "server.ts": [
      'process.on("SIGTERM", (signal: string) => {',
      '  console.log("closing on", signal);',
      "  process.exit(0);",
      "});",
      "setInterval(() => {}, 1000);",
      'console.log("ready");',
    ].join("\n"),
  });
  const child = spawn(process.execPath, ["scripts/run-ts.mjs", join(dir, "server.ts")], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => child.kill("SIGKILL"));
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("ready")) resolve();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("exit", () => reject(new Error(`exited before it was ready: ${output}`)));
  });
  child.kill("SIGTERM");
  assert.equal(await exited, 0, output);
  assert.match(output, /closing on SIGTERM/);
});

test("lib/node20-typescript.mjs: a changed file runs as changed; an error points at its .ts line", (t) => {
  const probe = (text: string) => {
    const dir = probeDir(t, { "probe.ts": text });
    return spawnSync(
      process.execPath,
      ["--import", "./lib/node20-typescript.mjs", join(dir, "probe.ts")],
      { cwd: repoRoot, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: undefined } },
    );
  };
  assert.equal(probe("const n: number = 1;\nconsole.log(n);\n").stdout.trim(), "1");
  // The same path, another content: compiled again, not the first one's JavaScript.
  assert.equal(probe("const n: number = 2;\nconsole.log(n);\n").stdout.trim(), "2");
  const failed = probe("type N = number;\n\nconst n: N = 3;\nthrow new Error(String(n));\n");
  assert.notEqual(failed.status, 0);
  assert.match(failed.stderr, /probe\.ts:4\b/, `the stack trace names line 4:\n${failed.stderr}`);
});
