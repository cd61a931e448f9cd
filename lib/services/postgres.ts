import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chownSync, existsSync, readdirSync, renameSync, rmSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { runProgram, typeScript } from "../run-script.ts";
import { ServiceError } from "./errors.ts";
import { which } from "./net.ts";
import {
  answers,
  findOrStart,
  type Ping,
  type PrivateServer,
  type Service,
  startPrivate,
} from "./service.ts";
import { cacheDir, repoRoot } from "./workshop-dir.ts";

/**
 * PostgreSQL for the workshop, two engines:
 * - "postgresql": Debian's (or any) PostgreSQL binaries, `initdb` + `postgres`, when installed;
 * - "pglite": the embedded PGlite from npm (lib/services/pglite-server.ts), which needs nothing
 *   installed: what the workshop starts for the steps, and the tests' fallback.
 */
export type PostgresEngine = "postgresql" | "pglite";

/**
 * The user is PGUSER, else the one logged in, as psql would choose; the password, if the
 * server wants one, comes from PGPASSWORD. (The embedded engine takes any user.)
 */
const USER = encodeURIComponent(process.env.PGUSER ?? userInfo().username);

/** The embedded PostgreSQL: DATABASE_URL, else localhost:5432, else PGlite in .workshop/postgres. */
export const pglite: Service = {
  name: "PostgreSQL",
  envVar: "DATABASE_URL",
  folder: "postgres",
  defaultPort: 5432,
  url: (port) => `postgres://${USER}@127.0.0.1:${port}/postgres`,
  ping: async (url, timeoutMs) => {
    // Loaded at the first ping, as MongoDB's driver (mongo.ts): most tests never ask.
    const { default: pg } = await import("pg");
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
    });
    client.on("error", () => {}); // reported by connect() or query() below
    try {
      await client.connect();
      await client.query("SELECT 1");
    } finally {
      await client.end().catch(() => {});
    }
  },
  // PGlite compiles its WebAssembly and runs initdb at every start of an empty folder: 5 s on
  // a quiet machine, 15 s with three busy cores' worth of load, once over 60 s in a full
  // `npm test` on a loaded machine.
  startTimeoutMs: 180_000,
  program: async (port, dir) => ({
    command: process.execPath,
    args: [...typeScript, join(repoRoot, "lib", "services", "pglite-server.ts")].concat([
      join(dir, "data"),
      String(port),
    ]),
    cwd: repoRoot,
    what: "the embedded PostgreSQL (PGlite)",
  }),
};

