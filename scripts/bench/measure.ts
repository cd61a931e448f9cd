import autocannon from "autocannon";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";

export interface Measurement {
  store: string;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Returning visitors for `url`: one session per connection, created before the clock starts,
 * because a store's everyday work is "read the session, write it back", not "create one".
 * Returns their cookies (`name=value`); empty strings for the baseline, which sets none.
 */
export function returningVisitors(url: string, connections: number): Promise<string[]> {
  return Promise.all(Array.from({ length: connections }, () => newSession(url)));
}

/**
 * Loads `url` with autocannon for `seconds`: every connection is one browser that sends its
 * own session cookie on every request, and asks for JSON, like an API client.
 */
export async function load(
  store: string,
  url: string,
  cookies: string[],
  seconds: number,
): Promise<Measurement & { failures: number }> {
  let nextCookie = 0;
  const result = await autocannon({
    url,
    connections: cookies.length,
    duration: seconds,
    headers: { accept: "application/json" },
    // Called once for each connection: hand it a session cookie of its own.
    setupClient: (client) => {
      client.setHeaders({ accept: "application/json", cookie: cookies[nextCookie++] ?? "" });
    },
  });
  if (store !== "none") await assertSessionWasKept(url, cookies[0] ?? "");
  return {
    store,
    requestsPerSec: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failures: result.errors + result.non2xx,
  };
}

/** Visits once without a cookie; returns the `name=value` of the session cookie it got. */
async function newSession(url: string): Promise<string> {
  const response = await fetch(url, { headers: { accept: "application/json" } });
  const setCookie = response.headers
    .getSetCookie()
    .find((line) => line.startsWith(`${COOKIE_NAME}=`));
  await response.arrayBuffer();
  return setCookie?.split(";")[0] ?? "";
}

/**
 * Had the cookie been lost, every request would have created a new session and the bench
 * would have measured the wrong thing: the count of a kept session is far above 1.
 */
async function assertSessionWasKept(url: string, cookie: string): Promise<void> {
  const response = await fetch(url, { headers: { accept: "application/json", cookie } });
  const { visits } = (await response.json()) as { visits: number };
  if (!(visits > 10)) {
    throw new Error(`${url}: a returning visitor's count is ${visits}; its cookie was not kept`);
  }
}
