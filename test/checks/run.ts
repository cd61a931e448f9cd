/**
 * Runs exercise checks in this one process, started by `npm run check` (scripts/check/run-check.ts)
 * and by test/exercises.test.ts:
 *   node scripts/run-ts.mjs test/checks/run.ts --target 05-login-session=exercises/05-login-session/yours …
 * Each folder gets its check's cases, in order, with a Redis of its own when a case asks for
 * one; a MongoDB is started once for all. Folders run a few at a time. What happens is written
 * as JSON lines (scripts/check/protocol.ts).
 *
 * The code under check runs in this process, so the runner guards itself: process.exit is
 * turned into a failure of the folder that called it, and what the code prints is kept, by
 * folder, for the learner to read under the result.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { availableParallelism, loadavg } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { findExercise } from "../../lib/exercises.ts";
import type { PrivateMongo } from "../../lib/services/mongo.ts";
import { machineLoad } from "../../lib/services/net.ts";
import { type PrivatePostgres, startPrivatePostgres } from "../../lib/services/postgres.ts";
import type { PrivateRedis } from "../../lib/services/redis.ts";
import { repoRoot } from "../../lib/services/workshop-dir.ts";
import {
  LINE_PREFIX,
  parseTarget,
  type ReportLine,
  type RunTarget,
} from "../../scripts/check/protocol.ts";
import {
  type CheckContext,
  type CheckPostgres,
  type CheckRedis,
  checkPostgres,
  checkRedis,
  type ExerciseCheck,
  serveApp,
  Wrong,
} from "./kit.ts";

const { values } = parseArgs({
  options: {
    target: { type: "string", multiple: true, default: [] },
    concurrency: { type: "string", default: "4" },
  },
});
const targets = (values.target ?? []).map(parseTarget);

// Our lines go to the real stdout; anything else printed goes to the folder printing it.
const writeOut = process.stdout.write.bind(process.stdout);
const exitForReal = process.exit.bind(process);
const emit = (line: ReportLine) => writeOut(`${LINE_PREFIX}${JSON.stringify(line)}\n`);
const current = new AsyncLocalStorage<string>();
const running = new Set<string>();
function capture(stream: NodeJS.WriteStream) {
  stream.write = ((chunk: string | Uint8Array) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    const dir = current.getStore();
    for (const target of dir ? [dir] : [...running]) emit({ kind: "output", dir: target, text });
    return true;
  }) as typeof stream.write;
}
capture(process.stdout);
capture(process.stderr);

/** Problems of a folder found outside its cases (process.exit, an uncaught error). */
const problems = new Map<string, string[]>();
function problem(dir: string | undefined, message: string) {
  for (const target of dir ? [dir] : [...running]) {
    const known = problems.get(target) ?? [];
    if (!known.includes(message)) problems.set(target, [...known, message]);
  }
}
process.exit = ((code?: number | string | null) => {
  const dir = current.getStore();
  const where = learnerFrame(new Error().stack ?? "");
  const message = `process.exit(${code ?? ""}) was called${where ? ` (${where})` : ""}: it would stop the server and every visitor's request with it`;
  problem(dir, message);
  throw new Wrong(message);
}) as typeof process.exit;
process.on("uncaughtException", (error) =>
  problem(
    current.getStore(),
    `an error nobody caught would stop the server (every visitor's request with it): ${crashMessage(error)}`,
  ),
);
process.on("unhandledRejection", (error) =>
  problem(
    current.getStore(),
    `a promise failed and nobody awaited or caught it, which stops a Node process (and every visitor's request with it): ${crashMessage(error)}`,
  ),
);

let mongo: Promise<PrivateMongo> | undefined;
/** PostgreSQL itself, started once for all folders, each with a database of its own. */
let sharedPostgres: Promise<PrivatePostgres> | undefined;
let databases = 0;

