import type { Request, Response } from "express";
import { render } from "./render.ts";

/**
 * Whether to answer this request with JSON (an API client: a JSON body, or an Accept header
 * that prefers JSON) or with a page (a browser). Decided here, once, for every step.
 */
export function wantsJson(req: Request): boolean {
  return Boolean(req.is("json")) || req.accepts(["html", "json"]) === "json";
}

/**
 * Answers an error: `{error: MESSAGE}` to an API client, the page VIEW (default: the error
 * page) with the message to a browser.
 */
export function answerError(
  req: Request,
  res: Response,
  status: number,
  message: string,
  view = "error",
): void {
  res.status(status);
  if (wantsJson(req)) {
    res.json({ error: message });
    return;
  }
  render(res, view, { status, message, error: message });
}
