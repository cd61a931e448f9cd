import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { Browser } from "../../lib/browser.ts";
import { boundForLoad, machineLoad } from "../../lib/services/net.ts";
import { type StartOptions, startStep } from "../../lib/step-process.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import { sessionIdOf } from "./cookies.ts";

export interface RestartResult {
  /** The two visits before the restart. */
  before: { visits: number; sessionId: string }[];
  /** The visit after the restart, with the same cookie. */
  after: { visits: number; sessionId: string; store: string };
  /** How the first process ended on SIGTERM. */
  shutdown: { code: number | null; signal: string | null; ms: number };
}

/**
 * The claim of every step: visit twice, stop the server with SIGTERM, start a new process,
 * visit again with the same cookie. Steps with a persistent store go on at 3; MemoryStore
 * starts again at 1.
 */
export async function visitRestartVisit(
  t: TestContext,
  step: string,
  options: StartOptions = {},
): Promise<RestartResult> {
  const first = await startStep(t, step, options);
  const browser = new Browser(first.url);
  const before = [await browser.visit(), await browser.visit()];
  assert.deepEqual(
    before.map((visit) => visit.visits),
    [1, 2],
    "two visits with the same cookie should count 1, then 2",
  );
  const shutdown = await first.stop("SIGTERM");

  const second = await startStep(t, step, options);
  browser.baseUrl = second.url;
  return { before, after: await browser.visit(), shutdown };
}

/**
 * The claim of steps with a persistent store, asserted: after a restart the same session
 * goes on at 3, and the first process ended cleanly (code 0) on SIGTERM.
 */
export async function assertSessionsSurviveRestart(
  t: TestContext,
  step: string,
  store: string,
  options: StartOptions = {},
): Promise<void> {
  const { before, after, shutdown } = await visitRestartVisit(t, step, options);
  assert.equal(shutdown.code, 0, "SIGTERM should end the server with code 0");
  assert.equal(after.visits, 3, "the count goes on after a restart");
  assert.equal(after.sessionId, before[0]?.sessionId, "same session, same id");
  assert.equal(after.store, store);
}

/**
 * A cookie whose signature does not match, and one the server never issued, both start a
 * fresh session at 1; neither is an error.
 */
export async function assertForeignCookiesStartFresh(url: string): Promise<void> {
  const browser = new Browser(url);
  const { sessionId } = await browser.visit();
  await browser.visit();

  const signed = browser.cookie(COOKIE_NAME) ?? "";
  browser.cookies.set(
    COOKIE_NAME,
    signed.replace(/.$/, (last) => (last === "A" ? "B" : "A")),
  );
  const tampered = await browser.visit();
  assert.equal(tampered.visits, 1, "a cookie with a wrong signature must start a new session");
  assert.notEqual(tampered.sessionId, sessionId);

  const stranger = new Browser(url);
  stranger.cookies.set(COOKIE_NAME, "s%3Anot-a-session-we-know.bogussignature");
  assert.equal((await stranger.visit()).visits, 1, "an unknown cookie must start a new session");

  const garbage = new Browser(url);
  garbage.cookies.set(COOKIE_NAME, "%%%not-even-url-encoding");
  assert.equal((await garbage.visit()).visits, 1, "a malformed cookie must start a new session");
}

/**
 * A step started with ENV (a service URL where nothing answers, a taken port...) must end
 * with exit code 1 and a message matching MESSAGE: no hang (within 25 s, generous for a loaded
 * machine: the drivers' own defaults would wait 30 s and more), no stack trace.
 */
export async function assertExitsWithMessage(
  t: TestContext,
  step: string,
  env: Record<string, string>,
  message: RegExp,
): Promise<void> {
  const started = Date.now();
  const server = await startStep(t, step, { env, expectListening: false });
  const { code } = await server.exited;
  assert.equal(code, 1, `expected exit code 1; it printed:\n${server.output()}`);
  const ms = Date.now() - started;
  const bound = boundForLoad(25_000);
  assert.ok(ms < bound.ms, `waited ${ms} ms for the step to give up and exit (${bound.said})`);
  assert.match(server.output(), message);
  assert.doesNotMatch(server.output(), /\n\s+at /, "no stack trace");
}

/**
 * A logout raced by 8 requests with the same cookie (a second tab, or a thief), TRIALS times:
 * each trial logs in as CREDENTIALS (registered already), sends the logout, and has the 8
 * requests follow over the next few milliseconds, so that some load the session before it is
 * deleted and end after. Resolves how many times the session was back in the store afterwards
 * (STORED tells, by session id): 0 when a logout is final.
 */
export async function logoutRaceResurrections(
  url: string,
  credentials: { username: string; password: string },
  trials: number,
  stored: (sessionId: string) => Promise<boolean>,
): Promise<number> {
  let resurrected = 0;
  for (let trial = 0; trial < trials; trial++) {
    const browser = new Browser(url);
    // The login only sets the trial up: a 503 (the store slower than the step's deadlines, on
    // a loaded machine) is what the step should answer then, so it is tried again, twice.
    let login = await browser.request("/login", { body: credentials });
    for (let again = 0; again < 2 && login.status === 503; again++) {
      login = await browser.request("/login", { body: credentials });
    }
    assert.equal(
      login.status,
      200,
      `trial ${trial}: the login answered ${login.status} (${machineLoad()})`,
    );
    const id = sessionIdOf(browser);
    const cookie = browser.cookie(COOKIE_NAME) ?? "";
    const tab = () => {
      const other = new Browser(url);
      other.cookies.set(COOKIE_NAME, cookie);
      return other.request("/", { json: true }).then((response) => response.arrayBuffer());
    };
    const loggingOut = browser.request("/logout", { method: "POST", json: true });
    const racing = Array.from({ length: 8 }, (_, i) =>
      new Promise((resolve) => setTimeout(resolve, i)).then(tab),
    );
    assert.equal((await loggingOut).status, 200, `trial ${trial}: the logout`);
    await Promise.all(racing);
    if (await stored(id)) resurrected++;
  }
  return resurrected;
}
