import cluster from "node:cluster";
import { createServer } from "node:http";
import { announcingStep } from "../shared/current-step.ts";
import {
  exitWithMessage,
  hideFramework,
  listenAddress,
  listenError,
  type RunningApp,
  stopOnSignals,
} from "../shared/start-server.ts";

/**
 * One worker process of the cluster: builds its own app with `setup` (its own store
 * connection) and listens on PORT. The port is the primary's: listen() in a worker asks the
 * primary for it, and the primary hands this worker its share of the connections.
 * It stops like every step (stopOnSignals: SIGTERM, SIGINT, 5 s at most), and also when the
 * primary disappears, closing its HTTP server and its store's connections first.
 */
export async function startWorker(setup: () => Promise<RunningApp>): Promise<void> {
  const { port, host } = listenAddress();
  const name = `worker ${process.pid}`;
  let running: RunningApp;
  try {
    running = await setup();
  } catch (error) {
    exitWithMessage(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
  hideFramework(running.app);

  // No "listening on" line here: the primary prints it once every worker listens.
  const server = createServer(announcingStep(running.app)).listen(port, host);
  server.once("error", (error: NodeJS.ErrnoException) =>
    exitWithMessage(`${name}: ${listenError(port, error)}`),
  );
  // The primary was killed (no chance to stop us): do not live on as an orphan.
  stopOnSignals(server, running.close, (stop) =>
    cluster.worker?.once("disconnect", () => stop("the primary is gone")),
  );
}
