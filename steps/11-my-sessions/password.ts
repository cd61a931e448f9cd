import express, { Router } from "express";
import type { Pool } from "pg";
import { hashNewPassword } from "../05-login-logout/credentials.ts";
import {
  forgetWrongPasswords,
  type LoginLimits,
  takeATry,
} from "../05-login-logout/login-limits.ts";
import type { LoginSession } from "../05-login-logout/login-session.ts";
import { currentUser, Users } from "../05-login-logout/users.ts";
import { answerError, wantsJson } from "../shared/answer.ts";
import type { SessionIndex } from "./session-index.ts";

/** Why NEXT cannot be the new password (step 05's rules for a password), or null. */
function invalidPassword(next: string): string | null {
  if (next.length < 8 || next.length > 128) return "A new password is 8 to 128 characters long.";
  // A NUL, or half a surrogate pair: refused at login (step 05), so never a password.
  return next.includes("\u0000") || /\p{Cs}/u.test(next)
    ? "That password holds a character we refuse."
    : null;
}

/**
 * POST /password {currentPassword, newPassword}. A password changes when the user fears it is
 * known: every session logged in with the old one must end, those of other devices and this
 * one, even a request of theirs that is under way (ASVS 5.0: terminate all other sessions
 * after a change of an authentication factor). This browser has just typed the current
 * password, a login in all but name: it is logged in again, under a new id.
 */
export function passwordRoutes(options: {
  pool: Pool;
  index: SessionIndex;
  loginSession: LoginSession;
  loginLimits: LoginLimits;
}): Router {
  const { pool, index, loginSession, loginLimits } = options;
  const users = new Users(pool);
  const router = Router();
  router.use(express.json({ limit: "4kb" }), express.urlencoded({ extended: false, limit: "4kb" }));

  router.post("/password", async (req, res) => {
    const user = await currentUser(req, users);
    if (!user) return answerError(req, res, 401, "You are not logged in.");
    const body = (req.body ?? {}) as Record<string, unknown>;
    const [current, next] = [body.currentPassword, body.newPassword];
    if (typeof current !== "string" || typeof next !== "string") {
      return answerError(req, res, 400, "Send your currentPassword and a newPassword.");
    }
    const invalid = invalidPassword(next);
    if (invalid) return answerError(req, res, 400, invalid);
    // Wrong current passwords count as wrong logins: a stolen cookie must not become a way
    // to guess the password without limit.
    const ip = req.ip ?? "";
    const wait = await takeATry(loginLimits, user.username, ip);
    if (wait > 0) return answerError(req, res, 429, `Too many wrong passwords: wait ${wait} s.`);
    if (!(await users.verify(user.username, current))) {
      return answerError(req, res, 403, "Your current password is wrong.");
    }
    await forgetWrongPasswords(loginLimits, user.username, ip);

    const { salt, hash } = await hashNewPassword(next);
    await pool.query("UPDATE users SET password_salt = $2, password_hash = $3 WHERE id = $1", [
      user.id,
      salt,
      hash,
    ]);
    // Every session of the user ends, this one too: the mark, then the sessions the index
    // knows. From here on no old password logs in; what logged in with it is over.
    await index.endAll(user.id);
    await loginSession.logIn(req, user); // this browser again, under a new id, after the mark
    if (wantsJson(req)) {
      res.json({ passwordChanged: true });
      return;
    }
    res.redirect(303, "/sessions");
  });

  return router;
}
