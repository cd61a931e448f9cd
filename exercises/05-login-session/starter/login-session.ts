import type { Request, Response } from "express";
import "../../../steps/05-login-logout/session-data.ts";
import { save } from "../../../steps/05-login-logout/session-promises.ts";
import type { User } from "../../../steps/05-login-logout/users.ts";
import { COOKIE_NAME } from "../../../steps/shared/session-secret.ts";

/** Puts USER in the session, under a new session id. */
export async function logIn(req: Request, user: User): Promise<void> {
  // TODO 1: the session this request came with existed before the login: whoever knew its id
  // then must not be logged in now. Log the user in under a new session id, with the old
  // session gone from the store. What the visitor did before logging in (their visit count)
  // comes with them into the new session; nothing else of the old one does.
  req.session.userId = user.id;
  req.session.username = user.username;
  req.session.loggedInAt = Date.now();
  // Saved before we answer, so that the next request (after a redirect) finds it.
  await save(req);
}

/** Ends the session: deleted in the store, and the browser told to drop its cookie. */
export async function logOut(req: Request, res: Response): Promise<void> {
  // A browser drops only the cookie whose name, path and domain match.
  const { path, domain, httpOnly, secure, sameSite } = req.session.cookie;
  // TODO 2: this only asks the browser to forget the cookie; the session is still in the
  // store, so any copy of the cookie still logs in. The answer must come once the store has
  // forgotten the session, and must not say "logged out" if it could not.
  res.clearCookie(COOKIE_NAME, { path, domain, httpOnly, secure: secure === true, sameSite });
  // The answer and the pages before it must not be served again from a cache.
  res.set("Cache-Control", "no-store");
}
