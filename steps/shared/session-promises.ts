import type { Request } from "express";

// express-session's methods take callbacks; these three await them instead.

/** A new, empty session with a new id; the old session is deleted from the store. */
export function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.regenerate((error) => (error ? reject(error) : resolve())),
  );
}

/** Writes the session to the store now, instead of when the response ends. */
export function save(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.save((error) => (error ? reject(error) : resolve())),
  );
}

/** Deletes the session from the store; `req.session` is gone afterwards. */
export function destroy(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.destroy((error) => (error ? reject(error) : resolve())),
  );
}
