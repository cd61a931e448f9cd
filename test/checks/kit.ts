/**
 * What an exercise check is made of (CONTRIBUTING.md, "Writing an exercise check"). In
 * exercises/NN-name/check.ts:
 *
 *   export default defineCheck<typeof import("./solution/app.ts")>({
 *     entry: "app.ts",
 *     cases: [{ name: "…", run: async ({ module, redis, serve }) => { … } }],
 *   });
 *
 * A case tests behaviour through the public surface (HTTP answers and headers, what the store
 * holds, the Store API under faults) and, when it is wrong, throws `wrong(what, {expected,
 * observed})`: what is wrong, in a learner's words, never the code to write (that is what the
 * exercise's hints.md is for). test/checks/run.ts runs the cases, one folder after another
 * or several at a time, in one process.
 */
import type { AddressInfo } from "node:net";
import type { Express } from "express";
import pg, { type Pool } from "pg";
import { Browser } from "../../lib/browser.ts";
import {
  type PrivatePostgres,
  privateEngine,
  startPrivatePostgres,
} from "../../lib/services/postgres.ts";
import {
  clientLike,
  type PrivateRedis,
  redisClient,
  startPrivateRedis,
} from "../../lib/services/redis.ts";
import { createRedisClient, type RedisClient } from "../../steps/shared/redis-client.ts";

/** A failed expectation: what is wrong, what was expected, what was seen. */
export class Wrong extends Error {
  /** What is wrong, without what was expected and seen. */
  readonly what: string;

  constructor(what: string, expected?: string, observed?: string) {
    const lines = [what];
    if (expected !== undefined) lines.push(`  expected: ${expected}`);
    if (observed !== undefined) lines.push(`  observed: ${observed}`);
    super(lines.join("\n"));
    this.what = what;
  }
}

/** Fails the case: `wrong("the old cookie still works", { expected: "401", observed: "200" })`. */
export function wrong(what: string, seen: { expected?: string; observed?: string } = {}): never {
  throw new Wrong(what, seen.expected, seen.observed);
}

/** Fails with WHAT unless OK holds. */
export function expect(
  ok: unknown,
  what: string,
  seen: { expected?: string; observed?: string } = {},
): asserts ok {
  if (!ok) wrong(what, seen);
}

/** A redis-server of one folder under check: started when first asked for, stopped after. */
export interface CheckRedis {
  readonly url: string;
  /** A client of the check's own (not the learner's), connected, closed after the case. */
  client(): Promise<RedisClient>;
  /** A new client as the app would get it (createRedisClient), connected, closed after. */
  appClient(): Promise<RedisClient>;
}

/** A PostgreSQL of one folder under check: started when first asked for, stopped after. */
export interface CheckPostgres {
  readonly url: string;
  /** A pool of the check's own (not the learner's), ended after the case. */
  pool(): Promise<Pool>;
}

/** An app served on a free port of 127.0.0.1 for the length of a case. */
export interface Site {
  readonly url: string;
  /** A new visitor: keeps its cookies, like a browser. */
  visitor(): Visitor;
}

export interface CheckContext<Module> {
  /** The entry file of the folder under check, imported. */
  readonly module: Module;
  /** The folder under check, absolute. */
  readonly dir: string;
  /** The folder under check as the learner sees it: "exercises/05-login-session/yours". */
  readonly shownDir: string;
  /** A Redis of this folder's own (started once, shared by its cases). */
  redis(): Promise<CheckRedis>;
  /** A PostgreSQL of this folder's own (started once, shared by its cases). */
  postgres(): Promise<CheckPostgres>;
  /** The URL of a MongoDB database of this folder's own. */
  mongo(): Promise<string>;
  /** Serves APP until the case ends. */
  serve(app: Express): Promise<Site>;
  /** Runs FN when the case ends, passed or not (last registered, first run). */
  after(fn: () => unknown): void;
}

export interface Case<Module> {
  /** What the case proves, as the learner reads it in the progress: "POST /reset …". */
  name: string;
  run(context: CheckContext<Module>): Promise<void>;
  /** How long the case may take; default 4 s. */
  timeoutMs?: number;
}

export interface ExerciseCheck<Module> {
  /** The file of the folder under check that the cases get as `module`. */
  entry: string;
  cases: Case<Module>[];
}

export function defineCheck<Module>(check: ExerciseCheck<Module>): ExerciseCheck<Module> {
  return check;
}

/** How long a request may go unanswered before the case says which one hung. */
export const ANSWER_WITHIN_MS = 2500;

