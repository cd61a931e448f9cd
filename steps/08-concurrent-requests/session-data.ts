// What this step keeps in the session, declared on express-session's SessionData interface so
// that `req.session.naiveVisits` is type-checked.
declare module "express-session" {
  interface SessionData {
    naiveVisits: number;
  }
}

export {};