/** PostgreSQL's own binaries, for the tests' private servers where they are installed. */
const postgresql: Service = {
  ...pglite,
  url: (port) => `postgres://workshop@127.0.0.1:${port}/postgres`,
  program: async (port, dir) => {
    const bin = await postgresBinDir();
    if (!bin) {
      throw new ServiceError(
        "PostgreSQL",
        "PostgreSQL: no initdb and postgres on PATH or in /usr/lib/postgresql/*/bin. Install " +
          "them with `sudo apt install postgresql` (Debian/Ubuntu) or `brew install postgresql` " +
          "(macOS), or use the embedded engine (WORKSHOP_POSTGRES_ENGINE=pglite).",
      );
    }
    const owner = runAs(dir);
    const data = join(dir, "data");
    await newDataFolder(bin, data, owner);
    return {
      command: join(bin, "postgres"),
      args: ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1"]
        // A test's database: speed over durability (the data folder is deleted at the end).
        .concat(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
      ...owner,
      what: "PostgreSQL",
      stopSignal: "SIGINT", // "fast" shutdown: ends sessions, writes a checkpoint
    };
  },
};

const INITDB = ["-U", "workshop", "-A", "trust", "-E", "UTF8", "--no-sync"];

/**
 * A new data folder at DATA: a copy of the empty one the first initdb left in
 * .workshop/postgresql/ (one per PostgreSQL version and set of initdb options), 0.05 s, instead
 * of an initdb, 0.6 s of CPU (the tests start dozens). `cp -a`, run as the server's user like
 * initdb, keeps owner and modes; the kept copy is renamed into place: all or nothing.
 */
async function newDataFolder(bin: string, data: string, owner: { uid?: number; gid?: number }) {
  // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)": 15.18
  const { output } = await runProgram(join(bin, "postgres"), ["-V"]);
  const version = /\d+(\.\d+)*/.exec(output)?.[0] ?? "unknown";
  const options = createHash("sha256").update(INITDB.join(" ")).digest("hex").slice(0, 8);
  const kept = cacheDir("postgresql");
  if (owner.uid !== undefined) chownSync(kept, owner.uid, owner.gid ?? owner.uid);
  const empty = join(kept, `empty-${version}-${options}`);
  if (existsSync(join(empty, "PG_VERSION"))) {
    if ((await runProgram("cp", ["-a", empty, data], owner)).code === 0) return;
    rmSync(data, { recursive: true, force: true }); // a failed copy: initdb, as without one
  }
  // initdb takes seconds: run it without blocking this process (a check runner serves other
  // folders' requests meanwhile, and their timeouts must not fire for our wait).
  const init = await runProgram(join(bin, "initdb"), ["-D", data, ...INITDB], {
    ...owner,
    timeout: 120_000,
  });
  if (init.code !== 0) {
    throw new ServiceError("PostgreSQL", `PostgreSQL: initdb failed: ${init.output}`);
  }
  const copy = `${empty}.${process.pid}`;
  if ((await runProgram("cp", ["-a", data, copy], owner)).code === 0) {
    try {
      renameSync(copy, empty);
    } catch {
      rmSync(copy, { recursive: true, force: true }); // another start kept one first
    }
  }
}

/** Answers whether a PostgreSQL at URL replies to `SELECT 1` within timeoutMs; never throws. */
export function pingPostgres(url: string, timeoutMs = 2000): Promise<Ping> {
  return answers(pglite, url, timeoutMs);
}

/** The PostgreSQL a step server should use, found or started (lib/services/service.ts). */
export function postgresUrlForStep(log: (line: string) => void = console.log): Promise<string> {
  return findOrStart(pglite, log);
}

export type PrivatePostgres = PrivateServer & { readonly engine: PostgresEngine };

/**
 * The engine of the tests' private servers: PostgreSQL itself where it is installed, else the
 * embedded PGlite. WORKSHOP_POSTGRES_ENGINE=pglite tries the embedded one where both are.
 */
export async function privateEngine(): Promise<PostgresEngine> {
  const asked = process.env.WORKSHOP_POSTGRES_ENGINE;
  if (asked !== undefined && asked !== "postgresql" && asked !== "pglite") {
    throw new ServiceError(
      "PostgreSQL",
      `PostgreSQL: WORKSHOP_POSTGRES_ENGINE is "${asked}"; it can be "postgresql" or "pglite".`,
    );
  }
  return asked ?? ((await postgresBinDir()) ? "postgresql" : "pglite");
}

/** A PostgreSQL server of a test's own, on a free port, in a temporary folder. */
export async function startPrivatePostgres(engine?: PostgresEngine): Promise<PrivatePostgres> {
  const chosen = engine ?? (await privateEngine());
  const server = await startPrivate(chosen === "pglite" ? pglite : postgresql);
  return { ...server, engine: chosen };
}

/** The folder of PostgreSQL's server binaries (initdb, postgres), or undefined. */
export async function postgresBinDir(): Promise<string | undefined> {
  const onPath = await which("initdb");
  if (onPath && (await which("postgres"))) return join(onPath, "..");
  const debian = "/usr/lib/postgresql";
  if (!existsSync(debian)) return undefined;
  const versions = readdirSync(debian)
    .filter((version) => existsSync(join(debian, version, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(debian, versions[0], "bin") : undefined;
}

/**
 * PostgreSQL refuses to run as root. As root, run it as the `postgres` user that Debian's
 * package creates, and give that user the data folder.
 */
function runAs(dir: string): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const id = (flag: string) => spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
  const uid = id("-u");
  const gid = id("-g");
  if (uid.status !== 0 || gid.status !== 0) {
    throw new ServiceError(
      "PostgreSQL",
      "PostgreSQL: running as root, and there is no `postgres` user to run the server as " +
        "(PostgreSQL refuses to run as root). Install Debian's package (`apt install postgresql`), " +
        "which creates it, or run as another user.",
    );
  }
  const owner = { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  chownSync(dir, owner.uid, owner.gid);
  return owner;
}
