// What step 11 adds to a logged-in session, beside step 05's userId, username and loggedInAt.
import "../05-login-logout/session-data.ts";

declare module "express-session" {
  interface SessionData {
    /**
     * What /sessions calls this session: random, made at login. Never the session id: whoever
     * holds an id holds the session, so an id is never shown, even to its owner.
     */
    handle: string;
    /** "Firefox on Linux": a short label made from the User-Agent at login, never the header. */
    device: string;
  }
}
