/**
 * Reads a walkthrough file (scripts/redis-cli/NN-name.redis). The format is described for
 * learners in scripts/redis-cli/README.md; in short:
 *
 *   @step 03-redis-store        which step must be running (for @http)
 *   # Narration.                printed as it is
 *   TTL sess:$ID                a redis-cli command; $ID is a value captured earlier
 *   # => (integer) <int>        one line of the output to expect
 *   @http GET /                 an HTTP request to the running step, cookies kept
 *   @redis sentinel             (once, at the top) redis-cli talks to a sentinel, not to Redis
 *   @port $PORT                 redis-cli talks to this port of the same host from here on
 *   @sql SELECT … WHERE x = $ID  a query to the step's PostgreSQL, answered as psql prints it
 */

/** One thing the walkthrough does, in file order. */
export type Action =
  | { kind: "say"; text: string; line: number }
  | { kind: "port"; port: string; line: number }
  | { kind: "redis"; command: string; expected: string[]; line: number }
  | { kind: "sql"; query: string; expected: string[]; line: number }
  | {
      kind: "http";
      method: string;
      path: string;
      body?: unknown;
      expected: string[];
      line: number;
    };

export interface Walkthrough {
  name: string;
  /** The step folder named by `@step` (e.g. "03-redis-store"), if the walkthrough needs one. */
  step?: string;
  /** "sentinel" (`@redis sentinel`): its commands start at a sentinel of the step's Redis. */
  redis?: "sentinel";
  actions: Action[];
}

const EXPECTED = /^#\s*=>\s?(.*)$/;

export function parseWalkthrough(name: string, text: string): Walkthrough {
  const walkthrough: Walkthrough = { name, actions: [] };
  let last: Extract<Action, { expected: string[] }> | undefined;

  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    const fail = (why: string) => {
      throw new Error(`${name}, line ${line}: ${why}\n  ${raw}`);
    };
    if (trimmed === "") return;

    const expected = EXPECTED.exec(trimmed);
    if (expected) {
      if (!last) fail("an expected output (# =>) needs a command above it");
      last?.expected.push((expected[1] ?? "").trim());
      return;
    }
    if (trimmed.startsWith("#")) {
      walkthrough.actions.push({ kind: "say", text: trimmed.replace(/^#\s?/, ""), line });
      return;
    }
    if (trimmed.startsWith("@step ")) {
      walkthrough.step = trimmed.slice("@step ".length).trim();
      return;
    }
    if (trimmed === "@redis sentinel") {
      walkthrough.redis = "sentinel";
      return;
    }
    if (trimmed.startsWith("@port ")) {
      walkthrough.actions.push({ kind: "port", port: trimmed.slice("@port ".length).trim(), line });
      last = undefined;
      return;
    }
    if (trimmed.startsWith("@http ")) {
      const match = /^@http\s+(GET|POST|PUT|PATCH|DELETE)\s+(\/\S*)\s*(.*)$/.exec(trimmed);
      if (!match) fail('expected "@http METHOD /path [JSON body]"');
      const [, method = "GET", path = "/", json = ""] = match ?? [];
      let body: unknown;
      if (json !== "") {
        try {
          body = JSON.parse(json);
        } catch {
          fail("the body of an @http request must be JSON");
        }
      }
      last = { kind: "http", method, path, body, expected: [], line };
      walkthrough.actions.push(last);
      return;
    }
    if (trimmed.startsWith("@sql ")) {
      last = { kind: "sql", query: trimmed.slice("@sql ".length).trim(), expected: [], line };
      walkthrough.actions.push(last);
      return;
    }
    if (trimmed.startsWith("@"))
      fail("unknown directive (known: @step, @http, @sql, @redis sentinel, @port)");
    last = { kind: "redis", command: trimmed, expected: [], line };
    walkthrough.actions.push(last);
  });
  return walkthrough;
}

/**
 * Splits a command line into arguments the way redis-cli's prompt does: spaces separate,
 * "double quotes" (with \" and \\ inside) and 'single quotes' keep spaces together.
 */
export function splitArguments(command: string): string[] {
  const args: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const match of command.matchAll(pattern)) {
    if (match[1] !== undefined) args.push(match[1].replace(/\\(.)/g, "$1"));
    else args.push(match[2] ?? match[3] ?? "");
  }
  return args;
}
