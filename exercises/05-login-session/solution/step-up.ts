import express, { Router } from "express";
import "../../../steps/05-login-logout/session-data.ts";
import { regenerate, save } from "../../../steps/05-login-logout/session-promises.ts";
import { currentUser, type UserStore } from "../../../steps/05-login-logout/users.ts";

// What a confirmation adds to step 05's session.
declare module "express-session" {
  interface SessionData {
    /** When the visitor last typed their password again (ms since 1970, by `now`). */
    confirmedAt: number;
  }
}

/** How long one confirmation opens the sensitive pages: 5 minutes. */
export const CONFIRMATION_MS = 5 * 60 * 1000;

export interface StepUpOptions {
  /** Step 05's users table: who is logged in, and whether a password is theirs. */
  users: UserStore;
  /** The clock, in ms since 1970: Date.now in the app; the check moves its own. */
  now?: () => number;
}

/**
 * POST /confirm {password} and GET /account, the page of a sensitive action (where a real app
 * changes the e-mail address or shows the API keys): open only for a few minutes after the
 * logged-in visitor typed their password again ("step-up" authentication). Always JSON.
 */
export function stepUpRoutes({ users, now = Date.now }: StepUpOptions): Router {
  const router = Router();
  router.use(express.json({ limit: "4kb" }), express.urlencoded({ extended: false, limit: "4kb" }));

  router.post("/confirm", async (req, res) => {
    const user = await currentUser(req, users);
    if (!user) {
      res.status(401).json({ error: "You are not logged in." });
      return;
    }
    const { password } = (req.body ?? {}) as Record<string, unknown>;
    if (typeof password !== "string") {
      res.status(400).json({ error: "Send your password." });
      return;
    }
    if (!(await users.verify(user.username, password))) {
      res.status(401).json({ error: "Wrong password." });
      return;
    }
    // TODO 1: the visitor just proved, again, who they are: their session gains a privilege.
    // Whoever knew its id before (a copied cookie, an id an attacker planted) must not gain
    // it too. Give the session a new id, with the old one gone from the store; the login
    // (user, name, when it began) and the visit count come along, nothing else of the old
    // session. When the store fails, the visitor must not be told it worked.
    const { userId, username, loggedInAt, visits } = req.session;
    await regenerate(req);
    Object.assign(req.session, { userId, username, loggedInAt, visits });
    req.session.confirmedAt = now();
    await save(req);
    res.json({ confirmedUntil: new Date(req.session.confirmedAt + CONFIRMATION_MS).toISOString() });
  });

  router.get("/account", async (req, res) => {
    const user = await currentUser(req, users);
    if (!user) {
      res.status(401).json({ error: "You are not logged in." });
      return;
    }
    // TODO 2: a confirmation opens this page for CONFIRMATION_MS from the moment the password
    // was typed, by the clock `now`; using the page does not make it last longer.
    const { confirmedAt } = req.session;
    const fresh = confirmedAt !== undefined && now() - confirmedAt < CONFIRMATION_MS;
    if (!fresh) {
      res.status(403).json({ error: "Confirm your password first." });
      return;
    }
    const confirmedUntil = new Date(confirmedAt + CONFIRMATION_MS);
    res.json({ username: user.username, confirmedUntil: confirmedUntil.toISOString() });
  });

  return router;
}
