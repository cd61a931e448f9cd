import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";
import type { Express } from "express";

/**
 * Serves an exercise's app on a free port of 127.0.0.1, in this process, until the test
 * ends. Returns its base URL, for a Browser from the harness.
 */
export async function listen(t: Pick<TestContext, "after">, app: Express): Promise<string> {
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // fetch keeps connections alive
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
