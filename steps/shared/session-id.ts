/**
 * The shape of every session id the workshop hands out: express-session's default `genid` is
 * uid-safe with 24 random bytes, which is 32 characters of base64url ([A-Za-z0-9_-]).
 *
 * A store turns the id into a file name, a Redis key or a document id. An id of any other shape
 * (`../victim/tsconfig`, 5,000 characters, a NUL byte) never came from us: treating it as
 * "no such session" means a visitor who sends one gets a fresh session, and no store ever sees
 * it as a path or a key.
 */
export const SESSION_ID_SHAPE = /^[A-Za-z0-9_-]{32}$/;

export function isSessionId(id: unknown): id is string {
  return typeof id === "string" && SESSION_ID_SHAPE.test(id);
}

/** The session id inside a signed cookie value `s%3A<id>.<signature>` (or `s:<id>.<sig>`). */
export function sessionIdOfCookie(cookieValue: string): string {
  const value = decodeURIComponent(cookieValue);
  return value.startsWith("s:") ? value.slice(2, value.lastIndexOf(".")) : "";
}
