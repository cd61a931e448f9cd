import cluster from "node:cluster";
import { createServer, type Server } from "node:http";
import type { Express } from "express";
import { ServiceError } from "../../lib/services/errors.ts";
import { watchAncestors } from "./ancestors.ts";
import { announcingStep } from "./current-step.ts";

export interface RunningApp {
  app: Express;
  /** Closes the store's connections (Redis client, MongoDB client...). */
  close(): Promise<void>;
}

/**
 * Where a step listens: HOST if set (HOST=0.0.0.0 opens it to the network), else only this
 * machine (127.0.0.1): a development server with a development secret is nobody else's.
 */
export function listenAddress(env: NodeJS.ProcessEnv = process.env) {
  const port = Number(env.PORT ?? 3000);
  const host = env.HOST || "127.0.0.1";
  const shownHost = !env.HOST ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return { port, host, url: `http://${shownHost}:${port}` };
}

/**
 * Starts a step: builds it with `setup`, listens on PORT (default 3000) of HOST (default
 * 127.0.0.1), prints `listening on http://localhost:PORT`, and stops cleanly (stopOnSignals).
 * A missing service or a taken port ends with a one-paragraph message and exit code 1.
 */
export async function startServer(setup: () => Promise<RunningApp>): Promise<void> {
  const { port, host, url } = listenAddress();
  let running: RunningApp;
  try {
    running = await setup();
  } catch (error) {
    exitWithMessage(
      error instanceof ServiceError || error instanceof Error ? error.message : String(error),
    );
  }
  hideFramework(running.app);

  const server: Server = createServer(announcingStep(running.app)).listen(port, host);
  server.once("error", (error: NodeJS.ErrnoException) => exitWithMessage(listenError(port, error)));
  server.once("listening", () => console.log(`listening on ${url}`));
  stopOnSignals(server, running.close);
}

/** No `X-Powered-By: Express`: it tells an attacker which bugs to try. */
export function hideFramework(app: Express): void {
  app.disable("x-powered-by");
}

/**
 * The one shutdown of every server process (a step, a worker of step 06): on SIGTERM or SIGINT
 * (Ctrl-C), or when the process that started it is gone (`npm run` killed, a test runner
 * killed), it closes the HTTP server and then the store's connections, and exits 0. A stuck
 * close, or a handle left open, must not keep the process alive forever: after 5 s it exits 1
 * and says so. `also` may register more reasons to stop (a cluster worker's disconnect).
 */
export function stopOnSignals(
  server: Server,
  close: () => Promise<void>,
  also?: (stop: (reason: string) => void) => void,
): void {
  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${reason}: closing the server and the store's connections…`);
    setTimeout(
      () => exitWithMessage("Shutdown took longer than 5 s: something is still open."),
      5000,
    ).unref();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // keep-alive connections would hold close() open
    });
    await close();
    // A cluster worker's channel to its primary would keep it alive: it exits. Any other
    // process ends by itself with code 0 once nothing is left open; a connection left open
    // would keep it alive, and the timer above would end it with code 1 and say so.
    if (cluster.isWorker) process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
  watchAncestors((pid) => void stop(`the process that started this one (pid ${pid}) is gone`));
  also?.((reason) => void stop(reason));
}

/** Why listening on PORT failed, in words a learner can act on. */
export function listenError(port: number, error: NodeJS.ErrnoException): string {
  if (error.code === "EADDRINUSE") {
    return (
      `Port ${port} is already in use (is another step still running?). Stop it with Ctrl-C ` +
      `in its terminal, or choose another port: PORT=${port + 1} npm run step:N`
    );
  }
  return `Could not listen on port ${port}: ${error.message}`;
}

/** Prints MESSAGE (no stack trace: it is meant for a person) and ends the process with 1. */
export function exitWithMessage(message: string): never {
  console.error(message);
  process.exit(1);
}
