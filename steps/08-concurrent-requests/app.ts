import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import { wantsJson } from "../shared/answer.ts";
import { inspectRedis } from "../shared/inspectors.ts";
import type { RedisClient } from "../shared/redis-client.ts";
import { render } from "../shared/render.ts";
import { save } from "../shared/session-promises.ts";
import { COOKIE_NAME, sessionSecrets } from "../shared/session-secret.ts";
import { storeErrorHandler } from "../shared/store-errors.ts";
import "./session-data.ts";
import { pause, thinkTime } from "./think-time.ts";
import { countersKey, countVisit } from "./visit-counter.ts";

export function createApp(redis: RedisClient) {
  const store = new RedisStore({
    client: redis, // a connected node-redis client (see server.ts)
    prefix: "sess:", // each session is the key sess:<id>; `redis-cli --scan --pattern 'sess:*'`
    // Seconds to live, used only for a session whose cookie has no expiry. A cookie with
    // maxAge wins: connect-redis sets the key's TTL to the time left until cookie.expires.
    ttl: 30 * 60,
  });

  const app = express();
  app.use(
    session({
      store,
      name: COOKIE_NAME, // the cookie's name; the default, connect.sid, tells the world what runs here
      secret: sessionSecrets(), // signs the cookie so a forged id is rejected
      resave: false, // don't write a session back to the store when nothing in it changed
      saveUninitialized: false, // don't store (or set a cookie for) sessions nobody wrote to
      cookie: {
        httpOnly: true, // page scripts cannot read the cookie: an XSS cannot steal the session
        sameSite: "lax", // not sent on cross-site POSTs: a first line of defence against CSRF
        secure: "auto", // Secure when the request came over HTTPS
        maxAge: 30 * 60 * 1000, // 30 minutes, in milliseconds: also the Redis key's TTL
      },
    }),
  );

  const inspect = inspectRedis(redis, "sess:");
  app.get("/", async (req, res) => {
    // A HEAD (Express answers it with the GET route) asks for the headers only: not a visit,
    // and no session for it (steps/shared/visits.ts does the same for the other steps).
    if (req.method === "HEAD") {
      res.type(wantsJson(req) ? "json" : "html").end();
      return;
    }
    // The naive counter, as every step so far counted: express-session loaded the whole
    // session when the request came in; we add one to what it read, and the whole session is
    // written back (below). Requests of the same browser that overlap all read the same
    // number, and the last one to write wins: updates are lost.
    const naiveBefore = req.session.naiveVisits ?? 0;
    await pause(thinkTime(req)); // ?think=MS widens the gap, as a slow request would
    req.session.naiveVisits = naiveBefore + 1;

    // The exact counter: one atomic HINCRBY in Redis, never a read-modify-write in Node.
    const visits = await countVisit(redis, req.sessionID, req.session.cookie.maxAge ?? 0);

    // Write the session back now, as every step does (a refused write is a 503, not a 200):
    // the race is already lost or won, since the session was read when the request came in.
    req.session.touch();
    await save(req);

    const json = { visits, sessionId: req.sessionID, store: "redis" as const };
    if (wantsJson(req)) {
      res.json({ ...json, naiveVisits: req.session.naiveVisits });
      return;
    }
    render(res, "concurrency", {
      ...json,
      naiveVisits: req.session.naiveVisits,
      countersKey: countersKey(req.sessionID),
      counters: await redis.hGetAll(countersKey(req.sessionID)),
      record: await inspect(req.sessionID),
    });
  });
  app.use(storeErrorHandler);
  return app;
}
