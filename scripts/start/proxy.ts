/**
 * The app pane's way in: a port of `npm start`'s own that passes every request on to the running
 * step, and tells what cookies went each way. The page cannot read an HttpOnly cookie; this can,
 * because every request and answer goes through it. It is on a port of its own, not a path, so
 * that the app's links (`/login`) work unchanged; cookies ignore ports, so the app's cookie is a
 * cookie of localhost, as with `npm run step:N`, and the page's server can delete it.
 */

import { createServer, request, type Server } from "node:http";
import { createRequire } from "node:module";
import { COOKIE_NAME, sessionSecrets } from "../../steps/shared/session-secret.ts";

// What express-session signs and checks its cookie with (one of its dependencies).
const { unsign } = createRequire(import.meta.url)("cookie-signature") as {
  unsign(value: string, secret: string): string | false;
};

/** One cookie, decoded: its session id, and whether its signature is the workshop's. */
export interface Cookie {
  name: string;
  value: string;
  /** express-session's id, from `s:<id>.<signature>`. */
  id?: string;
  /** Which of SESSION_SECRET's secrets verified it (1 is the first); 0: none did. */
  verifiedBy?: number;
  /** Set-Cookie only: Path, Expires, HttpOnly, SameSite… in the order they came. */
  attributes?: [string, string][];
}

/** One request the app answered, as the cookie pane shows it. */
export interface Exchange {
  at: number;
  method: string;
  path: string;
  status: number;
  sent: Cookie[];
  set: Cookie[];
}

let secrets: string[] | undefined;

/** NAME=VALUE decoded; a session cookie checked against each of the steps' secrets. */
export function decode(pair: string, attributes?: [string, string][]): Cookie {
  const at = pair.indexOf("=");
  const name = pair.slice(0, at).trim();
  const value = pair.slice(at + 1).trim();
  const cookie: Cookie = { name, value, ...(attributes ? { attributes } : {}) };
  let plain = value;
  try {
    plain = decodeURIComponent(value);
  } catch {}
  if (name !== COOKIE_NAME || !plain.startsWith("s:")) return cookie;
  cookie.id = plain.slice(2, plain.lastIndexOf("."));
  try {
    secrets ??= sessionSecrets(); // the same environment as the step's: the same secrets
  } catch {
    secrets = [];
  }
  cookie.verifiedBy = secrets.findIndex((secret) => unsign(plain.slice(2), secret) !== false) + 1;
  return cookie;
}

/** A Set-Cookie line, decoded. */
export function decodeSetCookie(line: string): Cookie {
  const [pair = "", ...rest] = line.split(";");
  return decode(
    pair,
    rest.map((part) => {
      const [key = "", ...value] = part.trim().split("=");
      return [key, value.join("=")];
    }),
  );
}

/**
 * Listens on a free port of 127.0.0.1 and passes each request to the port TARGET() names (none:
 * a page that says to start a step); SEEN gets every exchange.
 */
export function startProxy(
  target: () => number | undefined,
  seen: (exchange: Exchange) => void,
): Promise<Server> {
  const server = createServer((req, res) => {
    const port = target();
    if (!port) {
      res.writeHead(503, { "content-type": "text/html" });
      res.end("<p style='font: 1.5rem sans-serif'>No step is running: start one on the left.</p>");
      return;
    }
    const sent = (req.headers.cookie ?? "").split(";").filter((pair) => pair.includes("="));
    const upstream = request(
      { host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        seen({
          at: Date.now(),
          method: req.method ?? "GET",
          path: req.url ?? "/",
          status: answer.statusCode ?? 0,
          sent: sent.map((pair) => decode(pair)),
          set: (answer.headers["set-cookie"] ?? []).map(decodeSetCookie),
        });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`The step did not answer: ${error.message}`);
    });
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
