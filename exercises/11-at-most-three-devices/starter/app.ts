import { RedisStore } from "connect-redis";
import express, { type Request } from "express";
import { FinalLogoutStore, redisTombstones } from "../../../steps/05-login-logout/final-logout.ts";
import { indexedLoginSession } from "../../../steps/11-my-sessions/indexed-login.ts";
import { SessionIndex } from "../../../steps/11-my-sessions/session-index.ts";
import { sessionsValidAfterMark } from "../../../steps/11-my-sessions/valid-after.ts";
import type { RedisClient } from "../../../steps/shared/redis-client.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { workshopSession } from "../../../steps/shared/workshop-session.ts";
import "../../../steps/11-my-sessions/session-data.ts";

/** How many sessions one user may have at once. */
export const SESSIONS_PER_USER = 3;

export function createApp(redis: RedisClient) {
  // Step 05's store, whose destroy() is final (a late write of the id is refused), and step
  // 11's index of each user's sessions: user-sessions:<user id>, a sorted set whose members
  // are session ids and whose scores are their expiries (last seen + maxAge, in ms).
  const store = new FinalLogoutStore(
    new RedisStore({ client: redis, prefix: "sess:" }),
    redisTombstones(redis),
  );
  const index = new SessionIndex(redis, { prefix: "sess:", absoluteTimeoutMs: 8 * 3600_000 });
  const { logIn, logOut } = indexedLoginSession(index);

  const app = express();
  app.use(express.json({ limit: "4kb" }));
  app.use(workshopSession(store));
  // Given: every request of a logged-in session moves it in the index: its score becomes
  // this request's time + maxAge (step 11). The lowest score is the least recently seen.
  app.use(sessionsValidAfterMark(index, logOut));

  // A login beyond SESSIONS_PER_USER ends the user's least recently seen other sessions.
  // Called by POST /login once this browser's new session is in USER_ID's index.
  // TODO 1: which go: every session of the user but the SESSIONS_PER_USER seen last (this
  // login is one of them, and never goes). The index's scores say who was seen last.
  // TODO 2: each one ends through the store (store.destroy: final, so that a request of that
  // browser already under way cannot write it back), then leaves the index (index.remove).
  // Wait for both before the login answers.
  // TODO 3: two logins of one user at the same moment must still leave SESSIONS_PER_USER:
  // choose what to end only once this login is in the index, and never from a count
  // taken before it.
  // TODO 4: a destroy that fails is an error, passed on (the login must not answer 200): a
  // session that could not be ended stays in the index, where the next login finds it again.
  async function endLeastRecentlySeen(_req: Request, _userId: string): Promise<void> {}

  // Given: POST /login {"username": "ada"} logs this browser in as ada. No password: this
  // exercise is about how many sessions a user keeps, not about logging in.
  app.post("/login", async (req, res) => {
    const { username } = req.body ?? {};
    if (typeof username !== "string" || !/^[a-z]{1,16}$/.test(username)) {
      res.status(400).json({ error: "Send a username: 1 to 16 letters." });
      return;
    }
    // A browser logged in already: its old session ends at this login (regenerate). It
    // leaves the index first, so that a login of the same user at once never counts it.
    const { userId } = req.session;
    if (userId !== undefined) await index.remove(userId, req.sessionID);
    await logIn(req, { id: username, username }); // a new id, added to the index
    await endLeastRecentlySeen(req, username);
    res.json({ username });
  });

  // Given: GET /me says who this browser is logged in as; 401 when nobody (or when its
  // session was ended).
  app.get("/me", (req, res) => {
    const { username } = req.session;
    if (username === undefined) {
      res.status(401).json({ error: "You are not logged in." });
      return;
    }
    res.json({ username });
  });

  // Given: GET /sessions lists the user's sessions by handle, never by id (step 11).
  app.get("/sessions", async (req, res) => {
    const { userId } = req.session;
    if (userId === undefined) {
      res.status(401).json({ error: "You are not logged in." });
      return;
    }
    const listed = await index.list(userId);
    res.json({
      sessions: listed.map(({ handle, device, lastSeenAt, id }) => ({
        handle,
        device,
        lastSeenAt: new Date(lastSeenAt).toISOString(),
        current: id === req.sessionID,
      })),
    });
  });

  // Given: POST /logout ends this browser's session (step 11's logout: the index follows).
  app.post("/logout", async (req, res) => {
    await logOut(req, res);
    res.json({ loggedOut: true });
  });

  app.use(storeErrorHandler); // a store that fails: 503, never a 200 for work not done
  return app;
}
