/**
 * Exercise 02: a session ends 20 minutes after the last visit (cookie and file together);
 * the file of an ended session is deleted within 5 minutes, by a reaper that runs at most once
 * a minute. Nobody waits: the check edits a file's last access to move it in time, and it
 * catches the reaper's timer as the store schedules it, then runs it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setCookieAttributes } from "../../lib/browser.ts";
import { waitUntil } from "../../lib/services/net.ts";
import type { VisitsJson } from "../../lib/visits-contract.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import {
  type CheckContext,
  defineCheck,
  expect,
  type Visitor,
  wrong,
} from "../../test/checks/kit.ts";

type Module = typeof import("./solution/app.ts");
type Context = CheckContext<Module>;

const MINUTE = 60 * 1000;

interface Timer {
  ms: number;
  run: () => void;
}

/** The app over a folder of the case's own, and the repeating timers it scheduled. */
async function start({ module, serve, after }: Context) {
  const dir = mkdtempSync(join(tmpdir(), "workshop-check-02-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const timers: Timer[] = [];
  const real = globalThis.setInterval;
  // The store schedules its reaper while it is built: keep what it asks for.
  globalThis.setInterval = ((run: () => void, ms?: number, ...rest: unknown[]) => {
    timers.push({ ms: Number(ms), run });
    const handle = real(run, Math.max(Number(ms) || 1, 60 * MINUTE), ...rest);
    after(() => clearInterval(handle));
    return handle;
  }) as typeof setInterval;
  let app: ReturnType<Module["createApp"]>;
  try {
    app = module.createApp(dir);
  } finally {
    globalThis.setInterval = real;
  }
  const site = await serve(app);
  return { dir, timers, site };
}

async function visit(visitor: Visitor): Promise<{ json: VisitsJson; response: Response }> {
  const response = await visitor.get("/", { json: true });
  expect(response.status === 200, "GET / does not answer 200", {
    observed: `${response.status} ${(await response.clone().text()).slice(0, 100)}`,
  });
  return { json: (await response.clone().json()) as VisitsJson, response };
}

/** Pretends the session's last request was MINUTES ago, by editing its file. */
function lastVisitAgo(file: string, minutes: number): void {
  const stored = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  stored.__lastAccess = Date.now() - minutes * MINUTE;
  writeFileSync(file, JSON.stringify(stored));
}

const minutes = (ms: number) => `${Math.round((ms / MINUTE) * 10) / 10} minutes`;

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "the cookie expires 20 minutes after the last visit",
      run: async (context) => {
        const { site } = await start(context);
        const { response } = await visit(site.visitor());
        const cookie = setCookieAttributes(response, COOKIE_NAME);
        const expires = cookie?.get("expires");
        if (!expires) {
          wrong("the cookie has no expiry", {
            expected: "a cookie that expires 20 minutes after the last visit",
            observed: "a cookie that lives until the browser closes, whatever the file does",
          });
        }
        const left = Date.parse(expires) - Date.now();
        expect(
          Math.abs(left - 20 * MINUTE) < 10_000,
          "the cookie lives longer or shorter than the policy",
          {
            expected: "it expires in 20 minutes",
            observed: `it expires in ${left < 60_000 ? `${Math.round(left / 1000)} seconds` : minutes(left)}`,
          },
        );
      },
    },
    {
      name: "a session is still there 19 minutes after the last visit, gone after 21",
      run: async (context) => {
        const { site, dir } = await start(context);
        const visitor = site.visitor();
        const { json } = await visit(visitor);
        const file = join(dir, `${json.sessionId}.json`);
        lastVisitAgo(file, 19);
        const second = await visit(visitor);
        expect(
          second.json.visits === 2,
          "a session ended less than 20 minutes after the last visit",
          {
            expected: "19 minutes after the last visit, the count goes on (2)",
            observed: `the count is ${second.json.visits}`,
          },
        );
        lastVisitAgo(file, 21);
        const third = await visit(visitor);
        expect(third.json.visits === 1, "a session outlives the policy", {
          expected: "21 minutes after the last visit, a new session (count 1)",
          observed: `the count is ${third.json.visits}`,
        });
      },
    },
    {
      name: "the reaper runs at most once a minute and at least every 5 minutes",
      run: async (context) => {
        const { timers } = await start(context);
        if (timers.length === 0) {
          wrong("expired files are never deleted", {
            expected: "the store deletes expired files every 1 to 5 minutes",
            observed: "it schedules no reaping at all",
          });
        }
        const ms = Math.min(...timers.map((timer) => (Number.isFinite(timer.ms) ? timer.ms : 1)));
        expect(ms >= MINUTE, "the reaper walks the whole folder too often", {
          expected: "at most once a minute",
          observed: ms < 1000 ? `every ${ms} ms` : `every ${ms / 1000} s`,
        });
        expect(ms <= 5 * MINUTE, "expired files stay on disk too long", {
          expected: "reaped at least every 5 minutes",
          observed: `every ${minutes(ms)}`,
        });
      },
    },
    {
      name: "the reaper deletes the file of an ended session and keeps a live one",
      run: async (context) => {
        const { site, dir, timers } = await start(context);
        const ended = (await visit(site.visitor())).json.sessionId;
        const live = (await visit(site.visitor())).json.sessionId;
        lastVisitAgo(join(dir, `${ended}.json`), 22);
        lastVisitAgo(join(dir, `${live}.json`), 15);
        expect(timers.length > 0, "expired files are never deleted", {
          observed: "no reaping is scheduled",
        });
        for (const timer of timers) timer.run();
        try {
          await waitUntil(
            "the ended session's file to be deleted",
            () => !existsSync(join(dir, `${ended}.json`)),
            { timeoutMs: 1500, everyMs: 20 },
          );
        } catch {
          wrong("the reaper left the file of an ended session", {
            expected: `${ended}.json (22 minutes after its last visit) deleted`,
            observed: "it is still there",
          });
        }
        expect(existsSync(join(dir, `${live}.json`)), "the reaper deleted a live session", {
          expected: `${live}.json (15 minutes after its last visit) kept`,
          observed: "it was deleted",
        });
      },
    },
  ],
});
