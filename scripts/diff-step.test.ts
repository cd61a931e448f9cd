import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript } from "../lib/run-script.ts";
import { steps } from "../workshop.ts";

test("npm run diff:step shows the lesson: what changed, and what is used as it is", async () => {
  const ten = await runScript("scripts/diff-step.ts", ["10"], { NO_COLOR: "1" });
  assert.equal(ten.code, 0, ten.output);
  assert.match(ten.output, /Step 10 \(All in PostgreSQL\) builds on step 5/);
  assert.match(ten.output, /Imported from step 5 as they are: .*auth-routes\.ts.*users\.ts/);
  assert.match(
    ten.output,
    /diff --git a\/steps\/05-login-logout\/app\.ts b\/steps\/10-postgres-store\/app\.ts/,
  );
  assert.match(ten.output, /\+import connectPgSimple from "connect-pg-simple";/);
  assert.doesNotMatch(ten.output, /deleted file mode/, "a file used as it is is not shown deleted");

  const five = await runScript("scripts/diff-step.ts", ["5"], { NO_COLOR: "1" });
  assert.match(
    five.output,
    /diff --git a\/steps\/03-redis-store\/app\.ts b\/steps\/05-login-logout\/app\.ts/,
  );
  assert.doesNotMatch(five.output, /Imported from/);
  assert.match(five.output, /Given ready-made, not the lesson .*: auth-routes\.ts, .*users\.ts/);
  assert.doesNotMatch(five.output, /b\/steps\/05-login-logout\/users\.ts/, "named, not shown");

  const first = await runScript("scripts/diff-step.ts", ["1"], {});
  assert.equal(first.code, 2);
  assert.match(first.output, /builds on nothing/);
});

/** A diff's changed lines: added or removed, not the headers. */
const changedLines = (diff: string) =>
  diff.split("\n").filter((line) => /^[+-]/.test(line) && !/^(\+\+\+|---) /.test(line)).length;

test("every step's lesson is one subject: at most 300 changed lines in diff:step", async () => {
  const sizes: string[] = [];
  for (const step of steps.filter((s) => "buildsOn" in s)) {
    const { code, output } = await runScript("scripts/diff-step.ts", [String(step.number)], {
      NO_COLOR: "1",
    });
    assert.equal(code, 0, output);
    sizes.push(`${step.number}: ${changedLines(output)}`);
    assert.ok(
      changedLines(output) <= 300,
      `step ${step.number} changes ${changedLines(output)} lines: split it, or give a part ready-made`,
    );
  }
  console.log(`changed lines per step: ${sizes.join(", ")}`);
});
