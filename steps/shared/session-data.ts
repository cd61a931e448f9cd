// What the workshop keeps in a session. express-session types `req.session` from this
// interface, so every step can write `req.session.visits` with its type checked.
declare module "express-session" {
  interface SessionData {
    visits: number;
  }
}

export {};
