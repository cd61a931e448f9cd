import type { Browser } from "../../lib/browser.ts";
import type { VisitsJson } from "../../steps/shared/visits.ts";

/** What a step that runs several processes answers: the visit, and which process counted it. */
export type VisitsJsonWithPid = VisitsJson & { pid: number };

/**
 * GET / as a JSON client, over a connection of its own. fetch keeps connections open and
 * reuses them, and a cluster hands out connections, not requests: to let every visit land on
 * whichever worker's turn it is, ask the server to close the connection after the answer.
 */
export async function visitOverNewConnection(
  browser: Browser,
  headers: Record<string, string> = {},
): Promise<VisitsJsonWithPid> {
  const response = await browser.request("/", {
    json: true,
    headers: { ...headers, connection: "close" },
  });
  if (response.status !== 200) {
    throw new Error(`GET / answered ${response.status}: ${await response.text()}`);
  }
  return (await response.json()) as VisitsJsonWithPid;
}

/** TIMES visits in a row of one browser, each over a connection of its own. */
export async function visitsOverNewConnections(
  browser: Browser,
  times: number,
): Promise<VisitsJsonWithPid[]> {
  const visits: VisitsJsonWithPid[] = [];
  for (let i = 0; i < times; i++) visits.push(await visitOverNewConnection(browser));
  return visits;
}
