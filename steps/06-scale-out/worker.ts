import cluster from "node:cluster";
import { createServer } from "node:http";
import { announcingStep } from "../shared/current-step.ts";
import { exitWithMessage, listenError, type RunningApp } from "../shared/start-server.ts";

/**
 * One worker process of the cluster: builds its own app with `setup` (its own store
 * connection) and listens on PORT. The port is the primary's: listen() in a worker asks the
 * primary for it, and the primary hands this worker its share of the connections.
 * It stops on SIGTERM or SIGINT (the primary's, or Ctrl-C in the terminal), and when the
 * primary disappears, closing its HTTP server and its store's connections first.
 */
export async function startWorker(setup: () => Promise<RunningApp>): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  const name = `worker ${process.pid}`;
  let running: RunningApp;
  try {
    running = await setup();
  } catch (error) {
    exitWithMessage(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }

  // No "listening on" line here: the primary prints it once every worker listens.
  const server = createServer(announcingStep(running.app)).listen(port);
  server.once("error", (error: NodeJS.ErrnoException) =>
    exitWithMessage(`${name}: ${listenError(port, error)}`),
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // keep-alive connections would hold close() open
    });
    await running.close();
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  // The primary was killed (no chance to stop us): do not live on as an orphan.
  cluster.worker?.once("disconnect", stop);
}
