/**
 * The embedded PostgreSQL: PGlite (PostgreSQL compiled to WebAssembly, from npm) served over
 * PostgreSQL's wire protocol, so that `pg` and psql talk to it as to a real server.
 *   node lib/services/pglite-server.ts DATA_DIR PORT   (on Node 20, lib/run-script.ts `typeScript` first)
 * DATA_DIR "memory://" keeps nothing. Prints `ready on PORT` once it accepts connections.
 *
 * PGlite is ONE PostgreSQL session, and a pg Pool opens several connections. So the
 * connections take turns: one at a time has the session, from its first message to the
 * ReadyForQuery that says "idle" (not inside a transaction); the others wait for their turn.
 * A turn is therefore a whole batch (Parse, Bind, Describe, Execute, Sync: one query with
 * parameters), or a whole transaction. Message by message would not do: another connection's
 * Parse could slip in between this one's Parse and Bind and replace its statement ("bind
 * message supplies 2 parameters, but prepared statement "" requires 1"). That is what
 * @electric-sql/pglite-socket did: https://github.com/electric-sql/pglite/issues/1046.
 * What the connections share remains shared: a SET by one is seen by all, but for the
 * search_path a connection asks for at its start (`options=-c search_path=…` in its URL), which
 * its turns get back. And a program that, inside a transaction on one connection, waits for a
 * query on another waits for ever.
 *
 * Only PGlite's public API: execProtocolRaw (one message in, PostgreSQL's answer out) and
 * runExclusive (PGlite's lock for those calls), which here lasts a turn.
 */
import { cpSync, existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join, relative } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { cacheDir, repoRoot } from "./workshop-dir.ts";

const TERMINATE = "X".charCodeAt(0);
const READY_FOR_QUERY = "Z".charCodeAt(0);
const IDLE = "I".charCodeAt(0);
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const SYNC = Buffer.from([0x53, 0, 0, 0, 4]); // 'S', length 4
const CLOSED = ["ECONNRESET", "EPIPE", "ERR_STREAM_PREMATURE_CLOSE"];
const PROTOCOL_3 = 196608;
/** A simple query message ('Q'). */
const query = (sql: string) => {
  const text = Buffer.from(`${sql}\0`);
  const head = Buffer.from([0x51, 0, 0, 0, 0]);
  head.writeInt32BE(4 + text.length, 1);
  return Buffer.concat([head, text]);
};
const ROLLBACK = query("ROLLBACK");
/** The search_path the session has now, as a connection asked for it ("" for the default). */
let sessionSearchPath = "";

const [dataDir = "memory://", port = "5432"] = process.argv.slice(2);

/**
 * An empty database as initdb makes it, kept once per PGlite version (.workshop/pglite): a new
 * folder starts as a copy of it, a tenth of a second, instead of an initdb, 5 s of CPU.
 * PGLITE_EMPTY names another folder for it.
 */
const { version } = JSON.parse(
  readFileSync(join(repoRoot, "node_modules", "@electric-sql", "pglite", "package.json"), "utf8"),
) as { version: string };
const EMPTY = process.env.PGLITE_EMPTY ?? join(cacheDir("pglite"), `empty-${version}`);

const db = await open(dataDir);

const clients = new Set<Socket>();
const server = createServer((socket) => {
  clients.add(socket);
  socket.setNoDelay(true);
  serve(socket)
    .catch((error: NodeJS.ErrnoException) => {
      // A connection closed abruptly, by the client or by stop(), is no news.
      if (!CLOSED.includes(error.code ?? "")) console.error(`pglite-server: ${error.message}`);
    })
    .finally(() => {
      clients.delete(socket);
      socket.destroy();
    });
});
server.listen(Number(port), "127.0.0.1", () => console.log(`ready on ${port}`));

const stop = async () => {
  server.close();
  for (const socket of clients) socket.destroy(); // ends their turns (see serve)
  await db.close(); // after the turns; flushes the data folder
  process.exit(0);
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);

/**
 * PGlite on DIR, or the process ends (code 1) saying what happened and how to start over.
 *
 * A kill (SIGKILL, a crash, a power cut) in the middle of a write is what a database is built
 * for: PGlite writes straight to the files (NodeFS: no copy in memory to lose) and PostgreSQL
 * replays its write-ahead log (pg_wal) at the next start, so what was committed is there. The
 * exception was the very first start: initdb builds the folder in memory and then writes its
 * files one by one, PG_VERSION early; a kill in between left half a folder that PGlite took for
 * a database ("found DB, resuming") and failed to open at every start after. So a new folder is
 * made beside it and renamed into place once complete: a rename is all or nothing.
 * Whatever else damages the folder (a disk full, a file edited or deleted by hand), PGlite
 * aborts with a WebAssembly error that says nothing of it: said here instead, in words.
 */
