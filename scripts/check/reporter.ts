/**
 * A node:test reporter for `npm run check`: instead of TAP, one JSON line per event the
 * learner's view needs (a check passed, a check failed and why, something the code printed).
 * scripts/check/run-check.ts reads these lines; the learner never sees them.
 */
import type { TestEvent } from "node:test/reporters";

/** One line of this reporter's output. */
export type ReportLine =
  | { kind: "pass"; name: string }
  | { kind: "fail"; name: string; message: string }
  /** The check file itself failed outside any check: it could not load, or threw at the top. */
  | { kind: "file-fail"; message: string }
  | { kind: "output"; text: string };

export const LINE_PREFIX = "@@check ";

export default async function* reporter(source: AsyncIterable<TestEvent>) {
  for await (const event of source) {
    const line = toLine(event);
    if (line) yield `${LINE_PREFIX}${JSON.stringify(line)}\n`;
  }
}

function toLine(event: TestEvent): ReportLine | undefined {
  switch (event.type) {
    case "test:stdout":
    case "test:stderr":
      return { kind: "output", text: event.data.message };
    case "test:pass": {
      const { data } = event;
      // The check file itself "passes" when all its checks do; suites report their tests.
      if (data.name === data.file || data.details.type === "suite") return undefined;
      return { kind: "pass", name: data.name };
    }
    case "test:fail": {
      const { data } = event;
      if (data.details.type === "suite") return undefined;
      const error = data.details.error as Error & { failureType?: string };
      if (data.name !== data.file) {
        return { kind: "fail", name: data.name, message: describeError(error.cause ?? error) };
      }
      // The file fails with "subtestsFailed" when a check in it failed: that one said why.
      if (error.failureType === "subtestsFailed") return undefined;
      return { kind: "file-fail", message: describeError(error.cause ?? error) };
    }
    default:
      return undefined;
  }
}

/**
 * An assertion's message is written for the learner: keep it as it is. Any other error
 * (a TypeError in the learner's code...) gets its name and the line of the exercise it came from.
 */
function describeError(error: unknown): string {
  // Without a message (a file that failed to load), what it printed on stderr says why.
  if (!(error instanceof Error) || !error.message) return "";
  if (error.name === "AssertionError") {
    // node:assert appends its own comparison to a check's message ("\n\n5 !== 0", or a
    // "+ actual - expected" diff): the check's words say it already. A message node:assert
    // wrote itself (no message given) keeps its comparison: it is all there is.
    const { generatedMessage } = error as Error & { generatedMessage?: boolean };
    const cuts = ["\n+ actual - expected", "\n\n"]
      .map((marker) => error.message.indexOf(marker))
      .filter((index) => index > 0);
    const cut = generatedMessage || cuts.length === 0 ? undefined : Math.min(...cuts);
    return error.message.slice(0, cut).trim();
  }
  const where = error.stack
    ?.split("\n")
    .find((line) => /\/(exercises|solutions)\//.test(line))
    ?.trim();
  return `${error.name}: ${error.message.trim()}${where ? `\n${where}` : ""}`;
}
