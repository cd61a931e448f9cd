import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { ServiceError } from "./errors.ts";
import { freePort, waitUntil, which } from "./net.ts";
import { killFromPidFile, killWithThisProcess, redact } from "./redis.ts";
import { workshopDir } from "./workshop-dir.ts";

const DEFAULT_MONGO_URL = "mongodb://127.0.0.1:27017/workshop";

/** Which kind of MongoDB server answers: a real mongod, or the embedded compatible one. */
export type MongoKind = "mongod" | "downloaded mongod" | "embedded jongodb";

/** Answers whether a MongoDB at `url` replies to ping within `timeoutMs`; never throws. */
export async function pingMongo(
  url: string,
  timeoutMs = 2000,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
  });
  try {
    await client.connect();
    await client.db().command({ ping: 1 });
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await client.close().catch(() => {});
  }
}

/**
 * The MongoDB a step server should use, found or started:
 * MONGO_URL when set; else the MongoDB on localhost:27017 if it answers; else one the workshop
 * starts in the background on 27017 (a mongod if it can have one, else the embedded
 * MongoDB-compatible server), which keeps running between steps.
 */
export async function mongoUrlForStep(log: (line: string) => void = console.log): Promise<string> {
  const fromEnv = process.env.MONGO_URL;
  if (fromEnv) {
    const ping = await pingMongo(fromEnv, 3000);
    if (!ping.ok) {
      throw new ServiceError(
        "MongoDB",
        `MongoDB: MONGO_URL is set to ${redact(fromEnv)}, but no MongoDB answered there within ` +
          `3 s (${ping.reason}). Start MongoDB at that address, correct MONGO_URL, or unset it ` +
          "and the workshop will use localhost:27017 or start a MongoDB of its own.",
      );
    }
    log(`MongoDB: using MONGO_URL (${redact(fromEnv)})`);
    return fromEnv;
  }
  if ((await pingMongo(DEFAULT_MONGO_URL, 1000)).ok) {
    log(`MongoDB: using the MongoDB that answers on ${DEFAULT_MONGO_URL}`);
    return DEFAULT_MONGO_URL;
  }
  const kind = await startBackgroundMongo(27017);
  log(
    `MongoDB: nothing answered on 127.0.0.1:27017, so the workshop started ${describeKind(kind)} ` +
      "there. It keeps running between steps; `npm run services -- stop` stops it.",
  );
  return DEFAULT_MONGO_URL;
}

function describeKind(kind: MongoKind): string {
  if (kind === "embedded jongodb") {
    return "the embedded MongoDB-compatible server (jongodb; data in memory, kept while it runs)";
  }
  return `a ${kind} (data in .workshop/mongo)`;
}

/** Starts a MongoDB server as a background process that outlives this one. */
export async function startBackgroundMongo(port: number): Promise<MongoKind> {
  const dir = workshopDir("mongo");
  const server = await findMongoServer();
  const log = openSync(join(dir, "server.log"), "a");
  const child = spawn(server.binary, server.args(port, dir), {
    detached: true,
    stdio: ["ignore", log, log],
  });
  child.unref();
  writeFileSync(join(dir, "server.pid"), String(child.pid));
  await waitForMongo(
    port,
    child,
    `${server.kind} on 127.0.0.1:${port} (see .workshop/mongo/server.log)`,
  );
  return server.kind;
}

export function stopBackgroundMongo(): boolean {
  return killFromPidFile(join(workshopDir("mongo"), "server.pid"));
}

/** A MongoDB server of a test's own: free port, own temporary folder. */
export interface PrivateMongo {
  readonly url: string;
  readonly kind: MongoKind;
  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  freeze(): void;
  /** Thaws a frozen server (SIGCONT). */
  thaw(): void;
  /** Stops the server and starts it again on the same port and folder (in memory: empty). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivateMongo(database = "workshop"): Promise<PrivateMongo> {
  const server = await findMongoServer();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "workshop-mongo-"));
  let child: ChildProcess;
  const start = async () => {
    child = spawn(server.binary, server.args(port, dir), { stdio: "ignore" });
    killWithThisProcess(child);
    try {
      await waitForMongo(port, child, `private ${server.kind} on port ${port}`);
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
  };
  const halt = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGCONT"); // a frozen server cannot act on SIGTERM
    child.kill("SIGTERM");
    await exited;
  };
  await start();
  return {
    url: `mongodb://127.0.0.1:${port}/${database}`,
    kind: server.kind,
    freeze: () => child.kill("SIGSTOP"),
    thaw: () => child.kill("SIGCONT"),
    restart: async () => {
      await halt();
      await start();
    },
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface MongoServer {
  kind: MongoKind;
  binary: string;
  args(port: number, dir: string): string[];
}

const mongodArgs = (port: number, dir: string) => [
  "--port",
  String(port),
  "--bind_ip",
  "127.0.0.1",
  "--dbpath",
  dir,
];

/**
 * A real mongod on PATH first; else the embedded server from the npm package
 * @jongodb/memory-server-bin-linux-x64-gnu (Linux x64); else a mongod downloaded by
 * mongodb-memory-server (needs the internet once; allowed to fail).
 */
async function findMongoServer(): Promise<MongoServer> {
  const mongod = await which("mongod");
  if (mongod) return { kind: "mongod", binary: mongod, args: mongodArgs };

  const jongodb = embeddedJongodbBinary();
  if (jongodb) {
    return {
      kind: "embedded jongodb",
      binary: jongodb,
      args: (port) => ["--host=127.0.0.1", `--port=${port}`],
    };
  }

  const downloaded = await downloadMongod();
  if (downloaded) return { kind: "downloaded mongod", binary: downloaded, args: mongodArgs };

  throw new ServiceError(
    "MongoDB",
    "MongoDB: no MongoDB answered, there is no mongod on PATH, the embedded server " +
      "(@jongodb/memory-server-bin-linux-x64-gnu) does not run on this platform " +
      `(${process.platform}-${process.arch}), and downloading a mongod did not work. Install ` +
      "MongoDB (https://www.mongodb.com/docs/manual/installation/, macOS: `brew install " +
      "mongodb-community`), or set MONGO_URL to a MongoDB you have (e.g. a free Atlas cluster).",
  );
}

function embeddedJongodbBinary(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const packageJson = require.resolve("@jongodb/memory-server-bin-linux-x64-gnu/package.json");
    const binary = join(packageJson, "..", "bin", "jongodb");
    return existsSync(binary) ? binary : undefined;
  } catch {
    return undefined; // optional dependency: not installed on other platforms
  }
}

async function downloadMongod(): Promise<string | undefined> {
  try {
    const { MongoBinary } = await import("mongodb-memory-server-core");
    console.log("MongoDB: trying to download a mongod with mongodb-memory-server (once)…");
    const timeout = new Promise<undefined>((resolve) =>
      setTimeout(() => resolve(undefined), 120_000).unref(),
    );
    return await Promise.race([MongoBinary.getPath(), timeout]);
  } catch {
    return undefined;
  }
}

async function waitForMongo(port: number, child: ChildProcess, what: string): Promise<void> {
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  const url = `mongodb://127.0.0.1:${port}/admin`;
  try {
    await waitUntil(what, async () => {
      if (exited) throw new Error(`${what} exited while starting`);
      return (await pingMongo(url, 300)).ok;
    });
  } catch (error) {
    throw new ServiceError(
      "MongoDB",
      `MongoDB: could not start ${what}: ${error instanceof Error ? error.message : error}. ` +
        "Is the port taken by something else? Set MONGO_URL to a MongoDB you have, or free the port.",
    );
  }
}
