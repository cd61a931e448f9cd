import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";

const page = readFileSync(new URL("frontend.html", import.meta.url), "utf8");

export interface FrontendOptions {
  port: number;
  host: string;
  /** The API the page calls: https://localhost:3443. */
  api: string;
  tls: { key: string; cert: string };
  /** Whether the API lets this origin in: the page says so. */
  listed: boolean;
}

/**
 * A frontend on another site than the API: one page (frontend.html), over HTTPS, whose script
 * calls the API with the visitor's cookie. Served on an origin the API lets in, it works;
 * served on any other, it shows what every other site gets.
 */
export async function startFrontend(options: FrontendOptions): Promise<Server> {
  const html = page
    .replace("%API%", options.api)
    .replace(
      "%LISTED%",
      options.listed
        ? "This origin is on the API's list: its calls get the answers."
        : "This origin is <strong>not</strong> on the API's list: what can it do?",
    );
  const server = createServer(options.tls, (_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}
