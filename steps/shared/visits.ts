import type { Request, Response } from "express";
import type { VisitsJson } from "../../lib/visits-contract.ts";
import type { StoreName } from "../../workshop.ts";
import type { Inspector } from "./inspectors.ts";
import { render } from "./render.ts";
import "./session-data.ts";

export type { VisitsJson } from "../../lib/visits-contract.ts";

/**
 * GET / : counts one visit in the session and answers with the count.
 * `Accept: application/json` gets VisitsJson; a browser gets the page, with the record the
 * store holds for this session (the "session inspector").
 */
export function visitsPage(store: StoreName, inspect: Inspector) {
  return async (req: Request, res: Response): Promise<void> => {
    // The whole lesson of sessions in one line: whatever is put on req.session is there
    // again on the next request that brings the same cookie.
    req.session.visits = (req.session.visits ?? 0) + 1;

    const json: VisitsJson = { visits: req.session.visits, sessionId: req.sessionID, store };
    if (req.accepts(["html", "json"]) === "json") {
      res.json(json);
      return;
    }
    // Save now (express-session would save when the response ends) so that the inspector
    // shows the record as it is after this visit.
    await new Promise<void>((resolve, reject) =>
      req.session.save((error) => (error ? reject(error) : resolve())),
    );
    render(res, "visits", {
      ...json,
      shortId: `${req.sessionID.slice(0, 8)}…`,
      cookieExpires: req.session.cookie.expires,
      record: await inspect(req.sessionID),
    });
  };
}
