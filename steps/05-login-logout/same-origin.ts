import type { RequestHandler } from "express";

/**
 * Refuses a POST that a page of another site sent (403). Browsers put the sending page's
 * origin in the `Origin` header of every POST, and a page cannot forge it.
 *
 * SameSite=Lax already keeps the cookie off cross-site POSTs, which protects a logged-in user.
 * It does not stop "login CSRF": another site's hidden form that logs the victim into the
 * attacker's account (that request needs no cookie). This check does; without Origin, by Fetch
 * Metadata (as OWASP suggests): Sec-Fetch-Site, which a page cannot forge either. same-site is
 * refused too: a sibling subdomain is another origin, and SameSite=Lax lets it send the cookie.
 * Clients that send neither header (curl, scripts) are not browsers on another site, and pass.
 */
export const sameOriginPosts: RequestHandler = (req, res, next) => {
  const origin = req.get("origin");
  // The origin is scheme + host: https://shop.example and http://shop.example are two sites.
  // req.protocol and req.host: the request's, or behind a trusted proxy (TRUST_PROXY) the
  // X-Forwarded-Proto and X-Forwarded-Host it sent.
  const ours = `${req.protocol}://${req.host}`;
  const sameOrigin =
    origin !== undefined
      ? originOf(origin) === ours
      : [undefined, "same-origin", "none"].includes(req.get("sec-fetch-site"));
  if (req.method !== "POST" || sameOrigin) {
    next();
    return;
  }
  res.status(403).json({ error: "This form was sent from another site." });
};

function originOf(origin: string): string | null {
  try {
    return new URL(origin).origin; // "null" (a sandboxed page) is not a URL: refused
  } catch {
    return null;
  }
}
