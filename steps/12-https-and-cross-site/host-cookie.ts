import type { Request, Response } from "express";
import { destroy } from "../shared/session-promises.ts";
import { COOKIE_NAME } from "../shared/session-secret.ts";

/**
 * The session cookie's name behind HTTPS. A browser keeps a cookie whose name starts with
 * __Host- only if it came over HTTPS marked Secure, with Path=/ and no Domain: so no
 * subdomain and no plain-HTTP page can plant one or overwrite it (ASVS 5.0 asks for it).
 */
export const HOST_COOKIE_NAME = `__Host-${COOKIE_NAME}`;

/** Step 05's logOut, for the cookie of this name: a cookie is cleared by its own name only. */
export async function logOut(req: Request, res: Response): Promise<void> {
  const { path, httpOnly, sameSite } = req.session.cookie;
  if (req.get("cookie")?.includes(req.sessionID)) await destroy(req);
  // The clearing cookie obeys the rules too: without Secure the browser ignores it, and
  // without Partitioned it clears the unpartitioned cookie of that name, not this one.
  res.clearCookie(HOST_COOKIE_NAME, { path, httpOnly, secure: true, sameSite, partitioned: true });
  res.set("Cache-Control", "no-store");
}
