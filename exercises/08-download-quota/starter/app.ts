import { RedisStore } from "connect-redis";
import express from "express";
import { inspectRedis } from "../../../steps/shared/inspectors.ts";
import type { RedisClient } from "../../../steps/shared/redis-client.ts";
import { storeErrorHandler } from "../../../steps/shared/store-errors.ts";
import { visitsPage } from "../../../steps/shared/visits.ts";
import { workshopSession } from "../../../steps/shared/workshop-session.ts";

/** The policy: at most 3 downloads per visitor in a window of 10 minutes. */
export const DOWNLOADS_PER_WINDOW = 3;
export const WINDOW_SECONDS = 10 * 60;

declare module "express-session" {
  interface SessionData {
    downloads: number;
  }
}

export function createApp(redis: RedisClient) {
  const app = express();
  app.use(workshopSession(new RedisStore({ client: redis, prefix: "sess:" })));
  app.get("/", visitsPage("redis", inspectRedis(redis, "sess:")));

  // POST /download: 200 {"downloadsLeft": N} while the visitor has downloads left in the
  // window, then 429 with Retry-After (seconds until the window ends).
  // TODO 1: requests sent at the same time, to one process or to several, must not be able to
  // undo each other's count.
  // TODO 2: the window starts at the visitor's first download and lasts WINDOW_SECONDS;
  // attempts in the window do not move its end. Then the visitor starts again from zero.
  // TODO 3: Retry-After says how many seconds are left in this visitor's window.
  app.post("/download", (req, res) => {
    const used = req.session.downloads ?? 0;
    if (used >= DOWNLOADS_PER_WINDOW) {
      res
        .status(429)
        .set("Retry-After", String(WINDOW_SECONDS))
        .json({ error: "Too many downloads" });
      return;
    }
    req.session.downloads = used + 1;
    res.json({ downloadsLeft: DOWNLOADS_PER_WINDOW - used - 1 });
  });
  app.use(storeErrorHandler);
  return app;
}
