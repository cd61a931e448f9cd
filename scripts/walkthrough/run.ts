import { spawn } from "node:child_process";
import { styleText } from "node:util";
import { Browser } from "../../lib/browser.ts";
import { checkOutput, type Variables } from "./expect.ts";
import { type Action, splitArguments, type Walkthrough } from "./format.ts";
import { psql } from "./sql.ts";

export interface RunOptions {
  /** The Redis to talk to, e.g. redis://127.0.0.1:6379 (a password in it is passed safely). */
  redisUrl: string;
  /** The running step, for @http (e.g. http://localhost:3000). */
  stepUrl: string;
  /** The step's PostgreSQL, for @sql. */
  postgresUrl?: string;
  /** Where the transcript goes. */
  print: (text: string) => void;
  /** Called between commands; resolves when the learner is ready for the next one. */
  pause?: () => Promise<void>;
  /** Colours for a terminal. */
  color?: boolean;
}

export interface RunResult {
  commands: number;
  /** One entry per command whose output did not match. */
  failures: string[];
}

/** Runs every action of WALKTHROUGH in order, printing each command and its real output. */
export async function runWalkthrough(
  walkthrough: Walkthrough,
  options: RunOptions,
): Promise<RunResult> {
  const paint = (style: Parameters<typeof styleText>[0], text: string) =>
    options.color ? styleText(style, text) : text;
  const browser = new Browser(options.stepUrl); // one browser per walkthrough: its own cookie
  const variables: Variables = new Map();
  const result: RunResult = { commands: 0, failures: [] };

  let saying = false;
  let redisUrl = options.redisUrl;
  for (const action of walkthrough.actions) {
    if (action.kind === "port") {
      const url = new URL(redisUrl);
      url.port = withVariables(action.port, variables);
      redisUrl = url.toString();
      options.print(paint("dim", `# (redis-cli -h ${url.hostname} -p ${url.port} from here on)`));
      continue;
    }
    if (action.kind === "say") {
      if (!saying) options.print(""); // a blank line before each block of narration
      saying = true;
      options.print(paint("dim", `# ${action.text}`));
      continue;
    }
    saying = false;
    if (result.commands > 0) await options.pause?.();
    result.commands++;
    const typed =
      action.kind === "redis"
        ? action.command
        : action.kind === "sql"
          ? action.query
          : `${action.method} ${action.path}${action.body === undefined ? "" : ` ${JSON.stringify(action.body)}`}`;
    const command = withVariables(typed, variables);
    options.print(paint("bold", `${action.kind}> ${command}`));

    const unknown = /\$(\w+)/.exec(command);
    if (unknown) {
      const problem = `$${unknown[1]} was never captured (an earlier command did not answer as expected)`;
      result.failures.push(`${walkthrough.name}, line ${action.line}: ${problem}`);
      options.print(paint("red", `✗ ${problem}`));
      continue;
    }
    const output =
      action.kind === "redis"
        ? await redisCli(redisUrl, splitArguments(command))
        : action.kind === "sql"
          ? await sqlQuery(options.postgresUrl, command)
          : await httpRequest(browser, action, variables);
    for (const line of output) options.print(shorten(line));

    let verdict: ReturnType<typeof checkOutput>;
    try {
      verdict = checkOutput(action.expected, output, variables);
    } catch (error) {
      verdict = { ok: false, problem: (error as Error).message };
    }
    if (verdict.ok) {
      for (const [name, value] of verdict.captured) variables.set(name, value);
      continue;
    }
    const failure = `${walkthrough.name}, line ${action.line} (${command}):\n  ${verdict.problem}`;
    result.failures.push(failure);
    options.print(paint("red", `✗ ${verdict.problem}`));
    if (action.expected.some((line) => / as \$\w+>/.test(line))) {
      // What follows uses what this command should have captured: one clear failure, not a
      // cascade of "$ID was never captured".
      const stop = "the commands after this one need what it should have answered: stopping here";
      result.failures.push(`${walkthrough.name}: ${stop}`);
      options.print(paint("red", `✗ ${stop}`));
      break;
    }
  }
  return result;
}

/** Replaces $NAME by the value captured under NAME; an unknown name is left as it is. */
function withVariables(text: string, variables: Variables): string {
  return text.replace(/\$(\w+)/g, (whole, name: string) => variables.get(name) ?? whole);
}

/**
 * Runs the real redis-cli once with ARGS and returns its output lines. `--no-raw` prints what
 * you see at the redis-cli prompt ("(integer) 1800", `1) "sess:..."`) even though the output
 * goes to a pipe. A password in the URL is handed over in REDISCLI_AUTH, not on the command
 * line, where `ps` would show it.
 */
export function redisCli(redisUrl: string, args: string[]): Promise<string[]> {
  const url = new URL(redisUrl);
  const password = decodeURIComponent(url.password);
  url.password = "";
  const env = password ? { ...process.env, REDISCLI_AUTH: password } : process.env;
  return new Promise((resolve, reject) => {
    const child = spawn("redis-cli", ["-u", url.toString(), "--no-raw", ...args], { env });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "ENOENT"
          ? new Error(
              "redis-cli is not installed. Debian/Ubuntu: `sudo apt install redis-tools`, " +
                "macOS: `brew install redis`.",
            )
          : error,
      ),
    );
    child.once("close", () => resolve(toLines(output)));
  });
}

/** Runs an @sql query (variables already in place), or says why it cannot. */
function sqlQuery(postgresUrl: string | undefined, query: string): Promise<string[]> {
  if (!postgresUrl) return Promise.resolve(["no PostgreSQL for @sql: set DATABASE_URL"]);
  return psql(postgresUrl, query);
}

/** Sends an @http request with the walkthrough's cookie; one line: status and body. */
async function httpRequest(
  browser: Browser,
  action: Extract<Action, { kind: "http" }>,
  variables: Variables,
): Promise<string[]> {
  try {
    const response = await browser.request(withVariables(action.path, variables), {
      method: action.method,
      body: action.body,
      json: true,
    });
    const body = (await response.text()).replace(/\s*\n\s*/g, " ").trim();
    return [`${response.status} ${body}`.trim()];
  } catch (error) {
    return [`no answer from ${browser.baseUrl}: ${(error as Error).message}`];
  }
}

/** A long line (an HTML error page...) is cut for the screen; the check sees all of it. */
function shorten(line: string): string {
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function toLines(output: string): string[] {
  const lines = output.replace(/\r/g, "").split("\n");
  while (lines.length > 0 && lines.at(-1) === "") lines.pop();
  return lines;
}
