import express, { type NextFunction, type Request, type Response, Router } from "express";
import { answerError, wantsJson } from "../shared/answer.ts";
import type { Inspector } from "../shared/inspectors.ts";
import { render } from "../shared/render.ts";
import type { LoginSession } from "./login-session.ts";
import { save } from "./session-promises.ts";
import "./session-data.ts";
import { invalidNewUser, normalizeUsername } from "./credentials.ts";
import { forgetWrongPasswords, type LoginLimits, takeATry } from "./login-limits.ts";

export { memoryLoginLimits, redisLoginLimits } from "./login-limits.ts";

import { invalidStatus, type Statuses } from "./statuses.ts";
import type { currentUser, User, UserStore } from "./users.ts";

/** One message for an unknown name and for a wrong password: it must not tell which. */
export const WRONG_CREDENTIALS = "Wrong username or password.";

/** Answers an error as {error} to API clients, and as the login page with the message to browsers. */
function fail(req: Request, res: Response, status: number, message: string): void {
  answerError(req, res, status, message, "login");
}

/** The 400 for text the database cannot store: said before any query, not a 500 after one. */
const UNSTORABLE_TEXT =
  "Text with a NUL character (U+0000) or broken Unicode cannot be stored: remove it.";

/**
 * Whether PostgreSQL can store TEXT. Its text type refuses the NUL character (U+0000), which a
 * form (%00) or JSON can carry: the query fails (22021) and the visitor gets a 500. Half a
 * surrogate pair (JSON's "\ud800") is not Unicode at all: made UTF-8 it becomes U+FFFD, in the
 * database as in the bytes scrypt hashes, so "\ud800" and "\udbff" would be one password.
 */
function storable(text: string): boolean {
  return !text.includes("\u0000") && !/\p{Cs}/u.test(text);
}

/** {username, password} from a JSON body or a form; else the message of the 400. */
function readCredentials(body: unknown): { username: string; password: string } | string {
  if (typeof body !== "object" || body === null) return "Send a username and a password.";
  const { username, password } = body as Record<string, unknown>;
  if (typeof username !== "string" || typeof password !== "string") {
    return "Send a username and a password.";
  }
  if (!storable(username) || !storable(password)) return UNSTORABLE_TEXT;
  return { username, password };
}

export interface AuthOptions {
  users: UserStore;
  /** Who is logged in (users.ts); exercise 10 passes in the learner's own. */
  currentUser: typeof currentUser;
  statuses: Statuses;
  loginSession: LoginSession;
  absoluteTimeoutMs: number;
  /** Shows the session's record in the store (Redis; PostgreSQL in step 10) on /home. */
  inspect: Inspector;
  /** Wrong passwords counted per account and per address, for every process (login-limits.ts). */
  loginLimits: LoginLimits;
}

/** Who is logged in (read from the database) and since when (from the session). */
interface Login {
  user: User;
  loggedInAt: number;
}

