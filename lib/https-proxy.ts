import { request } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";

export interface HttpsProxyOptions {
  /** Where the proxy listens: PORT of HOST (0: any free port). */
  port: number;
  host: string;
  /** The app behind it, plain HTTP: http://127.0.0.1:3000. */
  target: string;
  /** The certificate browsers are shown (lib/services/certificate.ts). */
  tls: { key: string; cert: string };
}

/**
 * A reverse proxy that ends HTTPS in front of an app, as nginx or a cloud load balancer does:
 * HTTPS with browsers, plain HTTP with the app, from 127.0.0.1. Each request goes on as it
 * came (its Host and Origin too), plus what such proxies add, because the app can no longer
 * see it: `X-Forwarded-Proto: https` (whatever the client wrote there), and the client's
 * address appended to `X-Forwarded-For`. Only an app that trusts this proxy believes them.
 */
export async function startHttpsProxy(options: HttpsProxyOptions): Promise<Server> {
  const upstream = new URL(options.target);
  const server = createServer(options.tls, (req, res) => {
    const { connection: _hopByHop, ...headers } = req.headers;
    const forwardedFor = [headers["x-forwarded-for"], req.socket.remoteAddress]
      .filter(Boolean)
      .join(", ");
    const forwarded = request(
      {
        // localhost may resolve to ::1 first; the steps listen on 127.0.0.1.
        host: upstream.hostname === "localhost" ? "127.0.0.1" : upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...headers, "x-forwarded-proto": "https", "x-forwarded-for": forwardedFor },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`The app behind this proxy did not answer: ${error.message}`);
    });
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}

/** The port SERVER listens on. */
export const portOf = (server: { address(): unknown }) => (server.address() as AddressInfo).port;
