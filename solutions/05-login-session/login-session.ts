import type { Request, Response } from "express";
import "../../steps/05-login-logout/session-data.ts";
import { destroy, regenerate, save } from "../../steps/05-login-logout/session-promises.ts";
import type { User } from "../../steps/05-login-logout/users.ts";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";

/** Puts USER in the session, under a new session id. */
export async function logIn(req: Request, user: User): Promise<void> {
  // A new id before the session holds a user: regenerate() deletes the old session from the
  // store, so an id someone planted or saw before the login is worth nothing after it.
  await regenerate(req);
  req.session.userId = user.id;
  req.session.username = user.username;
  req.session.loggedInAt = Date.now();
  await save(req); // saved before we answer, so that the redirect to /home finds it
}

/** Ends the session: deleted in the store, and the browser told to drop its cookie. */
export async function logOut(req: Request, res: Response): Promise<void> {
  const { path, domain, httpOnly, secure, sameSite } = req.session.cookie;
  // Deleted in Redis: a copy of the cookie (another tab, a stolen one) now points at nothing.
  await destroy(req);
  res.clearCookie(COOKIE_NAME, { path, domain, httpOnly, secure: secure === true, sameSite });
  res.set("Cache-Control", "no-store");
}
