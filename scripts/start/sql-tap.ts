/**
 * What the events pane shows of PostgreSQL: every statement the step sends, read off the wire.
 * The step's DATABASE_URL points here; each connection is passed on, byte for byte, to the
 * PostgreSQL the page started, and the client's side is cut into PostgreSQL's messages
 * (https://www.postgresql.org/docs/current/protocol-message-formats.html): a simple query
 * ('Q') is its text; a query with parameters is a Parse ('P': the text with $1, $2…) then a
 * Bind ('B': the values), shown together. Nothing is changed, nothing is held back.
 * (PostgreSQL's own log_statement would say the same, but the embedded engine has no log.)
 */
import { createServer, type Socket, connect as tcpConnect } from "node:net";

export interface SqlTap {
  readonly port: number;
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CLIP = 300;

/** Listens on a free port of 127.0.0.1 and passes each connection on to POSTGRES_PORT. */
export function startSqlTap(
  postgresPort: number,
  said: (statement: string) => void,
): Promise<SqlTap> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = tcpConnect(postgresPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {}); // either side going away closes the other
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.pipe(client);
    const statements = new Map<string, string>(); // prepared statements by name
    const read = messages((type, body) => {
      if (type === "Q") said(clip(cString(body, 0)[0]));
      if (type === "P") {
        const [name, at] = cString(body, 0);
        statements.set(name, cString(body, at)[0]);
      }
      if (type === "B") {
        const [, at] = cString(body, 0); // the portal
        const [name, next] = cString(body, at);
        const values = bindValues(body, next);
        const text = statements.get(name) ?? `(prepared statement ${name})`;
        said(clip(values.length > 0 ? `${text}  -- ${values.join(", ")}` : text));
      }
    });
    client.on("data", (chunk: Buffer) => {
      upstream.write(chunk);
      try {
        read(chunk);
      } catch {} // a message this does not understand is passed on all the same
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as { port: number }).port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}

/**
 * A reader of the client's bytes: calls ON with each typed message (its type letter and body).
 * The first messages (an SSLRequest, then the startup message) have no type letter.
 */
function messages(on: (type: string, body: Buffer) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let typed = false;
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const start = typed ? 1 : 0;
      if (pending.length < start + 4) return;
      const size = start + pending.readInt32BE(start);
      if (pending.length < size) return;
      const message = pending.subarray(0, size);
      pending = pending.subarray(size);
      if (typed) on(String.fromCharCode(message[0] ?? 0), message.subarray(5));
      else {
        const code = message.length >= 8 ? message.readInt32BE(4) : 0;
        typed = code !== SSL_REQUEST && code !== GSSENC_REQUEST;
      }
    }
  };
}

/** The zero-ended string at AT, and where the next field starts. */
function cString(body: Buffer, at: number): [string, number] {
  const end = body.indexOf(0, at);
  return [body.subarray(at, end).toString("utf8"), end + 1];
}

/** A Bind's parameter values, as text ('NULL' for null, '(binary)' for a binary one). */
function bindValues(body: Buffer, at: number): string[] {
  const formats = body.readInt16BE(at);
  const binary = Array.from({ length: formats }, (_, i) => body.readInt16BE(at + 2 + 2 * i) === 1);
  let offset = at + 2 + 2 * formats;
  const count = body.readInt16BE(offset);
  offset += 2;
  const values: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = body.readInt32BE(offset);
    offset += 4;
    const isBinary = formats === 1 ? binary[0] : binary[i];
    if (length < 0) values.push("NULL");
    else if (isBinary) values.push("(binary)");
    else values.push(`'${clip(body.subarray(offset, offset + length).toString("utf8"), 80)}'`);
    offset += Math.max(length, 0);
  }
  return values;
}

function clip(text: string, at = CLIP): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > at ? `${flat.slice(0, at)}…` : flat;
}
