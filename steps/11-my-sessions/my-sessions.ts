import express, { type Request, type Response, Router } from "express";
import type { LoginSession } from "../05-login-logout/login-session.ts";
import type { currentUser, UserStore } from "../05-login-logout/users.ts";
import { answerError, wantsJson } from "../shared/answer.ts";
import { render } from "../shared/render.ts";
import type { ListedSession, SessionIndex } from "./session-index.ts";
import "./session-data.ts";

export interface MySessionsOptions {
  users: UserStore;
  currentUser: typeof currentUser;
  index: SessionIndex;
  loginSession: LoginSession;
}

const NOT_LOGGED_IN = "You are not logged in.";

/** A session as its owner sees it: a handle, never the id. */
function shown(session: ListedSession, req: Request) {
  return {
    handle: session.handle,
    device: session.device,
    loggedInAt: new Date(session.loggedInAt).toISOString(),
    lastSeenAt: new Date(session.lastSeenAt).toISOString(),
    current: session.id === req.sessionID,
  };
}

/** Ends the sessions of IDS through the store: step 05's destroy, final against late writes. */
function destroyInStore(req: Request, ids: string[]): Promise<unknown> {
  return Promise.all(
    ids.map(
      (id) =>
        new Promise<void>((resolve, reject) =>
          req.sessionStore.destroy(id, (error) => (error ? reject(error) : resolve())),
        ),
    ),
  );
}

/** GET /sessions; POST /sessions/end {handle}; POST /sessions/end-others. */
export function mySessionsRoutes(options: MySessionsOptions): Router {
  const { users, index, loginSession } = options;
  const router = Router();
  router.use(express.json({ limit: "4kb" }), express.urlencoded({ extended: false, limit: "4kb" }));

  /** Answers how many sessions were ended: JSON, or back to the list. */
  function ended(req: Request, res: Response, count: number): void {
    if (wantsJson(req)) res.json({ ended: count });
    else res.redirect(303, "/sessions");
  }

  router.get("/sessions", async (req, res) => {
    res.set("Cache-Control", "no-store"); // a list of someone's devices is theirs only
    const user = await options.currentUser(req, users);
    if (!user) return answerError(req, res, 401, NOT_LOGGED_IN, "login");
    const listed = (await index.list(user.id)).map((session) => shown(session, req));
    const sessions = [...listed.filter((s) => s.current), ...listed.filter((s) => !s.current)];
    if (wantsJson(req)) {
      res.json({ sessions });
      return;
    }
    // The view lives in this step's folder (views/sessions.pug), beside the shared ones.
    render(res, "sessions", { username: user.username, sessions });
  });

  router.post("/sessions/end", async (req, res) => {
    const user = await options.currentUser(req, users);
    if (!user) return answerError(req, res, 401, NOT_LOGGED_IN);
    const { handle } = (req.body ?? {}) as Record<string, unknown>;
    if (typeof handle !== "string") return answerError(req, res, 400, "Send the handle to end.");
    // Looked up among this user's sessions only: another user's handle is not found, exactly
    // like a made-up one (404), and nothing is ended.
    const mine = await index.list(user.id);
    const target = mine.find((session) => session.handle === handle);
    if (!target) return answerError(req, res, 404, "You have no session with that handle.");
    if (target.id === req.sessionID) {
      await loginSession.logOut(req, res); // ending this session is logging out
      if (wantsJson(req)) res.json({ loggedOut: true });
      else res.redirect(303, "/login");
      return;
    }
    await destroyInStore(req, [target.id]);
    await index.remove(user.id, target.id);
    ended(req, res, 1);
  });

  router.post("/sessions/end-others", async (req, res) => {
    const user = await options.currentUser(req, users);
    if (!user) return answerError(req, res, 401, NOT_LOGGED_IN);
    const others = (await index.list(user.id))
      .map((session) => session.id)
      .filter((id) => id !== req.sessionID);
    await destroyInStore(req, others);
    await index.remove(user.id, ...others);
    ended(req, res, others.length);
  });

  return router;
}
