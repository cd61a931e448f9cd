import { createServer, type Server } from "node:http";
import type { Express } from "express";
import { ServiceError } from "../../lib/services/errors.ts";
import { announcingStep } from "./current-step.ts";

export interface RunningApp {
  app: Express;
  /** Closes the store's connections (Redis client, MongoDB client...). */
  close(): Promise<void>;
}

/**
 * Starts a step: builds it with `setup`, listens on PORT (default 3000), prints
 * `listening on http://localhost:PORT`, and on SIGTERM or SIGINT (Ctrl-C) closes the HTTP
 * server and the store's connections, then exits 0.
 * A missing service or a taken port ends with a one-paragraph message and exit code 1.
 */
export async function startServer(setup: () => Promise<RunningApp>): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  let running: RunningApp;
  try {
    running = await setup();
  } catch (error) {
    exitWithMessage(
      error instanceof ServiceError || error instanceof Error ? error.message : String(error),
    );
  }

  const server: Server = createServer(announcingStep(running.app)).listen(port);
  server.once("error", (error: NodeJS.ErrnoException) => exitWithMessage(listenError(port, error)));
  server.once("listening", () => console.log(`listening on http://localhost:${port}`));

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing the server and the store's connections…`);
    // A stuck close, or a handle left open, must not keep the process alive forever.
    setTimeout(
      () => exitWithMessage("Shutdown took longer than 5 s: something is still open."),
      5000,
    ).unref();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // keep-alive connections would hold close() open
    });
    await running.close();
    // No process.exit(): with the server and the store's connections closed, nothing is left
    // to keep Node running, so it ends by itself with code 0. A connection left open would
    // keep it alive, and the timer above would end it with code 1 and say so.
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
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
