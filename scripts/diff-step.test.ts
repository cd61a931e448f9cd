import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript } from "../lib/run-script.ts";

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

  const first = await runScript("scripts/diff-step.ts", ["1"], {});
  assert.equal(first.code, 2);
  assert.match(first.output, /builds on nothing/);
});
