import type { RequestHandler } from "express";
import { wantsJson } from "../shared/answer.ts";
import type { LoginSession } from "./login-session.ts";
import "./session-data.ts";

/**
 * Ends a login MAX_AGE_MS after it began, however active the user has been since.
 *
 * express-session has only an idle timeout: with `rolling: true` every request pushes the
 * cookie's expiry (and the store's TTL) further, so a stolen cookie that is used now and then
 * would live forever. This check runs on every request and puts a ceiling on that.
 */
export function absoluteTimeout(maxAgeMs: number, logOut: LoginSession["logOut"]): RequestHandler {
  return async (req, res, next) => {
    const { loggedInAt } = req.session;
    if (loggedInAt === undefined || Date.now() - loggedInAt < maxAgeMs) {
      next();
      return;
    }
    await logOut(req, res); // deleted in the store, not only forgotten by this browser
    if (wantsJson(req)) {
      res.status(401).json({ error: "Your login has expired. Log in again." });
      return;
    }
    res.redirect(303, "/login?expired");
  };
}
