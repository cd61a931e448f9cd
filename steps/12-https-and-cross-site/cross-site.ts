import type { RequestHandler } from "express";
import { sameOriginPosts } from "../05-login-logout/same-origin.ts";

/**
 * Lets the pages of FRONTENDS (exact origins, such as "https://127.0.0.1:3444") call this API
 * with the visitor's cookie, and keeps the pages of every other site out.
 *
 * CORS says which pages may READ an answer: the browser sends the request, and shows the page
 * the answer only if it names the page's origin and allows credentials. It protects nothing on
 * the server: another site's form still arrives, and with SameSite=None it carries the cookie.
 * So a POST from any other site is still refused, as in step 05 (Origin, else Fetch Metadata).
 */
export function frontendsOnly(frontends: readonly string[]): RequestHandler {
  const allowed = new Set(frontends);
  return (req, res, next) => {
    // Every answer depends on the Origin: a shared cache must not hand one site's to another.
    res.vary("Origin");
    const origin = req.get("origin");
    if (origin === undefined || !allowed.has(origin)) {
      sameOriginPosts(req, res, next); // step 05's check: another site's POST is a 403
      return;
    }
    // This origin, exactly: never "*" (refused with credentials), never whatever was sent.
    res.set("Access-Control-Allow-Origin", origin);
    res.set("Access-Control-Allow-Credentials", "true"); // answers to requests with the cookie
    if (req.method === "OPTIONS" && req.get("access-control-request-method")) {
      // A preflight: the browser asks first before a request a form could not send (JSON).
      res.set("Access-Control-Allow-Methods", "GET, POST");
      res.set("Access-Control-Allow-Headers", "Content-Type");
      res.set("Access-Control-Max-Age", "600"); // the browser may keep this answer 10 minutes
      res.sendStatus(204);
      return;
    }
    next();
  };
}
