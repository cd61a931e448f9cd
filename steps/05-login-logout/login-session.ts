import type { Request, Response } from "express";
import { COOKIE_NAME } from "../shared/session-secret.ts";
import "./session-data.ts";
import { destroy, regenerate, save } from "./session-promises.ts";
import type { User } from "./users.ts";

/** The two moments a session changes hands. */
export interface LoginSession {
  logIn(req: Request, user: User): Promise<void>;
  logOut(req: Request, res: Response): Promise<void>;
}

/** Puts USER in the session, under a new session id. */
export async function logIn(req: Request, user: User): Promise<void> {
  // Session fixation: an id that existed before the login (planted by an attacker, or seen on
  // a shared computer) must not become a logged-in id. regenerate() deletes the old session
  // from the store and gives this request a new, empty one with a new id.
  await regenerate(req);
  req.session.userId = user.id;
  req.session.username = user.username;
  req.session.loggedInAt = Date.now();
  // Saved before we answer, so that the next request (after a redirect) finds it.
  await save(req);
}

/** Ends the session: deleted in the store, and the browser told to drop its cookie. */
export async function logOut(req: Request, res: Response): Promise<void> {
  // The cookie's attributes, read before the session is gone: a browser drops only the cookie
  // whose name, path and domain match. (secure: "auto" became true or false at its creation.)
  const { path, domain, httpOnly, secure, sameSite } = req.session.cookie;
  // The server forgets the id: whoever still holds the old cookie holds nothing. An id the
  // cookie did not bring (express-session's new one: no cookie, or one the store did not know)
  // was never stored: destroying it would only lay a tombstone per anonymous POST /logout.
  if (req.get("cookie")?.includes(req.sessionID)) await destroy(req);
  res.clearCookie(COOKIE_NAME, { path, domain, httpOnly, secure: secure === true, sameSite });
  // The answer and the pages before it must not be served again from a cache.
  res.set("Cache-Control", "no-store");
}
