import type { Request, Response } from "express";
import "../../steps/05-login-logout/session-data.ts";
import { save } from "../../steps/05-login-logout/session-promises.ts";
import type { User } from "../../steps/05-login-logout/users.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";

/** Puts USER in the session, under a new session id. */
export async function logIn(req: Request, user: User): Promise<void> {
  // TODO 1: the session this request came with existed before the login. Give the user a new
  // session id (and delete the old session from the store) before putting them in it.
  // Hint: `regenerate` in steps/05-login-logout/session-promises.ts; import it next to `save`.
  req.session.userId = user.id;
  req.session.username = user.username;
  req.session.loggedInAt = Date.now();
  await save(req); // saved before we answer, so that the redirect to /home finds it
}

/** Ends the session: deleted in the store, and the browser told to drop its cookie. */
export async function logOut(req: Request, res: Response): Promise<void> {
  const { path, domain, httpOnly, secure, sameSite } = req.session.cookie;
  // TODO 2: this only asks the browser to forget the cookie; the session is still in Redis, so
  // any copy of the cookie still logs in. Delete the session on the server first: `destroy`,
  // from the same file as `save`.
  res.clearCookie(COOKIE_NAME, { path, domain, httpOnly, secure: secure === true, sameSite });
  res.set("Cache-Control", "no-store");
}