/**
 * How much longer than the reference a request may take while Redis fails and still be
 * "quick". Both apps answer the same request at the same time on the same machine, so a busy
 * machine slows both: the margin is for a pause of one of them, not for the machine.
 */
export const SLOWER_MS = 500;

/** A browser for checks: cookies kept, and a request that hangs is named in the failure. */
export class Visitor extends Browser {
  /** GET PATH. */
  get(path: string, init: Parameters<Browser["request"]>[1] = {}): Promise<Response> {
    return this.send(path, { ...init, method: "GET" });
  }

  /** POST PATH (with a JSON body when BODY is given). */
  post(path: string, body?: unknown, init: Parameters<Browser["request"]>[1] = {}) {
    return this.send(path, { ...init, method: "POST", ...(body === undefined ? {} : { body }) });
  }

  /** The session cookie's value as this visitor holds it, or undefined. */
  sessionCookie(name: string): string | undefined {
    return this.cookie(name);
  }

  /**
   * Any request, failing with the route's name when it is not answered within WITHIN_MS
   * (longer for a route that is slow on purpose, such as a password check).
   */
  async send(
    path: string,
    init: Parameters<Browser["request"]>[1] = {},
    withinMs = ANSWER_WITHIN_MS,
  ): Promise<Response> {
    const method = init.method ?? "GET";
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Wrong(
              `${method} ${path} never answered`,
              `an answer within ${withinMs / 1000} s`,
              "no answer: a route that neither sends a response nor calls next(), " +
                "a callback that is never called, or an error thrown in a callback, which never " +
                "reaches Express (see below)",
            ),
          ),
        withinMs,
      );
    });
    try {
      return await Promise.race([this.request(path, init), hung]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Serves APP on a free port; the returned function closes it. */
export async function serveApp(app: Express): Promise<{ site: Site; close(): Promise<void> }> {
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    site: { url, visitor: () => new Visitor(url) },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // fetch keeps connections alive
      }),
  };
}

let appTemplate: RedisClient | undefined;

/**
 * A client as the app makes it (createRedisClient: its timeouts and reconnects), for URL, not
 * connected; without createRedisClient's listeners, so give it an 'error' one. Cheap: a
 * duplicate of one made once (clientLike, lib/services/redis.ts).
 */
export function appRedisClient(url: string): RedisClient {
  appTemplate ??= createRedisClient("redis://127.0.0.1:6379");
  return clientLike(appTemplate, url);
}

/** The Redis of one folder under check, over a private redis-server. */
export async function checkRedis(
  after: (fn: () => unknown) => void,
): Promise<{ redis: CheckRedis; server: PrivateRedis }> {
  // Nothing on disk: no check restarts its Redis, and a write that waits for no disk saves
  // about 30 ms of CPU per folder (measured over the 576 folders of test/exercises.test.ts).
  const server = await startPrivateRedis({ onDisk: false });
  const connect = async (client: RedisClient) => {
    client.on("error", () => {}); // outages are what some cases are about
    await client.connect();
    after(() => (client.isOpen ? client.destroy() : undefined));
    return client;
  };
  const redis: CheckRedis = {
    url: server.url,
    // The check's own client: no pings and no socket timeout, so that a busy machine never
    // makes it reconnect (a check may know its connection by its address: redis-probe.ts).
    client: () => connect(redisClient({ url: server.url, RESP: 2 })),
    appClient: () => connect(appRedisClient(server.url)),
  };
  return { redis, server };
}

/**
 * The PostgreSQL of one folder under check. PostgreSQL itself: a database of the folder's own
 * on SHARED, the run's one server (an initdb per folder costs seconds). The embedded engine
 * has one database only: there, a private server of the folder's own, stopped with it.
 */
export async function checkPostgres(
  after: (fn: () => unknown) => void,
  shared: () => Promise<PrivatePostgres>,
  name: string,
): Promise<{ postgres: CheckPostgres; server?: PrivatePostgres }> {
  const own = (await privateEngine()) === "pglite" ? await startPrivatePostgres() : undefined;
  const server = own ?? (await shared());
  const url = new URL(server.url);
  if (!own) {
    const admin = new pg.Client(server.url);
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`).finally(() => admin.end());
    url.pathname = `/${name}`;
  }
  const postgres: CheckPostgres = {
    url: url.href,
    pool: async () => {
      const pool = new pg.Pool({ connectionString: url.href, max: 2 });
      pool.on("error", () => {}); // outages are what some cases are about
      after(() => pool.end());
      return pool;
    },
  };
  return own ? { postgres, server: own } : { postgres };
}
