import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * What an app's clients see of their server through the relay:
 * - "up": every byte goes through, both ways;
 * - "down": every connection cut, as when the server's process is gone; new ones refused, or
 *   held unanswered until the relay is up again (`whileDown`);
 * - "frozen": connections stay open, bytes wait unanswered (a server busy, or a failover under
 *   way), and go through when the relay is up again (dropped if it goes down first).
 */
export type RelayState = "up" | "down" | "frozen";

/** Redis commands that only read: a cut (downAfterNextRequest) lets them through. */
export const READS = new Set(["EXISTS", "GET", "MGET", "TTL", "PTTL", "TYPE", "STRLEN", "PING"]);
/** Whether CHUNK, what an app sent to Redis in one write, begins with a command that only reads. */
export function startsWithRead(chunk: Buffer): boolean {
  const command = /^\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n/.exec(chunk.toString("latin1", 0, 64));
  return READS.has(command?.[1]?.toUpperCase() ?? "");
}

/**
 * A TCP relay on a free port of 127.0.0.1 between the apps under check and a server (Redis):
 * a check points the apps' clients at it and plays outages by setting its state, without
 * touching the server that both sides share. It counts the connections opened through it.
 */
export class Relay {
  state: RelayState = "up";
  /** Connections opened through the relay so far. */
  opened = 0;
  private readonly sockets = new Set<Socket>();
  private readonly waitingForUp: Socket[] = [];
  private held: (() => void)[] = [];
  /** Set by downAfterNextRequest: the next bytes an app sends go through, then the relay is down. */
  private cutAfterNext = false;
  /** Bytes that go through without the cut (reads, say): downAfterNextRequest's UNLESS. */
  private passesUncut: (chunk: Buffer) => boolean = () => false;
  /** After those bytes: nothing more goes through until the server answers, and the relay is down. */
  private cutting = false;
  private readonly server: Server;
  private readonly target: URL;
  private readonly whileDown: "refuse" | "hold";

  private constructor(server: Server, target: URL, whileDown: "refuse" | "hold") {
    this.server = server;
    this.target = target;
    this.whileDown = whileDown;
    server.on("connection", (socket) => this.accept(socket));
  }

  /** A relay to the server at URL (its host and port); WHILEDOWN: what new connections get. */
  static async open(url: string, { whileDown = "refuse" as "refuse" | "hold" } = {}) {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return new Relay(server, new URL(url), whileDown);
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === "object" && address ? address.port : 0;
  }

  /** The server's URL with the relay's port instead (and DATABASE for Redis, when given). */
  url(database?: number): string {
    const url = new URL(this.target);
    url.hostname = "127.0.0.1";
    url.port = String(this.port);
    if (database !== undefined) url.pathname = `/${database}`;
    return url.href;
  }

  set(state: RelayState): void {
    this.state = state;
    if (state !== "up") {
      this.cutAfterNext = false;
      this.cutting = false;
    }
    if (state === "down") for (const socket of this.sockets) socket.destroy();
    if (state === "frozen") return;
    const held = this.held.splice(0);
    if (state === "up") {
      for (const send of held) send();
      for (const socket of this.waitingForUp.splice(0)) if (!socket.destroyed) this.forward(socket);
    }
  }

  /**
   * The next bytes an app sends (a command, or a pipeline sent as one write) for which UNLESS
   * is false reach the server; then the relay goes down before the answer comes back: a
   * connection lost mid-request, as when the app's process dies between two commands.
   */
  downAfterNextRequest(unless: (chunk: Buffer) => boolean = () => false): void {
    this.cutAfterNext = true;
    this.passesUncut = unless;
  }

  close(): Promise<void> {
    this.set("down");
    for (const socket of this.waitingForUp.splice(0)) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(app: Socket): void {
    this.opened++;
    app.on("error", () => {});
    if (this.state !== "down") this.forward(app);
    else if (this.whileDown === "refuse") app.destroy();
    else {
      app.pause();
      this.waitingForUp.push(app);
    }
  }

  private forward(app: Socket): void {
    const server = connect(Number(this.target.port), this.target.hostname);
    for (const socket of [app, server]) {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        this.sockets.delete(socket);
        app.destroy();
        server.destroy();
      });
    }
    this.pass(app, server, "request");
    this.pass(server, app, "answer");
    app.resume();
  }

  /** FROM's bytes go on to TO, or wait while the relay is frozen. */
  private pass(from: Socket, to: Socket, direction: "request" | "answer"): void {
    from.on("data", (chunk) => {
      if (this.cutting) {
        // The server has run what went through: its answer is lost with the connection.
        if (direction === "answer") this.set("down");
        return;
      }
      if (direction === "request" && this.cutAfterNext && !this.passesUncut(chunk)) {
        this.cutAfterNext = false;
        this.cutting = true;
      }
      const send = () => void (to.destroyed || to.write(chunk));
      if (this.state === "frozen") this.held.push(send);
      else send();
    });
  }
}
