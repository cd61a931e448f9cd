import express from "express";
import session, { type Store } from "express-session";
import { sessionSecrets } from "../../../steps/shared/session-secret.ts";
import { crossSitePolicy } from "./policy.ts";

declare module "express-session" {
  interface SessionData {
    /** What the visitor put in their basket, in order. */
    basket: string[];
  }
}

/**
 * A shop's API, behind an HTTPS proxy on this machine. Its frontends are pages on other sites
 * (FRONTENDS: origins, or patterns such as https://*.partners.example); the basket lives
 * in the session, in STORE.
 * GET /basket reads it, POST /basket {item} adds to it (JSON, or a form), DELETE /basket empties it.
 */
export function createApp(store: Store, frontends: readonly string[]) {
  const api = express();
  api.set("trust proxy", "loopback"); // the proxy says the visitor came over HTTPS
  api.use(crossSitePolicy(frontends)); // policy.ts: yours
  api.use(express.json({ limit: "4kb" }), express.urlencoded({ extended: false, limit: "4kb" }));
  api.use(
    session({
      store,
      name: "__Host-shop.sid",
      secret: sessionSecrets(),
      resave: false,
      saveUninitialized: false,
      // The frontends' requests are cross-site: the cookie must go along with them.
      cookie: { httpOnly: true, secure: true, sameSite: "none", partitioned: true },
    }),
  );
  api.get("/basket", (req, res) => {
    res.json({ items: req.session.basket ?? [] });
  });
  api.post("/basket", (req, res) => {
    const item: unknown = req.body?.item;
    if (typeof item !== "string" || item.length === 0) {
      res.status(400).json({ error: "Send the item to add." });
      return;
    }
    req.session.basket = [...(req.session.basket ?? []), item];
    res.status(201).json({ items: req.session.basket });
  });
  api.delete("/basket", (req, res) => {
    if (req.session.basket) req.session.basket = [];
    res.status(204).end();
  });
  return api;
}
