import type { VisitsJson } from "./visits-contract.ts";

/**
 * A tiny browser for tests: keeps cookies like a browser does (set, replace, delete on
 * Max-Age=0), sends them back, and never follows redirects on its own.
 */
export class Browser {
  readonly cookies = new Map<string, string>();
  baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  /** GET / as a JSON client: counts one visit. */
  async visit(): Promise<VisitsJson> {
    const response = await this.request("/", { json: true });
    if (response.status !== 200) {
      throw new Error(`GET / answered ${response.status}: ${await response.text()}`);
    }
    return (await response.json()) as VisitsJson;
  }

  /** Sends a request with the cookies kept so far, and keeps the cookies it sets. */
  async request(
    path: string,
    init: {
      method?: string;
      /** A JSON body (sent as application/json, answer asked as JSON). */
      body?: unknown;
      /** A form body, as a browser's <form method="post"> sends it (answer asked as HTML). */
      form?: Record<string, string>;
      json?: boolean;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.json !== false && (init.json || init.body !== undefined)) {
      headers.accept = "application/json";
    }
    let body: string | undefined;
    if (init.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(init.body);
    } else if (init.form !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      headers.accept ??= "text/html";
      body = new URLSearchParams(init.form).toString();
    }
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    if (cookie) headers.cookie = cookie;

    const response = await fetch(new URL(path, this.baseUrl), {
      method: init.method ?? (body === undefined ? "GET" : "POST"),
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(30_000), // generous: a loaded machine is slow, not broken
    });
    for (const line of response.headers.getSetCookie()) this.keep(line);
    return response;
  }

  /** The value of one cookie as the server set it (URL-encoded, signed: `s%3A<id>.<sig>`). */
  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  private keep(setCookie: string): void {
    const [pair = "", ...attributes] = setCookie.split(";").map((part) => part.trim());
    const separator = pair.indexOf("=");
    const name = pair.slice(0, separator);
    const value = pair.slice(separator + 1);
    const expired = attributes.some(
      (attribute) =>
        /^max-age=(0|-\d+)$/i.test(attribute) ||
        (/^expires=/i.test(attribute) && Date.parse(attribute.slice(8)) < Date.now()),
    );
    if (expired) this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}

/** The `Set-Cookie` attributes of one cookie in a response, lower-cased names. */
export function setCookieAttributes(response: Response, name: string): Map<string, string> | null {
  const line = response.headers.getSetCookie().find((header) => header.startsWith(`${name}=`));
  if (!line) return null;
  const attributes = new Map<string, string>();
  for (const part of line.split(";").slice(1)) {
    const [key = "", ...rest] = part.trim().split("=");
    attributes.set(key.toLowerCase(), rest.join("="));
  }
  return attributes;
}
