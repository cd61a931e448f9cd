/**
 * A visitor with a cookie jar for test/checks/differential.ts, like lib/browser.ts's but over
 * node:http: scenarios send hundreds of requests, and fetch costs several times as much CPU per
 * request. A request unanswered within ANSWER_WITHIN_MS fails, naming the route.
 */
import { type Agent, request } from "node:http";
import { availableParallelism, loadavg } from "node:os";
import { ANSWER_WITHIN_MS, Wrong } from "./kit.ts";

/** An answer as a client sees it. */
export interface Answer {
  status: number;
  text: string;
  header(name: string): string | undefined;
  setCookies: string[];
}

/** A visitor: keeps its cookies like a browser, sends them back. */
export class Client {
  readonly cookies = new Map<string, string>();
  private readonly url: URL;
  private readonly agent: Agent;

  constructor(url: URL, agent: Agent) {
    this.url = url;
    this.agent = agent;
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  /** The same browser's requests that carry no cookie (a CORS preflight): an empty jar. */
  withoutCookies(): Client {
    return new Client(this.url, this.agent);
  }

  /**
   * METHOD PATH; a BODY object goes as JSON, a string as it is (a form's: say its content-type
   * in HEADERS). WITHIN_MS (default ANSWER_WITHIN_MS) for a route slow on purpose.
   */
  send(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: unknown,
    quietWithinMs = ANSWER_WITHIN_MS,
  ): Promise<Answer> {
    const all: Record<string, string> = { ...headers };
    const payload = typeof body === "string" || body === undefined ? body : JSON.stringify(body);
    if (payload !== undefined && typeof body !== "string") all["content-type"] = "application/json";
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    if (cookie) all.cookie = cookie;
    // A guard against a hang, not a time limit: a busy machine gets longer.
    const withinMs = quietWithinMs * Math.max(1, (loadavg()[0] ?? 0) / availableParallelism());
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path,
          method,
          headers: all,
          agent: this.agent,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () => {
            clearTimeout(timer);
            const setCookies = res.headers["set-cookie"] ?? [];
            for (const line of setCookies) this.keep(line);
            const header = (name: string) => {
              const value = res.headers[name.toLowerCase()];
              return Array.isArray(value) ? value.join(", ") : value;
            };
            resolve({ status: res.statusCode ?? 0, text, header, setCookies });
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        reject(
          new Wrong(
            `${method} ${path} never answered`,
            `an answer within ${(withinMs / 1000).toFixed(1)} s`,
            "no answer: a route that neither sends a response nor calls next(), a callback that is never called, or an error thrown in a callback, which never reaches Express (see below)",
          ),
        );
      }, withinMs);
      req.on("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        // A kept-alive connection the server closed after its last answer (as express-session
        // does after a failed save): the request never reached it, so it is sent again.
        if (req.reusedSocket && error.code === "ECONNRESET") {
          this.send(method, path, headers, body, quietWithinMs).then(resolve, reject);
          return;
        }
        reject(error);
      });
      req.end(payload);
    });
  }

  /** Keeps a Set-Cookie as a browser does: replaced, or dropped when already expired. */
  private keep(line: string): void {
    const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
    const name = pair.slice(0, pair.indexOf("="));
    const expired = attributes.some(
      (a) =>
        /^max-age=(0|-\d+)$/i.test(a) ||
        (/^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now()),
    );
    if (expired) this.cookies.delete(name);
    else this.cookies.set(name, pair.slice(name.length + 1));
  }
}
