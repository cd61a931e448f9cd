import type { RequestHandler } from "express";
import type { LoginSession } from "../05-login-logout/login-session.ts";
import { wantsJson } from "../shared/answer.ts";
import type { SessionIndex } from "./session-index.ts";
import "./session-data.ts";

/**
 * Runs on every request of a logged-in session, after express-session has loaded it.
 *
 * A session that logged in before its user's mark (set by a password change) is over: it is
 * destroyed here, as a logout, and the request is refused. This is what makes the revocation
 * final. A request that loaded the session just before the revocation can still write it back
 * as it ends (step 08's race: express-session saves the whole object it loaded); that copy
 * lives on in Redis, but the next request it carries lands here, and ends it.
 * Cost: one GET per request of a logged-in user.
 *
 * A session still valid moves in its user's index: its expiry rolls with this request.
 * Cost: one MULTI (ZADD, PEXPIREAT) per request of a logged-in user.
 */
export function sessionsValidAfterMark(
  index: SessionIndex,
  logOut: LoginSession["logOut"],
): RequestHandler {
  return async (req, res, next) => {
    const { userId, loggedInAt } = req.session;
    if (userId === undefined || loggedInAt === undefined) {
      next();
      return;
    }
    if (loggedInAt < (await index.validAfter(userId))) {
      await logOut(req, res);
      if (wantsJson(req)) {
        res.status(401).json({ error: "This session was ended. Log in again." });
        return;
      }
      res.redirect(303, "/login");
      return;
    }
    req.session.touch(); // the expiry this answer gives the session (rolling: true)
    await index.seen(userId, req.sessionID, req.session.cookie.expires?.getTime() ?? Date.now());
    next();
  };
}