/** GET /login, POST /register, POST /login, GET /me, GET /home, POST /statuses, POST /logout. */
export function authRoutes(options: AuthOptions) {
  const { users, statuses, loginSession, absoluteTimeoutMs, inspect, loginLimits } = options;

  /** Who is logged in and since when; a user deleted since the login is logged out here. */
  async function loggedIn(req: Request, res: Response): Promise<Login | null> {
    const { userId, loggedInAt } = req.session;
    if (userId === undefined || loggedInAt === undefined) return null;
    const user = await options.currentUser(req, users);
    if (!user) {
      await loginSession.logOut(req, res);
      return null;
    }
    return { user, loggedInAt };
  }

  const router = Router();

  // Bodies of HTML forms and of JSON requests. A name and a password fit in a few kB; a
  // bigger body is refused (413) before anybody hashes it.
  router.use(express.json({ limit: "4kb" }), express.urlencoded({ extended: false, limit: "4kb" }));

  router.get("/login", (req, res) => {
    const notice =
      req.query.registered !== undefined
        ? "Your account is ready: log in."
        : req.query.expired !== undefined
          ? "Your login expired: log in again."
          : undefined;
    render(res, "login", { loggedInAs: req.session.username, notice });
  });

  router.post("/register", async (req, res) => {
    const credentials = readCredentials(req.body);
    if (typeof credentials === "string") return fail(req, res, 400, credentials);
    const username = normalizeUsername(credentials.username);
    const invalid = invalidNewUser(username, credentials.password);
    if (invalid) return fail(req, res, 400, invalid);

    const user = await users.register(username, credentials.password);
    if (!user) return fail(req, res, 409, `The username ${username} is taken.`);
    if (wantsJson(req)) {
      res.status(201).json({ username: user.username });
      return;
    }
    res.redirect(303, "/login?registered"); // a reload of the next page must not post again
  });

  router.post("/login", async (req, res) => {
    const credentials = readCredentials(req.body);
    if (typeof credentials === "string") return fail(req, res, 400, credentials);
    const username = normalizeUsername(credentials.username);
    // Too many wrong passwords: no more tries for a while, right or wrong (else the attacker's
    // right guess would still get in). Said before any password is hashed.
    const ip = req.ip ?? "";
    const wait = await takeATry(loginLimits, username, ip);
    if (wait > 0) {
      res.set("Retry-After", String(wait));
      return fail(req, res, 429, `Too many wrong passwords: try again in ${wait} s.`);
    }
    const user = await users.verify(username, credentials.password);
    if (!user) return fail(req, res, 401, WRONG_CREDENTIALS);
    await forgetWrongPasswords(loginLimits, username, ip);

    await loginSession.logIn(req, user);
    if (wantsJson(req)) {
      res.json({ username: user.username });
      return;
    }
    res.redirect(303, "/home");
  });

  router.get("/me", async (req, res) => {
    res.set("Cache-Control", "no-store"); // who is logged in is nobody else's business
    const login = await loggedIn(req, res);
    if (!login) {
      res.status(401).json({ error: "You are not logged in." });
      return;
    }
    const { user, loggedInAt } = login;
    res.json({ username: user.username, loggedInAt: new Date(loggedInAt).toISOString() });
  });

  router.get("/home", async (req, res) => {
    const login = await loggedIn(req, res);
    if (!login) {
      res.redirect(303, "/login");
      return;
    }
    const { user, loggedInAt } = login;
    res.set("Cache-Control", "no-store"); // after logout, Back must not show this page
    // The inspector shows what the store holds now: this request's new expiry (rolling) is
    // written first, as GET / does. Left to express-session, it would be written after the
    // page, which would show the expiry of the request before (after a login: the login's).
    req.session.touch();
    await save(req);
    render(res, "home", {
      username: user.username,
      userId: user.id,
      shortId: `${req.sessionID.slice(0, 8)}…`,
      loggedInAt: new Date(loggedInAt),
      loginEnds: new Date(loggedInAt + absoluteTimeoutMs),
      cookieExpires: req.session.cookie.expires,
      statuses: await statuses.latest(user.id),
      record: await inspect(req.sessionID),
    });
  });

  router.post("/statuses", async (req, res) => {
    const user = (await loggedIn(req, res))?.user;
    if (!user) return fail(req, res, 401, "You are not logged in.");
    const { body } = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== "string") return answerError(req, res, 400, "Send the status as body.");
    if (!storable(body)) return answerError(req, res, 400, UNSTORABLE_TEXT);
    const invalid = invalidStatus(body.trim());
    if (invalid) return answerError(req, res, 400, invalid);
    await statuses.post(user.id, body.trim());
    if (wantsJson(req)) {
      res.status(201).json({ statuses: await statuses.latest(user.id) });
      return;
    }
    res.redirect(303, "/home");
  });

  router.post("/logout", async (req, res) => {
    await loginSession.logOut(req, res);
    if (wantsJson(req)) {
      res.json({ loggedOut: true });
      return;
    }
    res.redirect(303, "/login");
  });

  return router;
}

/**
 * A body the parsers could not read (malformed JSON, a broken gzip stream, too large, an
 * unknown charset or encoding) arrives here as an error with a 4xx `status` (400, 413, 415),
 * and `type` for most. It is the client's mistake: answer that status with a message, never
 * the stack trace of Express's default error page, and never the 500 of storeErrorHandler.
 */
export function badRequestBody(
  error: Error & { status?: number; type?: string },
  req: Request,
  res: Response,
  next: NextFunction,
): void {
  const status = error.status ?? 500;
  if (status < 400 || status >= 500) {
    next(error);
    return;
  }
  const message =
    error.type === "entity.parse.failed"
      ? "The request body is not valid JSON."
      : error.type === "entity.too.large"
        ? "The request body is too large."
        : "The request body could not be read.";
  fail(req, res, status, message);
}
