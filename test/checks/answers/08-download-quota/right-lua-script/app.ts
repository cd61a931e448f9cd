import { RedisStore } from "connect-redis";
import express from "express";
import { inspectRedis } from "../../steps/shared/inspectors.ts";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { storeErrorHandler } from "../../steps/shared/store-errors.ts";
import { visitsPage } from "../../steps/shared/visits.ts";
import { workshopSession } from "../../steps/shared/workshop-session.ts";

/** The policy: at most 3 downloads per visitor in a window of 10 minutes. */
export const DOWNLOADS_PER_WINDOW = 3;
export const WINDOW_SECONDS = 10 * 60;

export function createApp(redis: RedisClient) {
  const app = express();
  app.use(workshopSession(new RedisStore({ client: redis, prefix: "sess:" })));
  app.get("/", visitsPage("redis", inspectRedis(redis, "sess:")));

  // POST /download: 200 {"downloadsLeft": N} while the visitor has downloads left in the
  // window, then 429 with Retry-After (seconds until the window ends).
  // One script, run by Redis as one step: count, start the window if new, answer count and ms left.
  const SCRIPT = `
    local used = redis.call("INCR", KEYS[1])
    if used == 1 then redis.call("EXPIRE", KEYS[1], ARGV[1]) end
    return { used, redis.call("PTTL", KEYS[1]) }`;
  app.post("/download", async (req, res, next) => {
    try {
      const [used, msLeft] = (await redis.eval(SCRIPT, {
        keys: [`dl:${req.sessionID}`],
        arguments: [String(WINDOW_SECONDS)],
      })) as [number, number];
      if (used > DOWNLOADS_PER_WINDOW) {
        res
          .status(429)
          .set("Retry-After", String(Math.ceil(msLeft / 1000)))
          .json({ error: "Too many downloads" });
        return;
      }
      res.json({ downloadsLeft: DOWNLOADS_PER_WINDOW - used });
    } catch (error) {
      next(error);
    }
  });
  app.use(storeErrorHandler);
  return app;
}
