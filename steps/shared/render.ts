import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Response } from "express";
import pug from "pug";
import { orientation } from "./current-step.ts";

const viewsDir = join(dirname(fileURLToPath(import.meta.url)), "views");
const compiled = new Map<string, pug.compileTemplate>();

/**
 * Renders `steps/shared/views/NAME.pug` with `locals` and sends it as the response. Every page
 * also gets `pid`, the process that answered (the footer shows it; step 06 runs several), and
 * `here`: which step this is and what comes next (the bar at the top), and `pretty`, which
 * indents a stored record's JSON for the session inspector.
 */
export function render(res: Response, name: string, locals: Record<string, unknown>): void {
  let template = compiled.get(name);
  if (!template) {
    template = pug.compileFile(join(viewsDir, `${name}.pug`));
    compiled.set(name, template);
  }
  res.type("html").send(template({ pid: process.pid, here: orientation(), pretty, ...locals }));
}

/** RAW indented, when it is JSON (what most stores keep); as it is otherwise. */
function pretty(raw: string): string {
  try {
    return JSON.stringify(JSON.parse(raw), null, 2);
  } catch {
    return raw;
  }
}
