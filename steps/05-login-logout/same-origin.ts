import type { RequestHandler } from "express";

/**
 * Refuses a POST that a page of another site sent (403). Browsers put the sending page's
 * origin in the `Origin` header of every POST, and a page cannot forge it.
 *
 * SameSite=Lax already keeps the cookie off cross-site POSTs, which protects a logged-in user.
 * It does not stop "login CSRF": another site's hidden form that logs the victim into the
 * attacker's account (that request needs no cookie). This check does. Clients that send no
 * Origin (curl, scripts) are not browsers on another site, and pass.
 */
export const sameOriginPosts: RequestHandler = (req, res, next) => {
  const origin = req.get("origin");
  // req.host: the Host header, or behind a trusted proxy (TRUST_PROXY) its X-Forwarded-Host.
  if (req.method !== "POST" || origin === undefined || hostOf(origin) === req.host) {
    next();
    return;
  }
  res.status(403).json({ error: "This form was sent from another site." });
};

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host; // "null" (a sandboxed page) is not a URL: refused
  } catch {
    return null;
  }
}
