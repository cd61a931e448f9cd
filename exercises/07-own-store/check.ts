/**
 * Exercise 07: the learner's destroy, touch and length, called as express-session calls them
 * (callbacks), against a Redis of the check's own. What Redis holds and which commands it was
 * sent (INFO commandstats) are the evidence; Redis made slow to write, or refusing commands,
 * shows whether callbacks wait for Redis and pass its errors on.
 */
import type { SessionData } from "express-session";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { type CheckContext, defineCheck, expect, wrong } from "../../test/checks/kit.ts";

type Module = typeof import("./solution/redis-session-store.ts");
type Store = InstanceType<Module["RedisSessionStore"]>;

const MINUTES_30 = 30 * 60;

/** A session as express-session hands it to a store, expiring in SECONDS. */
function sessionFor(seconds: number, visits = 1): SessionData {
  const expires = new Date(Date.now() + seconds * 1000);
  return {
    cookie: { originalMaxAge: seconds * 1000, expires, httpOnly: true, path: "/" },
    visits,
  } as SessionData;
}

/** Calls a store method the way express-session does, and waits for its callback. */
function called<Result>(
  what: string,
  call: (callback: (error: unknown, result?: Result) => void) => void,
): Promise<{ error: unknown; result: Result | undefined }> {
  return new Promise((resolve, reject) => {
    let calls = 0;
    try {
      call((error, result) => {
        calls += 1;
        if (calls === 1) resolve({ error, result });
      });
    } catch (error) {
      reject(
        new Error(
          `${what} threw instead of calling back: ${error instanceof Error ? error.message : error}`,
        ),
      );
    }
  });
}

async function setUp({ module, redis }: CheckContext<Module>) {
  const server = await redis();
  const cli = await server.client();
  await cli.flushAll();
  const store: Store = new module.RedisSessionStore(await server.appClient());
  const write = async (id: string, session: SessionData) => {
    const { error } = await called("set", (done) => store.set(id, session, done));
    expect(!error, "set failed", { observed: String(error) });
  };
  return { store, cli, write };
}

/** How many times Redis ran each command so far (INFO commandstats). */
async function commandCounts(cli: RedisClient): Promise<Map<string, number>> {
  const info = await cli.info("commandstats");
  const counts = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) {
    counts.set(match[1] ?? "", Number(match[2]));
  }
  return counts;
}

/** The commands, among WATCHED, that Redis ran between BEFORE and AFTER. */
function ran(before: Map<string, number>, after: Map<string, number>, watched: string[]) {
  return watched.filter((name) => (after.get(name) ?? 0) > (before.get(name) ?? 0));
}

const WRITES = [
  "set",
  "setex",
  "psetex",
  "expire",
  "pexpire",
  "expireat",
  "pexpireat",
  "getex",
  "persist",
  "del",
  "unlink",
  "hset",
  "mset",
  "eval",
  "evalsha",
];

/** Redis refuses COMMANDS (NOPERM) until the case ends. */
async function refuse(context: CheckContext<Module>, cli: RedisClient, commands: string[]) {
  await cli.sendCommand(["ACL", "SETUSER", "default", ...commands.map((c) => `-${c}`)]);
  context.after(() => cli.sendCommand(["ACL", "SETUSER", "default", "+@all"]));
}

