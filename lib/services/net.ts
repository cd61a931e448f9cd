import { createServer, Socket } from "node:net";
import { availableParallelism, loadavg } from "node:os";

/**
 * A TCP port on 127.0.0.1 that nobody listens on right now, drawn from 16384–32767: below the
 * ports the system hands to outgoing connections (32768 and up on Linux, 49152 on macOS). A
 * port from that range, once free, can be taken by some client's connection before the server
 * that asked for it listens; a server whose start takes seconds (PGlite's initdb) then fails
 * with EADDRINUSE, as one did in a full `npm test`.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 20; tries++) {
    const port = 16384 + Math.floor(Math.random() * 16384);
    if ((await listenOnce(port).catch(() => 0)) === port) return port;
  }
  return listenOnce(0); // every draw taken: any port the system picks
}

/** Listens on PORT of 127.0.0.1 (0: one the system picks) and closes again; the port it had. */
function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("could not get a free port"));
      });
    });
  });
}

/** True when something accepts TCP connections on host:port within timeoutMs. */
export function isPortOpen(port: number, host = "127.0.0.1", timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/**
 * Polls `check` every `everyMs` until it returns true; throws after `timeoutMs`, saying what it
 * waited for. The default limit is generous (30 s): on a loaded machine things are slow, not
 * broken, and waiting by readiness costs nothing when they are quick.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  { timeoutMs = 30_000, everyMs = 50 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${machineLoad()})`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Finds an executable on PATH, or undefined. */
export async function which(command: string): Promise<string | undefined> {
  const { access, constants } = await import("node:fs/promises");
  const { delimiter, join } = await import("node:path");
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/**
 * The load average, for a message about time: "load 7.9 / 5.2 / 3.1 (1, 5, 15 min) on 2 cores".
 * A load far above the cores says the machine was busy, not that the code was broken.
 */
export function machineLoad(): string {
  const [one, five, fifteen] = loadavg().map((value) => value.toFixed(1));
  return `load ${one} / ${five} / ${fifteen} (1, 5, 15 min) on ${availableParallelism()} cores`;
}

/**
 * A time bound for a test: MS on a quiet machine, times the load per core on a busy one. What
 * a lesson claims about time ("a 503 within seconds") holds on a quiet machine; on a busy one
 * everything is slower, and that is not a failure. The message says which bound and why.
 */
export function boundForLoad(ms: number): { ms: number; said: string } {
  const factor = Math.max(1, (loadavg()[0] ?? 0) / availableParallelism());
  const bound = Math.round(ms * factor);
  return { ms: bound, said: `at most ${bound} ms: ${ms} ms on a quiet machine; ${machineLoad()}` };
}
