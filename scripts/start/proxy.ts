/**
 * The app pane's way in: a port of `npm start`'s own that passes every request on to the running
 * step, and tells what cookies went each way. The page cannot read an HttpOnly cookie; this can,
 * because every request and answer goes through it. It is on a port of its own, not a path, so
 * that the app's links (`/login`) work unchanged; cookies ignore ports, so the app's cookie is a
 * cookie of localhost, as with `npm run step:N`, and the page's server can delete it.
 *
 * Each request gets a number and a time window (from when it came in to when its answer was
 * sent), so that the events pane can say which request a store command came during.
 */

import { createServer, request, type Server } from "node:http";
import { createRequire } from "node:module";
import { sessionSecrets } from "../../steps/shared/session-secret.ts";

// What express-session signs and checks its cookie with (one of its dependencies).
const { unsign } = createRequire(import.meta.url)("cookie-signature") as {
  unsign(value: string, secret: string): string | false;
};

/** A request the page itself sends (a burst, a probe) says so in this header; the app never sees it. */
export const PAGE_HEADER = "x-workshop-page";

/** One cookie, decoded: its session id, and whether its signature is the workshop's. */
export interface Cookie {
  name: string;
  value: string;
  /** express-session's id, from a signed value `s:<id>.<signature>`. */
  id?: string;
  /** Which of SESSION_SECRET's secrets verified it (1 is the first); 0: none did. */
  verifiedBy?: number;
  /** How many secrets the step has (SESSION_SECRET, comma-separated; else the development one). */
  secrets?: number;
  /** Set-Cookie only: Path, Expires, HttpOnly, SameSite… in the order they came. */
  attributes?: [string, string][];
}

/** One request the app answered, as the cookie pane shows it. */
export interface Exchange {
  /** 1, 2, 3…: the order the requests came in. */
  seq: number;
  /** When it came in, and (once known) how long until its answer was sent. */
  at: number;
  ms?: number;
  method: string;
  path: string;
  status: number;
  sent: Cookie[];
  set: Cookie[];
  /** Who sent it, when not the app pane's browser: "20 requests at once", "a probe"… */
  by?: string;
}

/** A request that was in flight at some moment: its number, method and path. */
export interface InFlight {
  seq: number;
  label: string;
}

let secrets: string[] | undefined;

/** NAME=VALUE decoded; a signed value (`s:…`) checked against each of the steps' secrets. */
export function decode(pair: string, attributes?: [string, string][]): Cookie {
  const at = pair.indexOf("=");
  const name = pair.slice(0, at).trim();
  const value = pair.slice(at + 1).trim();
  const cookie: Cookie = { name, value, ...(attributes ? { attributes } : {}) };
  let plain = value;
  try {
    plain = decodeURIComponent(value);
  } catch {}
  // express-session's format, whatever the cookie's name (a step may use a __Host- name).
  if (!/^s:.+\..+/.test(plain)) return cookie;
  cookie.id = plain.slice(2, plain.lastIndexOf("."));
  try {
    secrets ??= sessionSecrets(); // the same environment as the step's: the same secrets
  } catch {
    secrets = [];
  }
  cookie.secrets = secrets.length;
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

export interface Proxy {
  server: Server;
  port: number;
  /** The requests in flight at AT (ms since 1970), a couple of ms either side. */
  during(at: number): InFlight[];
  /**
   * The Cookie header the app pane's browser would send now (what it sent last, and what it was
   * set since): what a burst sends as that browser.
   */
  lastCookie(): string;
  /** Forgets that header (a new browser). */
  forgetCookie(): void;
}

/**
 * Listens on a free port of 127.0.0.1 and passes each request to the port TARGET() names (none:
 * a page that says to start a step); SEEN gets every exchange.
 */
export function startProxy(
  target: () => number | undefined,
  seen: (exchange: Exchange) => void,
): Promise<Proxy> {
  let seq = 0;
  /** The app pane's browser's cookies as it holds them: what it sent, and what it was set since. */
  const jar = new Map<string, string>();
  /** The recent requests' windows, oldest first: enough for a burst and what came around it. */
  const windows: { seq: number; label: string; from: number; to?: number }[] = [];
  const server = createServer((req, res) => {
    const port = target();
    if (!port) {
      res.writeHead(503, { "content-type": "text/html" });
      res.end("<p style='font: 1.5rem sans-serif'>No step is running: start one on the left.</p>");
      return;
    }
    const by = req.headers[PAGE_HEADER];
    delete req.headers[PAGE_HEADER];
    const sent = (req.headers.cookie ?? "").split(";").filter((pair) => pair.includes("="));
    if (!by) {
      jar.clear();
      for (const { name, value } of sent.map((pair) => decode(pair))) jar.set(name, value);
    }
    const window: (typeof windows)[number] = {
      seq: ++seq,
      label: `${req.method} ${req.url}`,
      from: Date.now(),
    };
    windows.push(window);
    if (windows.length > 500) windows.shift();
    res.once("close", () => (window.to = Date.now()));
    const upstream = request(
      { host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const set = (answer.headers["set-cookie"] ?? []).map(decodeSetCookie);
        for (const cookie of by ? [] : set) {
          const gone = cookie.attributes?.some(
            ([key, value]) =>
              (/^max-age$/i.test(key) && Number(value) <= 0) ||
              (/^expires$/i.test(key) && Date.parse(value) < Date.now()),
          );
          if (gone) jar.delete(cookie.name);
          else jar.set(cookie.name, cookie.value);
        }
        seen({
          seq: window.seq,
          at: window.from,
          ms: Date.now() - window.from,
          method: req.method ?? "GET",
          path: req.url ?? "/",
          status: answer.statusCode ?? 0,
          sent: sent.map((pair) => decode(pair)),
          set,
          ...(by ? { by: String(by) } : {}),
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
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        server,
        port: (server.address() as { port: number }).port,
        during: (at) =>
          windows
            .filter(({ from, to }) => from - 2 <= at && (to === undefined || at <= to + 2))
            .map(({ seq, label }) => ({ seq, label })),
        lastCookie: () => [...jar].map(([name, value]) => `${name}=${value}`).join("; "),
        forgetCookie: () => jar.clear(),
      }),
    ),
  );
}
