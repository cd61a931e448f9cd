import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { setCookieAttributes } from "../../lib/browser.ts";
import { portOf, startHttpsProxy } from "../../lib/https-proxy.ts";
import { localCertificate } from "../../lib/services/certificate.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";

/** A reverse proxy that ends HTTPS in front of a step, as nginx or a load balancer would. */
export interface HttpsProxy {
  /** https://localhost:PORT: where a browser would go. */
  readonly url: string;
  /**
   * Sends a request to the proxy over HTTPS, trusting its certificate (fetch cannot be told
   * to), and answers as fetch does: a Response, Set-Cookie lines and all.
   */
  request(
    path: string,
    init?: { method?: string; headers?: Record<string, string>; body?: string },
  ): Promise<Response>;
}

/**
 * Starts an HTTPS proxy (lib/https-proxy.ts, as `npm run step:12` runs one) on a free port of
 * 127.0.0.1 in front of TARGET (a step's http:// url), with the workshop's local certificate,
 * closed when the test ends. Only an app that trusts the proxy (TRUST_PROXY) believes the
 * X-Forwarded-Proto and X-Forwarded-For it adds.
 */
export async function useHttpsProxy(
  t: { after(cleanup: () => unknown): void },
  target: string,
): Promise<HttpsProxy> {
  const tls = await localCertificate();
  const server = await startHttpsProxy({ port: 0, host: "127.0.0.1", target, tls });
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const url = `https://localhost:${portOf(server)}`;

  const request: HttpsProxy["request"] = (path, init = {}) =>
    new Promise((resolve, reject) => {
      const sent = httpsRequest(
        new URL(path, url),
        {
          method: init.method ?? (init.body === undefined ? "GET" : "POST"),
          headers: init.headers,
          ca: tls.cert, // trust this proxy's certificate, and only for this request
          lookup: (_host, _options, done) => done(null, [{ address: "127.0.0.1", family: 4 }]),
          agent: false,
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on("data", (chunk: Buffer) => chunks.push(chunk));
          answer.on("error", reject);
          answer.on("end", () => {
            const body = Buffer.concat(chunks);
            resolve(
              new Response(body.length > 0 ? body : null, {
                status: answer.statusCode ?? 502,
                headers: headersOf(answer.headers),
              }),
            );
          });
        },
      );
      sent.on("error", reject);
      sent.end(init.body);
    });
  return { url, request };
}

/** Node's headers as fetch's Headers, each Set-Cookie line kept apart. */
function headersOf(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    for (const one of Array.isArray(value) ? value : [value ?? ""]) headers.append(name, one);
  }
  return headers;
}

/**
 * TRUST_PROXY, asserted through a real HTTPS proxy (steps 05 and 10). TRUSTING is a step
 * started with TRUST_PROXY=loopback, TRUSTING_NONE one without it.
 * - Through the proxy, a browser's login (Origin https://localhost:PORT) succeeds, and the
 *   cookie is Secure: the app believed X-Forwarded-Proto, so secure: "auto" and the Origin
 *   check both see the HTTPS the browser used.
 * - Without TRUST_PROXY the same login is refused (403: the app sees http://, the browser
 *   says https://), and a spoofed X-Forwarded-Proto sent straight to the app changes nothing:
 *   no Secure cookie.
 */
export async function assertSecureBehindHttpsProxy(
  t: { after(cleanup: () => unknown): void; diagnostic?(message: string): void },
  { trusting, trustingNone }: { trusting: string; trustingNone: string },
): Promise<void> {
  const password = "correct horse battery staple";
  const json = { "content-type": "application/json", accept: "application/json" };
  const newUser = async (url: string) => {
    const username = `proxy-${randomBytes(6).toString("hex")}`;
    const registered = await fetch(new URL("/register", url), {
      method: "POST",
      headers: json,
      body: JSON.stringify({ username, password }),
    });
    assert.equal(registered.status, 201, `register answered ${registered.status}`);
    return JSON.stringify({ username, password });
  };

  const proxy = await useHttpsProxy(t, trusting);
  const body = await newUser(trusting);
  const login = await proxy.request("/login", { headers: { ...json, origin: proxy.url }, body });
  assert.equal(login.status, 200, `login through the proxy answered ${login.status}`);
  const cookie = setCookieAttributes(login, COOKIE_NAME);
  assert.equal(cookie?.has("secure"), true, "Secure behind a trusted HTTPS proxy");
  const setCookie = login.headers.getSetCookie().find((line) => line.startsWith(`${COOKIE_NAME}=`));
  const sessionCookie = setCookie?.split(";")[0] ?? "";
  const me = await proxy.request("/me", {
    headers: { accept: "application/json", cookie: sessionCookie },
  });
  assert.equal(me.status, 200, "the Secure cookie logs the browser in over HTTPS");

  const untrustedProxy = await useHttpsProxy(t, trustingNone);
  const refused = await untrustedProxy.request("/login", {
    headers: { ...json, origin: untrustedProxy.url },
    body: await newUser(trustingNone),
  });
  assert.equal(
    refused.status,
    403,
    "without TRUST_PROXY the app sees http://, not the https:// Origin",
  );

  const spoofed = await fetch(new URL("/login", trustingNone), {
    method: "POST",
    headers: { ...json, "x-forwarded-proto": "https" },
    body: await newUser(trustingNone),
  });
  assert.equal(spoofed.status, 200);
  const plain = setCookieAttributes(spoofed, COOKIE_NAME);
  assert.equal(plain?.has("secure"), false, "without TRUST_PROXY, X-Forwarded-Proto is ignored");
  t.diagnostic?.(
    `through ${proxy.url}: 200, Secure; without TRUST_PROXY: 403, spoofed header ignored`,
  );
}
