/**
 * Imports flow one way, so that the folder tree says where a change belongs:
 *
 *   test/, every *.test.ts,
 *   exercises/NN-name/check.ts  may import anything
 *   scripts/                    lib, steps, workshop.ts (never test/, never exercises/)
 *   exercises/NN-name/starter/,
 *   …/solution/, …/yours/       their own folder, steps, lib, workshop.ts
 *   steps/NN-name/              its own folder, the steps it builds on, steps/shared, lib, workshop.ts
 *   steps/shared/               steps/shared, lib, workshop.ts
 *   lib/                        lib, workshop.ts
 *   workshop.ts                 nothing
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { type Step, stepNumbered, steps } from "../workshop.ts";

const FOLDERS = ["workshop.ts", "lib", "steps", "exercises", "scripts", "test"];
/** A learner's working copy: theirs to write, never judged by npm test. */
const YOURS = /^exercises\/[^/]+\/yours\//;

function sourceFiles(): string[] {
  return FOLDERS.flatMap((folder) =>
    folder.endsWith(".ts")
      ? [folder]
      : readdirSync(join(repoRoot, folder), { recursive: true, encoding: "utf8" })
          .filter((file) => file.endsWith(".ts") && !file.includes("node_modules"))
          .map((file) => join(folder, file))
          .filter((file) => !YOURS.test(file)),
  );
}

/** The repository paths FILE imports by a relative path (static imports and exports). */
function localImports(file: string): string[] {
  const text = readFileSync(join(repoRoot, file), "utf8");
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)];
  return specifiers.map(([, specifier = ""]) => normalize(join(dirname(file), specifier)));
}

/** Step N and every step it builds on, down to step 1. */
function chainOf(step: Step): string[] {
  const chain: string[] = [];
  for (let s: Step | undefined = step; s; s = s.buildsOn ? stepNumbered(s.buildsOn) : undefined) {
    chain.push(`steps/${s.slug}/`);
  }
  return chain;
}

/** Where FILE may import from, as path prefixes; undefined: anything. */
function allowedFor(file: string): string[] | undefined {
  const base = ["workshop.ts", "lib/"];
  if (file.startsWith("test/") || file.endsWith(".test.ts")) return undefined;
  if (/^exercises\/[^/]+\/check\.ts$/.test(file)) return undefined; // a check is a test
  if (file === "workshop.ts") return [];
  if (file.startsWith("lib/")) return base;
  if (file.startsWith("steps/shared/")) return [...base, "steps/shared/"];
  if (file.startsWith("steps/")) {
    const step = steps.find(({ slug }) => file.startsWith(`steps/${slug}/`));
    assert.ok(step, `${file} is in a steps/ folder that workshop.ts does not list`);
    return [...base, "steps/shared/", ...chainOf(step)];
  }
  const code = /^exercises\/[^/]+\/(starter|solution|yours)\//.exec(file);
  if (code) return [...base, "steps/", code[0]];
  if (file.startsWith("scripts/")) return [...base, "steps/", "scripts/"];
  assert.fail(`${file}: no rule says what it may import`);
}

test("imports flow one way: lib ← steps ← exercises, scripts ← tests", () => {
  const wrong: string[] = [];
  for (const file of sourceFiles()) {
    const allowed = allowedFor(file);
    if (!allowed) continue;
    for (const target of localImports(file)) {
      if (!allowed.some((prefix) => target === prefix || target.startsWith(prefix))) {
        wrong.push(`${file} imports ${relative(repoRoot, join(repoRoot, target))}`);
      }
    }
  }
  assert.deepEqual(wrong, [], `imports that go the wrong way:\n  ${wrong.join("\n  ")}`);
});

test("the rule above sees the imports it judges", () => {
  // A guard for the test itself: if the pattern stopped matching, every file would pass.
  assert.ok(localImports("steps/03-redis-store/server.ts").includes("lib/services/redis.ts"));
  assert.equal(allowedFor("lib/browser.ts")?.includes("steps/"), false);
});
