import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { typeScript } from "./run-script.ts";
import { freePort, machineLoad } from "./services/net.ts";
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
 * How long a step may take to start listening. A step starts in about a second on a quiet
 * machine; on a loaded 2-core machine (a full `npm test` beside other work) it took over 20 s.
 * Waiting is by readiness (the "listening on" line), so a generous limit costs nothing when
 * all is well. STEP_START_TIMEOUT_MS changes it.
 */
const START_TIMEOUT_MS = Number(process.env.STEP_START_TIMEOUT_MS ?? 90_000);

/** A secret for the steps the tests start, so that they never write a development secret. */
const TEST_SECRET = randomBytes(32).toString("hex");

/**
 * Spawns `steps/STEP/server.ts` (lib/run-script.ts `typeScript`), PORT set to a free port, and waits
 * (event-driven, no fixed sleep) until it prints `listening on http://localhost:PORT`. The
 * process is killed when the test ends, whatever happened. SESSION_SECRET is a random one
 * unless ENV names it (even as undefined, to test the development secret).
 */
export async function startStep(
  t: { after(cleanup: () => unknown): void }, // a test's context, or node:test's `after`
  step: string,
  options: StartOptions = {},
  triesLeft = 3,
): Promise<StepProcess> {
  const port = options.port ?? (await freePort());
  const entry = options.entry ?? join("steps", step, "server.ts");
  const child = spawn(process.execPath, [...typeScript, entry], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: "test",
      SESSION_SECRET: TEST_SECRET,
      // Step 05's password hash at scrypt cost 2^10, not 2^15 (credentials.ts): about 2 ms a
      // login, not 95, and the tests log in hundreds of times. A test that races a login
      // passes SCRYPT_N: undefined: the full cost is its window.
      SCRYPT_N: "1024",
      ...options.env,
      PORT: String(port),
    },
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
      setTimeout(() => resolve("timeout"), START_TIMEOUT_MS).unref(),
    );
    const first = await Promise.race([listening.then(() => "listening" as const), exited, timeout]);
    if (first !== "listening") {
      killHard(child);
      // A free port can be taken between freePort() and the step's listen(), by another test's
      // server or outgoing connection: a port the caller did not choose is drawn again.
      if (options.port === undefined && output.includes("is already in use") && triesLeft > 1) {
        return startStep(t, step, options, triesLeft - 1);
      }
      throw new Error(
        `waited for ${entry} to print "listening on http://localhost:${port}": ${
          first === "timeout"
            ? `no such line within ${START_TIMEOUT_MS / 1000} s (${machineLoad()})`
            : `it exited first (${JSON.stringify(first)})`
        }. It printed:\n${output}`,
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
