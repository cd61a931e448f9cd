import { randomBytes } from "node:crypto";
import { type LoginSession, logIn, logOut } from "../05-login-logout/login-session.ts";
import { save } from "../05-login-logout/session-promises.ts";
import { deviceLabel } from "./device-label.ts";
import type { SessionIndex } from "./session-index.ts";
import "./session-data.ts";

/** Step 05's login and logout, with the user's index of sessions kept up to date. */
export function indexedLoginSession(index: SessionIndex): LoginSession {
  return {
    async logIn(req, user) {
      await logIn(req, user); // step 05: a new id, who and since when, saved
      // What /sessions shows of it: a handle to name it by (random: it says nothing of the
      // id), and the device. Saved once more: a second write, once per login.
      req.session.handle = randomBytes(16).toString("base64url");
      req.session.device = deviceLabel(req.get("user-agent"));
      await save(req);
      await index.seen(user.id, req.sessionID, req.session.cookie.expires?.getTime() ?? 0);
    },

    async logOut(req, res) {
      const { userId } = req.session;
      const id = req.sessionID;
      await logOut(req, res); // step 05: destroyed (for good), the cookie cleared
      if (userId !== undefined) await index.remove(userId, id);
    },
  };
}
