/**
 * The embedded PostgreSQL: PGlite (PostgreSQL compiled to WebAssembly, from npm) served over
 * PostgreSQL's wire protocol, so that `pg` and psql talk to it as to a real server.
 *   node --import tsx lib/services/pglite-server.ts DATA_DIR PORT
 * DATA_DIR "memory://" keeps nothing. Prints `ready on PORT` once it accepts connections.
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { keepBatchesTogether } from "./pglite-batches.ts";

const [dataDir = "memory://", port = "5432"] = process.argv.slice(2);
const db = await PGlite.create(dataDir);
// The default is one connection; a pg Pool opens several.
const server = new PGLiteSocketServer({
  db,
  port: Number(port),
  host: "127.0.0.1",
  maxConnections: 32,
});
keepBatchesTogether(server, () => db.isInTransaction());
await server.start();
console.log(`ready on ${port}`);

const stop = async () => {
  await server.stop();
  await db.close(); // flushes the data folder
  process.exit(0);
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
