import express, { Router } from "express";
import type { Pool } from "pg";
import { hashNewPassword } from "../../../steps/05-login-logout/credentials.ts";
import type { User } from "../../../steps/05-login-logout/users.ts";
import "../../../steps/05-login-logout/session-data.ts";

const MIN_PASSWORD = 8;
const MAX_PASSWORD = 128;

/** {current, next} from a body {currentPassword, newPassword}; else the message of the 400. */
function readPasswords(body: unknown): { current: string; next: string } | string {
  const { currentPassword, newPassword } = (body ?? {}) as Record<string, unknown>;
  if (typeof currentPassword !== "string" || typeof newPassword !== "string") {
    return "Send currentPassword and newPassword.";
  }
  if (newPassword.length < MIN_PASSWORD || newPassword.length > MAX_PASSWORD) {
    return `A password is ${MIN_PASSWORD} to ${MAX_PASSWORD} characters long.`;
  }
  if (newPassword.includes("\u0000")) return "A password cannot hold a NUL character.";
  return { current: currentPassword, next: newPassword };
}

/**
 * TODO 1: the password change, in the database. In ONE transaction, on one client of POOL:
 * check CURRENT against the user's row (passwordMatches), store the new salt and hash, and end
 * every other session of this user (connect-pg-simple's table "session": sid, sess, expire;
 * the user's id is sess's "userId"), so that none of them comes back, not even from a request
 * already under way (step 05: a logout is final; step 10's table ended_sessions). All of it,
 * or none of it; the client goes back to the pool on every path. Resolves the user when the
 * password was changed, null when CURRENT is wrong.
 */
async function changePassword(
  pool: Pool,
  change: { userId: string; keepSessionId: string; current: string; salt: Buffer; hash: Buffer },
): Promise<User | null> {
  throw new Error("TODO 1: change the password, end the other sessions");
}

/**
 * POST /password {currentPassword, newPassword}: the logged-in user changes their password.
 * 200 when changed; 400 without both passwords; 401 when nobody is logged in; 403 when the
 * current password is wrong. POOL is the process's one pool, made at start.
 */
export function passwordRoutes(pool: Pool): Router {
  const router = Router();
  router.use(express.json({ limit: "4kb" }));

  router.post("/password", async (req, res) => {
    const { userId } = req.session;
    if (userId === undefined) {
      res.status(401).json({ error: "You are not logged in." });
      return;
    }
    const passwords = readPasswords(req.body);
    if (typeof passwords === "string") {
      res.status(400).json({ error: passwords });
      return;
    }
    // Hashed before any transaction begins: the user's row is locked for as short a time as
    // can be.
    const { salt, hash } = await hashNewPassword(passwords.next);
    const user = await changePassword(pool, {
      userId,
      keepSessionId: req.sessionID,
      current: passwords.current,
      salt,
      hash,
    });
    if (!user) {
      res.status(403).json({ error: "The current password is wrong." });
      return;
    }
    // TODO 2: this browser stays logged in as USER, under a new session id.
    res.json({ changed: true });
  });

  return router;
}
