/**
 * Exercise 10: step 10's app with the learner's users.ts. Registration is decided by the unique
 * constraint (even for ten at once), a login reads the user with a parameterized query (a name
 * full of quotes is only text), every query goes through the one pool it was given (counted at
 * a proxy in front of PostgreSQL), and the logged-in user is read from the table on every
 * request (a rename shows, a deletion logs out).
 */
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import type { Pool } from "pg";
import { migrateUsers } from "../../steps/05-login-logout/tables.ts";
import { createApp } from "../../steps/10-postgres-store/app.ts";
import { migrateSessions } from "../../steps/10-postgres-store/session-table.ts";
import { createPool } from "../../steps/shared/postgres-pool.ts";
import {
  type CheckContext,
  defineCheck,
  expect,
  type Site,
  type Visitor,
} from "../../test/checks/kit.ts";

type Module = typeof import("./solution/users.ts");
type Context = CheckContext<Module>;

const PASSWORD = "correct horse battery";
/** The pool the app gets: what step 10 makes (steps/shared/postgres-pool.ts), at most 10. */
const POOL_MAX = 10;
/** A password check (scrypt) takes a while, on purpose: allow it time. */
const SLOW_MS = 10_000;

let names = 0;
/** A username no other case of this run uses. */
const newName = () => `learner${++names}`;

interface App {
  site: Site;
  /** The check's own connection to the database, around the app's pool. */
  admin: Pool;
  /** How many connections the app's side has opened to PostgreSQL so far. */
  connectionsOpened(): number;
}

/**
 * Step 10's app with the learner's Users and currentUser, over a pool that reaches PostgreSQL
 * through a TCP proxy of the check's: every connection anything in the app opens is counted.
 */
async function start(
  { module, postgres, serve, after }: Context,
  { latencyMs = 0 } = {},
): Promise<App> {
  const database = await postgres();
  // Cleanups run last registered, first: the proxy cuts every connection before the pool
  // ends, so that it can end even when the code under check kept a client.
  let pool: Pool | undefined;
  after(() => pool?.end());
  const proxy = await countingProxy(new URL(database.url), latencyMs, after);
  pool = createPool(proxy.url);
  await migrateUsers(pool);
  await migrateSessions(pool);
  if (latencyMs > 0) {
    // Ten connections open before the case: else the first request runs on the one open
    // connection while the others are still connecting, and nothing happens at once.
    const warm = pool;
    await Promise.all(Array.from({ length: 10 }, () => warm.query("SELECT pg_sleep(0.05)")));
  }
  const app = createApp(pool, {
    users: { Users: module.Users, currentUser: module.currentUser },
  });
  return {
    site: await serve(app),
    admin: await database.pool(),
    connectionsOpened: () => proxy.opened,
  };
}

/**
 * A TCP proxy on a free port of 127.0.0.1 to TARGET's host and port; counts connections, and
 * holds every chunk LATENCY_MS each way, as a database across a network would (timers of one
 * delay fire in order, so the bytes keep their order).
 */