async function open(dir: string): Promise<PGlite> {
  try {
    if (dir.startsWith("memory://")) return await PGlite.create(dir);
    if (!existsSync(`${dir}/PG_VERSION`)) {
      const fresh = `${dir}.initdb`; // a first start killed half-way left this: start it again
      rmSync(fresh, { recursive: true, force: true });
      if (existsSync(`${EMPTY}/PG_VERSION`)) cpSync(EMPTY, fresh, { recursive: true });
      else {
        await (await PGlite.create(fresh)).close();
        keepAsEmpty(fresh);
      }
      rmSync(dir, { recursive: true, force: true }); // empty, or the half of an older version's
      renameSync(fresh, dir);
    }
    const opened = await PGlite.create(dir);
    await opened.query("SELECT count(*) FROM pg_class"); // reads the catalog: the folder works
    return opened;
  } catch (error) {
    const shown = relative(process.cwd(), dir).startsWith("..")
      ? dir
      : relative(process.cwd(), dir);
    console.error(
      `pglite-server: the embedded PostgreSQL cannot open its data folder ${shown} ` +
        `(${error instanceof Error ? error.message : String(error)}). It was damaged, most ` +
        "likely by a process killed in the middle of writing it. To start over with an empty " +
        `database (its users and sessions are lost): \`rm -rf ${shown}\`, then start the ` +
        "step again (`npm run step:5` or `npm run step:10`).",
    );
    process.exit(1);
  }
}

/** Keeps a copy of FRESH, just made by initdb, as EMPTY; renamed into place, as above. */
function keepAsEmpty(fresh: string): void {
  const copy = `${EMPTY}.${process.pid}`;
  try {
    cpSync(fresh, copy, { recursive: true });
    renameSync(copy, EMPTY); // fails when another start was first: its copy stays
  } catch {
    // no copy kept: the next new folder is an initdb again
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** Serves one client connection, one turn at a time. */
async function serve(socket: Socket): Promise<void> {
  const incoming = messages(socket);
  // The client's next message; null once it has gone (Terminate, or its socket closed).
  const next = async () => {
    const { done, value } = await incoming.next();
    return done || value[0] === TERMINATE ? null : value;
  };
  let searchPath = "";
  for (let message = await next(); message; message = await next()) {
    if (isStartupCode(message, SSL_REQUEST) || isStartupCode(message, GSSENC_REQUEST)) {
      socket.write("N"); // no encryption: the client goes on in plain text
      continue;
    }
    if (isStartupCode(message, CANCEL_REQUEST)) return; // PGlite cannot cancel a query
    if (isStartupCode(message, PROTOCOL_3)) searchPath = searchPathOf(message);
    // The client's turn: from this message to the answer that says "idle".
    const first = message;
    await db.runExclusive(async () => {
      let idle = false;
      if (searchPath !== sessionSearchPath) {
        // Between turns the session is idle, outside any transaction: the SET holds.
        await db.execProtocolRaw(query(`SET search_path TO ${searchPath || "DEFAULT"}`));
        sessionSearchPath = searchPath;
      }
      try {
        for (let turn: Buffer | null = first; turn; turn = await next()) {
          const answer = await db.execProtocolRaw(turn);
          if (socket.writable) socket.write(Buffer.from(answer)); // a copy: PGlite reuses its buffer
          idle = lastReadyStatus(answer) === IDLE;
          if (idle) return;
        }
      } finally {
        // The client went away in the middle of its turn (a batch not yet ended by its Sync,
        // or a transaction not yet ended). Undo that, as PostgreSQL would, and leave the session
        // as the next connection expects it: ROLLBACK undoes both (a Sync would commit the
        // batch); but after an error in a batch PostgreSQL ignores everything until a Sync, so
        // then the Sync, and a second ROLLBACK ends the failed transaction (else: a warning).
        if (!idle) for (const undo of [ROLLBACK, SYNC, ROLLBACK]) await db.execProtocolRaw(undo);
      }
    });
  }
}

/**
 * Cuts what the socket receives into the protocol's messages. A message is a type byte, then
 * its length (4 bytes, counting themselves), then its body; but a connection's first messages
 * (the startup message, and before it an SSLRequest or GSSENCRequest) have no type byte.
 */
async function* messages(socket: Socket): AsyncGenerator<Buffer> {
  let received = Buffer.alloc(0);
  let typed = false;
  for await (const chunk of socket) {
    received = Buffer.concat([received, chunk as Buffer]);
    for (;;) {
      const start = typed ? 1 : 0;
      if (received.length < start + 4) break;
      const size = start + received.readInt32BE(start);
      if (size < start + 4) throw new Error("this client does not speak PostgreSQL's protocol");
      if (received.length < size) break;
      const message = received.subarray(0, size);
      received = received.subarray(size);
      typed ||= !isStartupCode(message, SSL_REQUEST) && !isStartupCode(message, GSSENC_REQUEST);
      yield message;
    }
  }
}

/** The search_path in a startup message's `options` ("-c search_path=a,b"), or "". */
function searchPathOf(startup: Buffer): string {
  const [, ...fields] = startup.subarray(8).toString("utf8").split("\0");
  const options = fields[fields.indexOf("options") + 1] ?? "";
  const path = /(?:^|\s)(?:-c\s*|--)search_path=([\w$",]+)/.exec(options)?.[1] ?? "";
  return fields.includes("options") ? path : "";
}

/** Whether MESSAGE is an untyped message of 8 bytes or more whose code (bytes 4 to 8) is CODE. */
function isStartupCode(message: Buffer, code: number): boolean {
  return message[0] === 0 && message.length >= 8 && message.readInt32BE(4) === code;
}

/** The status of the last ReadyForQuery in ANSWER ('I' idle, 'T' in a transaction, 'E' failed one). */
function lastReadyStatus(answer: Uint8Array): number | undefined {
  const view = Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength);
  let status: number | undefined;
  for (let at = 0; at + 5 <= view.length; at += 1 + view.readInt32BE(at + 1)) {
    if (view[at] === READY_FOR_QUERY) status = view[at + 5];
  }
  return status;
}
