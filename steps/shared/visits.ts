import type { Request, Response } from "express";
import type { VisitsJson } from "../../lib/visits-contract.ts";
import type { StoreName } from "../../workshop.ts";
import { wantsJson } from "./answer.ts";
import type { Inspector } from "./inspectors.ts";
import { render } from "./render.ts";
import "./session-data.ts";
import { save } from "./session-promises.ts";
import { COOKIE_NAME } from "./session-secret.ts";

export type { VisitsJson } from "../../lib/visits-contract.ts";

/**
 * GET / : counts one visit in the session and answers with the count.
 * `Accept: application/json` gets VisitsJson; a browser gets the page, with the record the
 * store holds for this session (the "session inspector").
 */
export function visitsPage(
  store: StoreName,
  inspect: Inspector,
  /** More about where the session lives now, added to the JSON and shown on the page. */
  where: () => Pick<VisitsJson, "primary"> = () => ({}),
) {
  return async (req: Request, res: Response): Promise<void> => {
    // HEAD (a link checker, a monitor) asks for the headers only: it is not a visit, and
    // must not create a session.
    if (req.method === "HEAD") {
      res.type(wantsJson(req) ? "json" : "html").end();
      return;
    }
    // The whole lesson of sessions in one line: whatever is put on req.session is there
    // again on the next request that brings the same cookie.
    req.session.visits = (req.session.visits ?? 0) + 1;

    // Saved before answering: if the store refuses the write, this request fails (a 503, from
    // storeErrorHandler) instead of a 200 for a visit nobody kept. Left to express-session, the
    // write would happen as the response ends, after the 200 is on its way. touch() first
    // moves the cookie's expiry, as express-session does at the end, so the record written
    // (and shown on the page) has the new one. express-session still touches the session in
    // the store as the response ends: with connect-redis, that is an EXPIRE after the SET.
    req.session.touch();
    await save(req);

    const json: VisitsJson = {
      visits: req.session.visits,
      sessionId: req.sessionID,
      store,
      ...where(),
    };
    if (wantsJson(req)) {
      res.json(json);
      return;
    }
    render(res, "visits", {
      ...json,
      // A cookie came with the request, yet the session is new: the store did not know it.
      sentUnknownCookie: json.visits === 1 && sentSessionCookie(req),
      shortId: `${req.sessionID.slice(0, 8)}…`,
      cookieExpires: req.session.cookie.expires,
      record: await inspect(req.sessionID),
    });
  };
}

/** Whether the request brought a session cookie (valid or not), __Host- (step 12) or not. */
function sentSessionCookie(req: Request): boolean {
  return (req.headers.cookie ?? "")
    .split(";")
    .map((pair) => pair.trim().replace(/^__Host-/, ""))
    .some((pair) => pair.startsWith(`${COOKIE_NAME}=`));
}
