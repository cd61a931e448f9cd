// What step 05 adds to a session: who is logged in and since when. express-session types
// `req.session` from this interface (steps/shared/session-data.ts already added `visits`).
declare module "express-session" {
  interface SessionData {
    /** The user's own id: it never changes, unlike the session id. */
    userId: string;
    username: string;
    /** When the user logged in (ms since 1970): the start of the absolute timeout. */
    loggedInAt: number;
  }
}

export {};