async function runTarget({ exercise, dir, until }: RunTarget): Promise<void> {
  const started = Date.now();
  running.add(dir);
  const absolute = join(repoRoot, dir);
  let redis: Promise<{ redis: CheckRedis; server: PrivateRedis }> | undefined;
  let postgres: Promise<{ postgres: CheckPostgres; server?: PrivatePostgres }> | undefined;
  // The clients a case opens on the folder's Redis are closed when that case ends.
  let caseCleanups: (() => unknown)[] = [];
  try {
    const checkUrl = pathToFileURL(join(repoRoot, findExercise(exercise).checkFile)).href;
    const check = ((await import(checkUrl)) as { default: ExerciseCheck<unknown> }).default;
    let module: unknown;
    try {
      module = await import(pathToFileURL(join(absolute, check.entry)).href);
    } catch (error) {
      problem(dir, `${dir}/${check.entry} could not be loaded: ${crashMessage(error)}`);
      return;
    }
    for (const testCase of check.cases) {
      const cleanups: (() => unknown)[] = [];
      caseCleanups = cleanups;
      const after = (fn: () => unknown) => void cleanups.push(fn);
      const context: CheckContext<unknown> = {
        module,
        dir: absolute,
        shownDir: dir,
        redis: async () => {
          redis ??= checkRedis((fn) => caseCleanups.push(fn)).catch((error: unknown) => {
            throw new Wrong(noRedisServer(error));
          });
          return (await redis).redis;
        },
        postgres: async () => {
          const name = `check${++databases}`;
          const shared = () => {
            sharedPostgres ??= startPrivatePostgres();
            return sharedPostgres;
          };
          postgres ??= checkPostgres((fn) => caseCleanups.push(fn), shared, name).catch(
            (error: unknown) => {
              throw new Wrong(`the check could not start its PostgreSQL: ${crashMessage(error)}`);
            },
          );
          return (await postgres).postgres;
        },
        mongo: async () => {
          // Loaded when first needed: the MongoDB driver takes a while to load.
          mongo ??= import("../../lib/services/mongo.ts").then((m) => m.startPrivateMongo());
          const url = new URL((await mongo).url);
          url.pathname = `/check${++databases}`;
          return url.href;
        },
        serve: async (app) => {
          const served = await serveApp(app);
          after(served.close);
          return served.site;
        },
        after,
      };
      const caseStarted = Date.now();
      const outcome = await runCase(() => testCase.run(context), testCase.timeoutMs ?? 4000);
      for (const cleanup of cleanups.reverse()) await cleanUp(cleanup);
      emit({
        kind: "case",
        dir,
        name: testCase.name,
        passed: outcome === undefined,
        ...(outcome === undefined ? {} : { message: outcome }),
        ms: Date.now() - caseStarted,
      });
      // A case that never finished may still be running, holding its clients and servers: the
      // cases after it would fail for its reasons, not theirs. One failure stays one failure.
      if (outcome?.startsWith(DID_NOT_FINISH)) {
        const left = check.cases.length - check.cases.indexOf(testCase) - 1;
        if (left > 0) {
          emit({
            kind: "output",
            dir,
            text: `(${left} more checks not run: fix this one first)\n`,
          });
        }
        break;
      }
      if (until && outcome?.includes(until)) break;
    }
  } catch (error) {
    problem(dir, crashMessage(error));
  } finally {
    // Stopped whether or not they started (a promise that rejected has nothing to stop).
    await redis?.then(({ server }) => server.stop()).catch(() => {});
    await postgres?.then(({ server }) => server?.stop()).catch(() => {});
    for (const message of problems.get(dir) ?? []) emit({ kind: "problem", dir, message });
    running.delete(dir);
    emit({ kind: "done", dir, ms: Date.now() - started });
  }
}

/** Why no private Redis could start, with advice that fits checks (they ignore REDIS_URL). */
function noRedisServer(error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  if (!/no redis-server/i.test(reason)) return `the check could not start its Redis: ${reason}`;
  return (
    "this check needs the program redis-server on this machine: it starts a private Redis of " +
    "its own on a free port, so that it never touches your data (REDIS_URL is not used by " +
    "checks). Install Redis (Debian/Ubuntu: `sudo apt install redis-server`, macOS: " +
    "`brew install redis`), then `npm run doctor` to confirm."
  );
}

const DID_NOT_FINISH = "the check did not finish within";
/** CHECK_TIMEOUT_SCALE multiplies every case's limit (test/checks/runner.test.ts forces one). */
const TIMEOUT_SCALE = Number(process.env.CHECK_TIMEOUT_SCALE) || 1;

/**
 * Runs one case: undefined when it passed, else why it failed. Its time limit guards against a
 * hang, so it grows with the machine's load (a busy machine is slow, not broken): TIMEOUT_MS on
 * a quiet one, times the load per core on a busy one.
 */
async function runCase(run: () => Promise<void>, timeoutMs: number): Promise<string | undefined> {
  const load = Math.max(1, (loadavg()[0] ?? 0) / availableParallelism());
  const limitMs = Math.round(timeoutMs * load * TIMEOUT_SCALE);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(
      () =>
        resolve(
          `${DID_NOT_FINISH} ${limitMs / 1000} s: something waited for an answer ` +
            `that never came (a callback never called, a promise never settled?) [${machineLoad()}]`,
        ),
      limitMs,
    );
  });
  try {
    return await Promise.race([
      run().then(
        () => undefined,
        (error: unknown) => (error instanceof Wrong ? error.message : crashMessage(error)),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error the code under check threw, with where in the learner's files it came from. */
/**
 * Runs one cleanup of a case, for at most 10 s: the code under check can make one wait for
 * ever (a pool whose connection was never released does not end), and the next case must run.
 */
async function cleanUp(cleanup: () => unknown): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, 10_000);
  });
  await Promise.race([Promise.resolve().then(cleanup), late]).catch(() => {});
  clearTimeout(timer);
}

function crashMessage(error: unknown): string {
  if (!(error instanceof Error)) return `it threw ${String(error)}`;
  const where = learnerFrame(error.stack ?? "");
  return `${error.name}: ${error.message}${where ? `\n  at ${where}` : ""}`;
}

/** The first line of a stack in the code under check (yours/, solution/ or a copy): "file:line". */
function learnerFrame(stack: string): string | undefined {
  for (const line of stack.split("\n").slice(1)) {
    const match = /(?:file:\/\/)?(\/[^\s()]+?):(\d+):\d+\)?$/.exec(line.trim());
    if (!match?.[1]) continue;
    const file = relative(repoRoot, match[1]);
    if (file.startsWith("test/") || file.startsWith("node_modules") || file.startsWith(".."))
      continue;
    if (/^exercises\/[^/]+\/check\.ts$/.test(file)) continue; // the check, not the code under it
    if (file.startsWith("steps/") || file.startsWith("lib/") || file.startsWith("node:")) continue;
    return `${file}:${match[2]}`;
  }
  return undefined;
}

// A few folders at a time: they mostly wait on their servers.
const queue = [...targets];
const concurrency = Math.max(1, Number(values.concurrency) || 4);
await Promise.all(
  Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const target = next;
      await current.run(target.dir, () => runTarget(target));
    }
  }),
);
if (mongo) await (await mongo).stop().catch(() => {});
if (sharedPostgres) await (await sharedPostgres).stop().catch(() => {});
// The code under check may leave timers or connections open: they must not keep us running.
setImmediate(() => exitForReal(0));
