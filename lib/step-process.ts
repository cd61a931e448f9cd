import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { freePort } from "./services/net.ts";
import { repoRoot } from "./services/workshop-dir.ts";

/** A step's server.ts running as a real child process on a free port. */
export interface StepProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Sends `signal` and waits for the exit; resolves with how it ended and how long it took. */
  stop(
    signal?: NodeJS.Signals,
  ): Promise<{ code: number | null; signal: string | null; ms: number }>;
  /** Resolves when the process exits by itself. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  port?: number;
  /** Wait for the "listening on" line (default), or only for the process to exit. */
  expectListening?: boolean;
  /** Any file to run instead of steps/STEP/server.ts, relative to the repo. */
  entry?: string;
}

/**
 * Spawns `steps/STEP/server.ts` with tsx, PORT set to a free port, and waits (event-driven, no
 * fixed sleep) until it prints `listening on http://localhost:PORT`. The process is killed
 * when the test ends, whatever happened.
 */
export async function startStep(
  t: { after(cleanup: () => unknown): void }, // a test's context, or node:test's `after`
  step: string,
  options: StartOptions = {},
): Promise<StepProcess> {
  const port = options.port ?? (await freePort());
  const entry = options.entry ?? join("steps", step, "server.ts");
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: repoRoot,
    env: { ...process.env, NODE_ENV: "test", ...options.env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => killHard(child));

  let output = "";
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const listening = new Promise<void>((resolve) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`listening on http://localhost:${port}`)) resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
  });

  if (options.expectListening !== false) {
    const timeout = new Promise<"timeout">((resolve) =>
      setTimeout(() => resolve("timeout"), 20_000).unref(),
    );
    const first = await Promise.race([listening.then(() => "listening" as const), exited, timeout]);
    if (first !== "listening") {
      killHard(child);
      throw new Error(
        `${entry} did not start listening on port ${port} (${
          first === "timeout" ? "timed out after 20 s" : `exited with ${JSON.stringify(first)}`
        }). It printed:\n${output}`,
      );
    }
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    output: () => output,
    exited,
    stop: async (signal = "SIGTERM") => {
      const started = Date.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const result = await exited;
      return { ...result, ms: Date.now() - started };
    },
  };
}

function killHard(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}