async function countingProxy(target: URL, latencyMs: number, after: (fn: () => unknown) => void) {
  const sockets = new Set<Socket>();
  const counter = { opened: 0, url: "" };
  const server = createServer((client) => {
    counter.opened++;
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {}); // either side going away ends both
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    const forward = (from: Socket, to: Socket) =>
      from.on("data", (chunk) => {
        if (latencyMs === 0) to.write(chunk);
        else setTimeout(() => to.writable && to.write(chunk), latencyMs);
      });
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  const url = new URL(target);
  url.hostname = "127.0.0.1";
  url.port = String((server.address() as AddressInfo).port);
  counter.url = url.href;
  return counter;
}

async function register(visitor: Visitor, username: string): Promise<Response> {
  return visitor.send(
    "/register",
    { method: "POST", body: { username, password: PASSWORD } },
    SLOW_MS,
  );
}

async function logIn(visitor: Visitor, username: string, password = PASSWORD): Promise<Response> {
  return visitor.send("/login", { method: "POST", body: { username, password } }, SLOW_MS);
}

async function me(visitor: Visitor): Promise<{ status: number; username?: string }> {
  const response = await visitor.get("/me", { json: true });
  const body = (await response.json()) as { username?: string };
  return { status: response.status, username: body.username };
}

/** Registers a new user and logs VISITOR in as them; the username. */
async function loggedIn(visitor: Visitor): Promise<string> {
  const username = newName();
  const registered = await register(visitor, username);
  expect(registered.status === 201, "a registration does not answer 201", {
    expected: "201 for a new name",
    observed: `${registered.status} ${(await registered.text()).slice(0, 160)}`,
  });
  const login = await logIn(visitor, username);
  expect(login.status === 200, "a login with the right password does not answer 200", {
    expected: "200",
    observed: `${login.status} ${(await login.text()).slice(0, 160)}`,
  });
  return username;
}

export default defineCheck<Module>({
  entry: "users.ts",
  cases: [
    {
      name: "register, then log in; a taken name is a 409, a wrong password a 401",
      timeoutMs: 30_000,
      run: async (context) => {
        const { site, admin } = await start(context);
        const visitor = site.visitor();
        const username = await loggedIn(visitor);
        const { status, username: shown } = await me(visitor);
        expect(
          status === 200 && shown === username,
          "after the login, /me does not know the user",
          {
            expected: `200 and ${username}`,
            observed: `${status} ${shown}`,
          },
        );

        const again = await register(site.visitor(), username);
        expect(again.status === 409, "a second registration of a taken name is not a 409", {
          expected: "409: the name is taken",
          observed: `${again.status} ${(await again.text()).slice(0, 160)}`,
        });
        const wrong = await logIn(site.visitor(), username, "not the password");
        expect(wrong.status === 401, "a wrong password does not answer 401", {
          expected: "401",
          observed: String(wrong.status),
        });

        const { rows } = await admin.query<{ salt: Buffer; hash: Buffer }>(
          "SELECT password_salt AS salt, password_hash AS hash FROM users WHERE username = $1",
          [username],
        );
        const stored = rows[0];
        expect(stored, "the user is not in the users table", { expected: `a row for ${username}` });
        expect(
          !stored.hash.toString("latin1").includes(PASSWORD) &&
            !stored.salt.toString("latin1").includes(PASSWORD),
          "the password is stored as it was typed",
          {
            expected: "salt and scrypt hash (hashNewPassword), never the password",
            observed: "the password in a column",
          },
        );
      },
    },
    {
      name: "ten registrations of one name at once: one 201, nine 409, one row",
      timeoutMs: 30_000,
      run: async (context) => {
        // 300 ms to the database and back, as across a slow network: a gap between a look and an
        // insert is then wide enough for the others to look too.
        const { site, admin } = await start(context, { latencyMs: 150 });
        const username = newName();
        const answers = await Promise.all(
          Array.from({ length: 10 }, () => register(site.visitor(), username)),
        );
        const statuses = answers.map((answer) => answer.status).sort();
        const { rows } = await admin.query("SELECT 1 FROM users WHERE username = $1", [username]);
        expect(
          statuses.filter((status) => status === 201).length === 1 &&
            statuses.filter((status) => status === 409).length === 9,
          "registrations racing for one name do not get one 201 and nine 409s",
          {
            expected: "201 once, 409 nine times: the UNIQUE constraint decides",
            observed: `${statuses.join(", ")} (a 500 is an error the app did not expect: did a row already exist when the INSERT came?)`,
          },
        );
        expect(rows.length === 1, "the name is in the table more than once", {
          observed: `${rows.length} rows`,
        });
      },
    },
    {
      name: "a name full of quotes is only text: a 401, never a 500, never a way in",
      timeoutMs: 30_000,
      run: async (context) => {
        const { site } = await start(context);
        const victim = await loggedIn(site.visitor());
        const attempts = [
          "o'neil",
          `nobody' or username = '${victim}`,
          `${victim}' --`,
          "' or '1'='1",
        ];
        for (const username of attempts) {
          const answer = await logIn(site.visitor(), username);
          expect(answer.status === 401, `a login as ${JSON.stringify(username)} is not a 401`, {
            expected: "401: no user has that name (the name is a parameter, $1: only text)",
            observed:
              answer.status === 200
                ? `200: logged in as ${victim}. The name was pasted into the SQL, and the SQL it made picked the victim's row`
                : `${answer.status}: the name was pasted into the SQL, and broke it`,
          });
        }
      },
    },
    {
      name: "one pool for the whole app: 40 requests at once open at most 10 connections",
      timeoutMs: 30_000,
      run: async (context) => {
        const { site, connectionsOpened } = await start(context);
        const visitor = site.visitor();
        await loggedIn(visitor);
        const before = connectionsOpened();
        const answers = await Promise.all(
          Array.from({ length: 40 }, () => visitor.send("/me", { json: true }, SLOW_MS)),
        );
        const statuses = [...new Set(answers.map((answer) => answer.status))];
        const opened = connectionsOpened();
        expect(statuses.length === 1 && statuses[0] === 200, "not every request got its answer", {
          expected: "40 times 200",
          observed: `${statuses.join(", ")}: a connection taken from the pool and never given back leaves the next queries waiting (pool.connect() without release())`,
        });
        expect(opened <= POOL_MAX, "the app opens a new connection to PostgreSQL for its queries", {
          expected: `at most ${POOL_MAX} connections in all: the pool's, lent out and taken back`,
          observed: `${opened} connections (${opened - before} for these 40 requests): a new Pool or Client per query or request`,
        });
      },
    },
    {
      name: "a user renamed in the table shows at once; a user deleted is logged out",
      timeoutMs: 30_000,
      run: async (context) => {
        const { site, admin } = await start(context);
        const visitor = site.visitor();
        const username = await loggedIn(visitor);
        await me(visitor); // once, so that a copy kept anywhere is made now
        const renamed = `${username}renamed`;
        await admin.query("UPDATE users SET username = $1 WHERE username = $2", [
          renamed,
          username,
        ]);
        const afterRename = await me(visitor);
        expect(afterRename.username === renamed, "a user renamed in the table keeps the old name", {
          expected: `/me says ${renamed}: the user read from the table on each request`,
          observed: `${afterRename.status} ${afterRename.username}: a copy kept since the login (in the session or in the process)`,
        });
        await admin.query("DELETE FROM users WHERE username = $1", [renamed]);
        const afterDelete = await me(visitor);
        expect(afterDelete.status === 401, "a user deleted from the table is still logged in", {
          expected: "401: currentUser finds no user, and the app logs the session out",
          observed: `${afterDelete.status} ${afterDelete.username}`,
        });
      },
    },
  ],
});
