import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ServiceError } from "./errors.ts";
import { which } from "./net.ts";
import {
  answers,
  findOrStart,
  type Ping,
  type PrivateServer,
  type Program,
  type Service,
  startPrivate,
} from "./service.ts";

/** Which kind of MongoDB server answers: a real mongod, or the embedded compatible one. */
export type MongoKind = "mongod" | "downloaded mongod" | "embedded jongodb";

/**
 * MongoDB: MONGO_URL, else localhost:27017, else one the workshop starts: a mongod if it can
 * have one, else the embedded MongoDB-compatible server.
 */
export const mongo: Service = {
  name: "MongoDB",
  envVar: "MONGO_URL",
  folder: "mongo",
  defaultPort: 27017,
  url: (port) => `mongodb://127.0.0.1:${port}/workshop`,
  ping: async (url, timeoutMs) => {
    // The driver is loaded here, at the first ping: a test that never looks for a MongoDB
    // (most of them import this file) does not load it (0.13 CPU-s).
    const { MongoClient } = await import("mongodb");
    const client = new MongoClient(url, {
      serverSelectionTimeoutMS: timeoutMs,
      connectTimeoutMS: timeoutMs,
      socketTimeoutMS: timeoutMs,
    });
    try {
      await client.connect();
      await client.db().command({ ping: 1 });
    } finally {
      await client.close().catch(() => {});
    }
  },
  program: async (port, dir) => (await mongoServer()).program(port, dir),
};

/** Answers whether a MongoDB at `url` replies to ping within `timeoutMs`; never throws. */
export function pingMongo(url: string, timeoutMs = 2000): Promise<Ping> {
  return answers(mongo, url, timeoutMs);
}

/** The MongoDB a step server should use, found or started (lib/services/service.ts). */
export function mongoUrlForStep(log: (line: string) => void = console.log): Promise<string> {
  return findOrStart(mongo, log);
}

/** A MongoDB server of a test's own: free port, own temporary folder. */
export type PrivateMongo = PrivateServer & { readonly kind: MongoKind };

export async function startPrivateMongo(database = "workshop"): Promise<PrivateMongo> {
  const server = await startPrivate(mongo);
  const { kind } = await mongoServer();
  return { ...server, url: `mongodb://127.0.0.1:${server.port}/${database}`, kind };
}

interface MongoServer {
  kind: MongoKind;
  program(port: number, dir: string): Program;
}

let found: Promise<MongoServer> | undefined;
/** Looked for once per process: a download is slow, and the answer does not change. */
function mongoServer(): Promise<MongoServer> {
  found ??= findMongoServer();
  return found;
}

const mongod =
  (kind: MongoKind, binary: string): MongoServer["program"] =>
  (port, dir) => ({
    command: binary,
    args: ["--port", String(port), "--bind_ip", "127.0.0.1", "--dbpath", dir],
    what: `a ${kind}`,
  });

/**
 * A real mongod on PATH first; else the embedded server from the npm package
 * @jongodb/memory-server-bin-linux-x64-gnu (Linux x64); else a mongod downloaded by
 * mongodb-memory-server (needs the internet once; allowed to fail).
 */
async function findMongoServer(): Promise<MongoServer> {
  const onPath = await which("mongod");
  if (onPath) return { kind: "mongod", program: mongod("mongod", onPath) };

  const jongodb = embeddedJongodbBinary();
  if (jongodb) {
    return {
      kind: "embedded jongodb",
      program: (port) => ({
        command: jongodb,
        args: ["--host=127.0.0.1", `--port=${port}`],
        what: "the embedded MongoDB-compatible server (jongodb)",
        data: "data in memory, kept while it runs",
      }),
    };
  }

  const downloaded = await downloadMongod();
  if (downloaded) {
    return { kind: "downloaded mongod", program: mongod("downloaded mongod", downloaded) };
  }

  throw new ServiceError(
    "MongoDB",
    `MongoDB: there is no mongod on PATH (${process.env.PATH ?? ""}), the embedded server ` +
      "(@jongodb/memory-server-bin-linux-x64-gnu) does not run on this platform " +
      `(${process.platform}-${process.arch}), and downloading a mongod did not work. Install ` +
      "MongoDB (https://www.mongodb.com/docs/manual/installation/, macOS: `brew install " +
      "mongodb-community`), or set MONGO_URL to a MongoDB you have (e.g. a free Atlas cluster).",
  );
}

/** The embedded server's binary, when its npm package is installed (Linux x64 only). */
export function embeddedJongodbBinary(): string | undefined {
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
