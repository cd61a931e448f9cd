import { RedisStore } from "connect-redis";
import express from "express";
import { FinalLogoutStore, redisTombstones } from "../../../steps/05-login-logout/final-logout.ts";
import { indexedLoginSession } from "../../../steps/11-my-sessions/indexed-login.ts";
import { SessionIndex } from "../../../steps/11-my-sessions/session-index.ts";
import type { RedisClient } from "../../../steps/shared/redis-client.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { workshopSession } from "../../../steps/shared/workshop-session.ts";
import "../../../steps/11-my-sessions/session-data.ts";

export function createApp(redis: RedisClient) {
  // Step 05's store, whose destroy() is final (a late write of the id is refused), and step
  // 11's index of each user's sessions, kept by the login and the logout below.
  const store = new FinalLogoutStore(
    new RedisStore({ client: redis, prefix: "sess:" }),
    redisTombstones(redis),
  );
  const index = new SessionIndex(redis, { prefix: "sess:", absoluteTimeoutMs: 8 * 3600_000 });
  const { logIn, logOut } = indexedLoginSession(index);

  const app = express();
  app.use(express.json({ limit: "4kb" }));
  app.use(workshopSession(store));

  // Given: POST /login {"username": "ada"} logs this browser in as ada. No password: this
  // exercise is about what a logged-in user may end, not about logging in.
  app.post("/login", async (req, res) => {
    const { username } = req.body ?? {};
    if (typeof username !== "string" || !/^[a-z]{1,16}$/.test(username)) {
      res.status(400).json({ error: "Send a username: 1 to 16 letters." });
      return;
    }
    await logIn(req, { id: username, username });
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
      sessions: listed.map(({ handle, device, id }) => ({
        handle,
        device,
        current: id === req.sessionID,
      })),
    });
  });

  // Given: POST /logout ends this browser's session (step 11's logout: the index follows).
  app.post("/logout", async (req, res) => {
    await logOut(req, res);
    res.json({ loggedOut: true });
  });

  // POST /sessions/end {"handle": "…"}: ends one session of the logged-in user, named by the
  // handle /sessions shows.
  // TODO 1: 401 when nobody is logged in; 400 without a handle (a string).
  // TODO 2: the handle must name a session of THIS user: another user's handle, a made-up one
  // or a session id ends nothing, and is a 404 {"error": "…"}, the same for all three.
  // TODO 3: another session of the user: ended through the store (final: store.destroy), out of
  // the index (index.remove), then 200 {"ended": 1}. A store that fails is an error (503).
  // TODO 4: this browser's own session: that is a logout (logOut), 200 {"loggedOut": true}.
  app.post("/sessions/end", async (_req, res) => {
    res.status(501).json({ error: "Not written yet." });
  });

  app.use(storeErrorHandler); // a store that fails: 503, never a 200 for work not done
  return app;
}
