import cluster, { type Worker } from "node:cluster";
import { watchAncestors } from "../shared/ancestors.ts";
import { exitWithMessage, listenAddress } from "../shared/start-server.ts";

export interface PrimaryOptions {
  /** How many worker processes to fork. */
  workers: number;
  /**
   * Runs once, in the primary, before any worker starts (e.g. finds or starts Redis, so that
   * the workers do not race to start one each). Its result is added to every worker's environment.
   */
  prepare: () => Promise<Record<string, string>>;
}

/**
 * The primary process of a node:cluster: it serves no request itself. It forks the workers,
 * holds the listening port and hands each new connection to the next worker in turn
 * (round-robin, the default everywhere but Windows). It prints
 * `listening on http://localhost:PORT` once every worker listens, replaces a worker that dies,
 * and on SIGTERM or SIGINT (Ctrl-C) stops the workers, waits for them, and exits 0.
 */
export async function startPrimary({ workers, prepare }: PrimaryOptions): Promise<void> {
  const { port, url } = listenAddress();
  if (!Number.isInteger(workers) || workers < 1)
    exitWithMessage(`WORKERS must be 1 or more, not ${workers}.`);
  let env: Record<string, string>;
  try {
    env = await prepare();
  } catch (error) {
    exitWithMessage(error instanceof Error ? error.message : String(error));
  }

  let announced = false;
  let stopping = false;
  const listening = new Set<number>();

  cluster.on("listening", (worker) => {
    listening.add(worker.id);
    if (announced || listening.size < workers) return;
    announced = true;
    const pids = Object.values(cluster.workers ?? {}).map((each) => each?.process.pid);
    console.log(`${workers} workers (pids ${pids.join(", ")}) share port ${port}`);
    console.log(`listening on ${url}`);
  });

  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    // Exit code 0: it was stopped on purpose (Ctrl-C reaches every process of the terminal,
    // the primary's own SIGINT may still be on its way).
    if (code === 0) return;
    if (!announced) {
      // It failed while starting (no Redis, port taken...): it has printed why; starting
      // it again would only fail again.
      console.error(`worker ${worker.process.pid} exited (${signal ?? code}) before listening`);
      void stop(1);
      return;
    }
    // A crashed worker takes only its in-flight requests with it. With sessions in Redis
    // nobody notices; with MemoryStore its sessions are gone.
    console.error(`worker ${worker.process.pid} died (${signal ?? code}); starting a new one`);
    cluster.fork(env);
  });

  const stop = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    // A worker that does not stop in time must not keep the primary alive forever.
    setTimeout(
      () => exitWithMessage("The workers took longer than 5 s to stop; exiting anyway."),
      5000,
    ).unref();
    const running = Object.values(cluster.workers ?? {}).filter(
      (worker): worker is Worker => worker !== undefined,
    );
    await Promise.all(running.map(stopWorker));
    process.exit(exitCode);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.log(`${signal}: stopping the workers…`);
    void stop(0);
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  // `npm run step:6` killed: the primary goes too (see steps/shared/ancestors.ts).
  watchAncestors((pid) => {
    console.log(`the process that started this one (pid ${pid}) is gone: stopping the workers…`);
    void stop(0);
  });

  for (let i = 0; i < workers; i++) cluster.fork(env);
}

/** SIGTERM to one worker (it closes its server and its Redis client), resolved when it exits. */
function stopWorker(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    if (worker.isDead()) return resolve();
    worker.once("exit", () => resolve());
    worker.process.kill("SIGTERM");
  });
}
