import type { Request } from "express";

/**
 * `?think=MS` (at most 2 s): how long the request pauses between reading the session and
 * writing it back, as a request that calls a slow service would. Only there for the demo and
 * the tests: it makes the lost updates of the naive counter happen every time, not by luck.
 */
export function thinkTime(req: Request): number {
  const ms = Number(req.query.think ?? 0);
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, 2000) : 0;
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
