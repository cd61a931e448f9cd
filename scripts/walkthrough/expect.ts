/**
 * Compares the real output of a command with the lines a walkthrough expects (`# => ...`).
 *
 * In an expected line:
 *   <id>  <int>  <int 90..100>  <hex>  <any>   stand for a value that varies
 *   <id as $ID>                                 ...and remember it as $ID
 *   $ID                                         a value remembered earlier, literally
 *   /regex/                                     (the whole line) a regular expression
 *   ...                                         (the whole line) any number of lines, even none
 * Leading and trailing spaces are ignored on both sides, and so is the padding of list indexes.
 */

export type Variables = Map<string, string>;

export type Verdict = { ok: true; captured: Variables } | { ok: false; problem: string };

const PLACEHOLDER = /<(id|int|hex|any)(?: (-?\d+)\.\.(-?\d+))?(?: as \$(\w+))?>|\$(\w+)/g;

const PATTERN_OF_KIND: Record<string, string> = {
  id: "[\\w-]+",
  int: "-?\\d+",
  hex: "[0-9a-f]+",
  any: ".*",
};

interface Capture {
  name?: string;
  range?: [number, number];
}

interface LinePattern {
  source: string;
  regex: RegExp;
  captures: Capture[];
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function compileLine(expected: string, variables: Variables): LinePattern | "skip" {
  if (expected === "...") return "skip";
  const slashed = /^\/(.*)\/$/.exec(expected);
  if (slashed) return { source: expected, regex: new RegExp(`^(?:${slashed[1]})$`), captures: [] };

  const captures: Capture[] = [];
  let pattern = "";
  let rest = 0;
  for (const match of expected.matchAll(PLACEHOLDER)) {
    pattern += escapeRegex(expected.slice(rest, match.index));
    rest = match.index + match[0].length;
    const [, kind, from, to, name, variable] = match;
    if (variable !== undefined) {
      const value = variables.get(variable);
      if (value === undefined) {
        throw new Error(`the expected output uses $${variable} before anything captured it`);
      }
      pattern += escapeRegex(value);
      continue;
    }
    captures.push({ name, range: from === undefined ? undefined : [Number(from), Number(to)] });
    pattern += `(${PATTERN_OF_KIND[kind ?? "any"]})`;
  }
  pattern += escapeRegex(expected.slice(rest));
  return { source: expected, regex: new RegExp(`^${pattern}$`), captures };
}

/** Matches one line; returns what it captured, or null when it does not match. */
function matchLine(pattern: LinePattern, actual: string): Variables | null {
  const match = pattern.regex.exec(actual);
  if (!match) return null;
  const captured: Variables = new Map();
  for (const [index, capture] of pattern.captures.entries()) {
    const value = match[index + 1] ?? "";
    if (capture.range) {
      const [from, to] = capture.range;
      const number = Number(value);
      if (number < from || number > to) return null;
    }
    if (capture.name) captured.set(capture.name, value);
  }
  return captured;
}

/**
 * A line without its outer spaces, and with one space after each list marker: redis-cli pads
 * list indexes to the width of the longest ("  1) " once there are 10 items, "   1) " at 100).
 */
function squeeze(line: string): string {
  return line.trim().replace(/(\d\))\s+/g, "$1 ");
}

/**
 * Checks ACTUAL (the output's lines) against EXPECTED (the `# =>` lines). An empty EXPECTED
 * accepts any output. Values captured with `as $NAME` are returned; `variables` holds the
 * values captured by earlier commands.
 */
export function checkOutput(expected: string[], actual: string[], variables: Variables): Verdict {
  if (expected.length === 0) return { ok: true, captured: new Map() };
  const patterns = expected.map((line) =>
    compileLine(/^\/.*\/$/.test(line.trim()) ? line.trim() : squeeze(line), variables),
  );
  const lines = actual.map(squeeze);
  // The furthest we got, to say where it went wrong.
  let furthest = { pattern: 0, line: 0 };

  const search = (p: number, l: number, captured: Variables): Variables | null => {
    if (p > furthest.pattern || (p === furthest.pattern && l > furthest.line)) {
      furthest = { pattern: p, line: l };
    }
    if (p === patterns.length) return l === lines.length ? captured : null;
    const pattern = patterns[p];
    if (pattern === "skip") {
      for (let next = l; next <= lines.length; next++) {
        const found = search(p + 1, next, captured);
        if (found) return found;
      }
      return null;
    }
    if (pattern === undefined || l >= lines.length) return null;
    const here = matchLine(pattern, lines[l] ?? "");
    if (!here) return null;
    return search(p + 1, l + 1, new Map([...captured, ...here]));
  };

  const captured = search(0, 0, new Map());
  if (captured) return { ok: true, captured };

  const pattern = patterns[furthest.pattern];
  const got = lines[furthest.line];
  if (pattern === undefined) {
    return { ok: false, problem: `expected no more output, got: ${got ?? "(nothing)"}` };
  }
  const wanted = pattern === "skip" ? "..." : pattern.source;
  return {
    ok: false,
    problem:
      got === undefined
        ? `expected a line like: ${wanted}\n  but the output ended`
        : `expected a line like: ${wanted}\n  got:                  ${got}`,
  };
}