export default defineCheck<Module>({
  entry: "redis-session-store.ts",
  cases: [
    {
      name: "destroy forgets the session, and calls back once Redis has",
      run: async (context) => {
        const { store, cli, write } = await setUp(context);
        await write("a", sessionFor(MINUTES_30));
        await cli.sendCommand(["CLIENT", "PAUSE", "300", "WRITE"]); // Redis slow to write
        const { error } = await called("destroy", (done) => store.destroy("a", done));
        const left = await cli.exists("sess:a");
        expect(!error, "destroy called back with an error", { observed: String(error) });
        expect(left === 0, "destroy called back while the session was still in Redis", {
          expected: "sess:a gone when destroy calls back",
          observed: "it was still there",
        });
        const again = await called("destroy", (done) => store.destroy("never-was", done));
        expect(!again.error, "destroying a session that does not exist fails", {
          observed: String(again.error),
        });
      },
    },
    {
      name: "destroy passes Redis's error on",
      run: async (context) => {
        const { store, cli, write } = await setUp(context);
        await write("a", sessionFor(MINUTES_30));
        await refuse(context, cli, ["del", "unlink", "expire", "pexpire", "set", "getdel"]);
        const { error } = await called("destroy", (done) => store.destroy("a", done));
        expect(error, "destroy called back as if it worked, while Redis refused", {
          expected: "the callback gets Redis's error (the app answers 503)",
          observed: "no error: the session is still in Redis and the user believes they logged out",
        });
      },
    },
    {
      name: "touch pushes the expiry to the cookie's, in seconds",
      run: async (context) => {
        const { store, cli, write } = await setUp(context);
        const session = sessionFor(MINUTES_30);
        await write("a", session);
        await cli.expire("sess:a", 100); // as if the last write was 28 minutes ago
        const { error } = await called("touch", (done) => store.touch("a", session, done));
        expect(!error, "touch called back with an error", { observed: String(error) });
        const ttl = await cli.ttl("sess:a");
        if (ttl > MINUTES_30 + 5) {
          wrong("after touch, the session lives far longer than its cookie", {
            expected: `a TTL of about ${MINUTES_30} s (until cookie.expires)`,
            observed: `a TTL of ${ttl.toLocaleString("en")} s`,
          });
        }
        expect(ttl >= MINUTES_30 - 5, "touch did not push the expiry back", {
          expected: `a TTL of about ${MINUTES_30} s (until cookie.expires)`,
          observed: ttl === -2 ? "the session is gone" : `a TTL of ${ttl} s`,
        });
      },
    },
    {
      name: "touch leaves the session's data alone",
      run: async (context) => {
        const { store, cli, write } = await setUp(context);
        const stale = sessionFor(MINUTES_30, 1);
        await write("a", stale);
        // Another request changed the session meanwhile (and it was written a while ago).
        await write("a", sessionFor(MINUTES_30, 2));
        await cli.expire("sess:a", 100);
        const before = await commandCounts(cli);
        await called("touch", (done) => store.touch("a", stale, done));
        const after = await commandCounts(cli);
        const text = (await cli.get("sess:a")) ?? "";
        expect(text.includes('"visits":2'), "touch rewrote the session's data", {
          expected: "the data another request wrote (visits: 2) still there",
          observed: text ? `it holds ${text.slice(0, 100)}` : "the session is gone",
        });
        const wrote = ran(before, after, ["set", "setex", "psetex", "mset", "hset"]);
        expect(wrote.length === 0, "touch rewrote the session's data", {
          expected: "only the expiry changed",
          observed: `Redis ran ${wrote.join(", ").toUpperCase()}`,
        });
      },
    },
    {
      name: "touch never brings back a session Redis has forgotten",
      run: async (context) => {
        const { store, cli } = await setUp(context);
        await called("touch", (done) => store.touch("gone", sessionFor(MINUTES_30), done));
        expect((await cli.exists("sess:gone")) === 0, "touch brought back a forgotten session", {
          expected: "no key sess:gone: an expired or destroyed session stays gone",
          observed: `sess:gone holds ${await cli.get("sess:gone")}`,
        });
      },
    },
    {
      name: "touch writes nothing when the expiry would move by less than a minute",
      run: async (context) => {
        const { store, cli, write } = await setUp(context);
        const session = sessionFor(MINUTES_30);
        await write("a", session);
        await cli.expire("sess:a", MINUTES_30 - 20); // written 20 s ago
        const before = await commandCounts(cli);
        for (let i = 0; i < 3; i++)
          await called("touch", (done) => store.touch("a", session, done));
        const wrote = ran(before, await commandCounts(cli), WRITES);
        expect(
          wrote.length === 0,
          "touch wrote to Redis although the expiry would move by less than a minute",
          {
            expected: "no write for 3 touches 20 s after the last write",
            observed: `Redis ran ${wrote.join(", ").toUpperCase()}`,
          },
        );
      },
    },
    {
      name: "touch passes Redis's error on",
      run: async (context) => {
        const { store, cli, write } = await setUp(context);
        const session = sessionFor(MINUTES_30);
        await write("a", session);
        await cli.expire("sess:a", 100);
        await refuse(context, cli, [
          "expire",
          "pexpire",
          "expireat",
          "pexpireat",
          "set",
          "getex",
          "ttl",
          "pttl",
          "eval",
          "evalsha",
        ]);
        const { error } = await called("touch", (done) => store.touch("a", session, done));
        expect(error, "touch called back as if it worked, while Redis refused", {
          expected: "the callback gets Redis's error",
          observed: "no error",
        });
      },
    },
    {
      name: "length counts this store's sessions, without holding Redis up",
      run: async (context) => {
        const { store, cli } = await setUp(context);
        const sessions = 250;
        const value = JSON.stringify(sessionFor(MINUTES_30));
        const multi = cli.multi();
        for (let i = 0; i < sessions; i++)
          multi.set(`sess:${i}`, value, { expiration: { type: "EX", value: 600 } });
        for (let i = 0; i < 40; i++) multi.set(`cache:page-${i}`, "other data");
        await multi.exec();
        const before = await commandCounts(cli);
        const { error, result } = await called<number>("length", (done) => store.length(done));
        const after = await commandCounts(cli);
        expect(!error, "length called back with an error", { observed: String(error) });
        expect(
          ran(before, after, ["keys"]).length === 0,
          "length walked every key of Redis in one command",
          {
            expected:
              "a count that lets Redis answer other clients meanwhile (a cursor, a batch at a time)",
            observed: "KEYS: with a million keys, every user of this Redis waits until it is done",
          },
        );
        if (result !== undefined && result > sessions) {
          wrong("length counted keys that are not this store's sessions", {
            expected: `${sessions}`,
            observed: `${result} (Redis also holds 40 other keys)`,
          });
        }
        expect(result === sessions, "length missed sessions", {
          expected: `${sessions}`,
          observed: String(result),
        });
      },
    },
    {
      name: "length passes Redis's error on",
      run: async (context) => {
        const { store, cli } = await setUp(context);
        await refuse(context, cli, ["scan", "keys", "dbsize", "eval", "evalsha"]);
        const { error } = await called<number>("length", (done) => store.length(done));
        expect(error, "length called back as if it worked, while Redis refused", {
          expected: "the callback gets Redis's error",
          observed: "no error",
        });
      },
    },
  ],
});
