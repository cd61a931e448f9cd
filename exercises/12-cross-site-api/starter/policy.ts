import type { RequestHandler } from "express";

/**
 * Whether ORIGIN, a request's Origin header, is one of FRONTENDS. Each is an origin
 * ("https://front.example": that one only) or a pattern, "*." in front of its host
 * ("https://*.partners.example": any partner's site, one label in place of the *, with the
 * pattern's scheme and port). Browsers write an Origin one way only: lowercase, no path, no
 * default port. Anything else came from no browser's page, and is refused.
 */
function isFrontend(origin: string, frontends: readonly string[]): boolean {
  // TODO 1: an exact match, as now, lets no partner in. Decide which origins match a pattern:
  // https://acme.partners.example does; https://partners.example, https://a.b.partners.example,
  // look-alikes (https://acme.partners.example.evil.com…), another scheme or port, null, and
  // any spelling a browser never sends (uppercase, a path) do not.
  return frontends.includes(origin);
}

/**
 * What pages of other origins may do with this API. FRONTENDS: the shop's own frontends (see
 * isFrontend): their pages call the API with fetch(…, { credentials: "include" }), and must
 * get their answers. Every other site's page must neither read an answer nor change a basket.
 */
export function crossSitePolicy(frontends: readonly string[]): RequestHandler {
  return (req, res, next) => {
    const origin = req.headers.origin;
    const frontend = origin !== undefined && isFrontend(origin, frontends);
    // Who reads: a frontend's page, cookie and all (its own origin, never "*"); no other page.
    // Every answer depends on the Origin: shared caches must keep the origins' answers apart.
    res.append("Vary", "Origin");
    if (frontend) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Access-Control-Allow-Credentials", "true");
    }
    // A frontend's preflight: its browser asks first, before a JSON POST or a DELETE.
    if (frontend && req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
      res.setHeader("Access-Control-Allow-Methods", "GET, POST, DELETE");
      res.setHeader("Access-Control-Allow-Headers", "Content-Type");
      res.status(204).end();
      return;
    }

    // TODO 2: CORS only decides who reads: another site's form still arrives, with the cookie.
    // A request that changes something (any method but GET, HEAD and OPTIONS) from a page of
    // another origin (by Origin; without one, by Sec-Fetch-Site: cross-site or same-site),
    // frontends aside, is refused with a 403. The API's own pages pass, and so do clients that
    // are no browser (no Origin, no Sec-Fetch-Site).

    next();
  };
}
