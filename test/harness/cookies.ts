import { createHmac } from "node:crypto";
import type { Browser } from "../../lib/browser.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";

/** The session id inside the browser's signed session cookie (`s%3A<id>.<signature>`). */
export function sessionIdOf(browser: Browser): string {
  const value = decodeURIComponent(browser.cookie(COOKIE_NAME) ?? "");
  return value.startsWith("s:") ? value.slice(2, value.lastIndexOf(".")) : "";
}

/**
 * The cookie value express-session would send for ID, signed with SECRET: what an attacker who
 * knows the secret (a committed development secret, say) can forge for any id they like.
 */
export function signedCookie(id: string, secret: string): string {
  const signature = createHmac("sha256", secret).update(id).digest("base64").replace(/=+$/, "");
  return encodeURIComponent(`s:${id}.${signature}`);
}
