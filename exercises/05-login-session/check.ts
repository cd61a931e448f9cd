import { createHmac, randomBytes } from "node:crypto";
/**
 * Exercise 05: step 05's app runs with the learner's logIn and logOut. A login gives a new id
 * (the old session gone from Redis) and carries the visit count over, nothing else; a logout
 * answers only once Redis has forgotten the session, drops the cookie, and never claims
 * success when Redis could not delete it.
 */

import { setCookieAttributes } from "../../lib/browser.ts";
import type { VisitsJson } from "../../lib/visits-contract.ts";
import { createApp } from "../../steps/05-login-logout/app.ts";
import { migrateUsers } from "../../steps/05-login-logout/tables.ts";
import { Users } from "../../steps/05-login-logout/users.ts";
import { createPool } from "../../steps/shared/postgres-pool.ts";
import type { RedisClient } from "../../steps/shared/redis-client.ts";
import { COOKIE_NAME, sessionSecrets } from "../../steps/shared/session-secret.ts";
import {
  type CheckContext,
  defineCheck,
  expect,
  type Site,
  type Visitor,
  wrong,
} from "../../test/checks/kit.ts";

type Module = typeof import("./solution/login-session.ts");
type Context = CheckContext<Module>;
type AppSite = Site & { redisUrl: string; userId: string };

const CREDENTIALS = { username: "learner", password: "correct horse battery" };

/**
 * Step 05's app with the learner's logIn and logOut, a client to look inside Redis, and the
 * user CREDENTIALS registered in the folder's PostgreSQL.
 */
async function start({ module, redis, postgres, serve, after }: Context) {
  const [server, database] = await Promise.all([redis(), postgres()]);
  const pool = createPool(database.url);
  after(() => pool.end());
  await migrateUsers(pool);
  const app = createApp(await server.appClient(), pool, {
    loginSession: { logIn: module.logIn, logOut: module.logOut },
  });
  const userId = await registered(pool);
  const site: AppSite = { ...(await serve(app)), redisUrl: server.url, userId };
  return { site, cli: await server.client(), server };
}

/** The id of the user CREDENTIALS, registered once per database. */
async function registered(pool: Parameters<typeof createApp>[1]): Promise<string> {
  const { username, password } = CREDENTIALS;
  const user = await new Users(pool).register(username, password);
  if (user) return user.id;
  const { rows } = await pool.query<{ id: string }>("SELECT id FROM users WHERE username = $1", [
    username,
  ]);
  return rows[0]?.id ?? "";
}

/** The session id inside the signed cookie `s%3A<id>.<signature>`. */
function sessionIdOf(visitor: Visitor): string {
  const value = decodeURIComponent(visitor.cookie(COOKIE_NAME) ?? "");
  return value.slice(2, value.lastIndexOf("."));
}

const short = (id: string) => `${id.slice(0, 8)}…`;

async function visit(visitor: Visitor): Promise<VisitsJson> {
  const response = await visitor.get("/", { json: true });
  expect(response.status === 200, "GET / does not answer 200", {
    observed: String(response.status),
  });
  return (await response.json()) as VisitsJson;
}

/** Logs VISITOR in as CREDENTIALS; the login's answer. */
async function logIn(visitor: Visitor): Promise<Response> {
  // A password check takes a while, on purpose (scrypt): allow it more time.
  return visitor.send("/login", { method: "POST", body: CREDENTIALS }, 10_000);
}

async function loggedIn(visitor: Visitor): Promise<Visitor> {
  const login = await logIn(visitor);
  expect(login.status === 200, "the login does not answer 200", {
    expected: "200 and the user logged in",
    observed: `${login.status} ${(await login.text()).slice(0, 120)}`,
  });
  const me = await visitor.get("/me", { json: true });
  expect(me.status === 200, "after the login, the user is not logged in", {
    expected: "GET /me answers 200 with the user",
    observed: `${me.status} ${(await me.text()).slice(0, 120)}`,
  });
  return visitor;
}

/**
 * A visitor already logged in, the quick way: the session written into Redis as
 * express-session writes it, and its signed cookie, without hashing a password.
 */
async function loggedInAlready(site: AppSite, cli: RedisClient): Promise<Visitor> {
  const id = randomBytes(24).toString("base64url");
  const expires = new Date(Date.now() + 30 * 60 * 1000);
  const session = {
    cookie: {
      originalMaxAge: 30 * 60 * 1000,
      expires,
      secure: false,
      httpOnly: true,
      path: "/",
      sameSite: "lax",
    },
    userId: site.userId,
    username: "learner",
    loggedInAt: Date.now(),
  };
  await cli.set(`sess:${id}`, JSON.stringify(session), { expiration: { type: "EX", value: 1800 } });
  const secret = sessionSecrets()[0] ?? "";
  const signature = createHmac("sha256", secret).update(id).digest("base64").replace(/=+$/, "");
  const visitor = site.visitor();
  visitor.cookies.set(COOKIE_NAME, encodeURIComponent(`s:${id}.${signature}`));
  const me = await visitor.get("/me", { json: true });
  expect(me.status === 200, "a logged-in session is not recognised", {
    observed: String(me.status),
  });
  return visitor;
}

/** A second visitor holding a copy of VISITOR's cookie (another tab, a thief). */
function copyOf(site: Site, visitor: Visitor): Visitor {
  const copy = site.visitor();
  copy.cookies.set(COOKIE_NAME, visitor.cookie(COOKIE_NAME) ?? "");
  return copy;
}

export default defineCheck<Module>({
  entry: "login-session.ts",
  cases: [
    {
      name: "a login gives a new session id, the old one is gone, the visit count comes along",
      timeoutMs: 12_000,
      run: async (context) => {
        const { site, cli } = await start(context);
        const visitor = site.visitor();
        await visit(visitor);
        const { sessionId: before } = await visit(visitor);
        const thief = copyOf(site, visitor); // knew the id before the login
        await loggedIn(visitor);
        const after = sessionIdOf(visitor);
        expect(after !== before, "the session id did not change at login", {
          expected: "a new session id once logged in",
          observed: `the same id, ${short(before)}: whoever knew it before is now logged in too`,
        });
        expect(
          (await cli.exists(`sess:${before}`)) === 0,
          "the session from before the login is still in Redis",
          {
            expected: `sess:${short(before)} deleted at login`,
            observed: "it is still there",
          },
        );
        const me = await thief.get("/me", { json: true });
        expect(me.status === 401, "the cookie from before the login is logged in", {
          observed: `GET /me with it answers ${me.status}`,
        });
        const { visits } = await visit(visitor);
        expect(visits === 3, "the visit count was lost at login", {
          expected: "2 visits before the login, so the next visit counts 3",
          observed: `the next visit counts ${visits}`,
        });
      },
    },
    {
      name: "a login without a session before it works too",
      timeoutMs: 12_000,
      run: async (context) => {
        const { site } = await start(context);
        const visitor = await loggedIn(site.visitor());
        const { visits } = await visit(visitor);
        expect(visits === 1, "a visit count appeared from nowhere at login", {
          expected: "the first visit after the login counts 1",
          observed: String(visits),
        });
      },
    },
    {
      name: "a logout deletes the session in Redis before it answers",
      run: async (context) => {
        const { site, cli } = await start(context);
        const visitor = await loggedInAlready(site, cli);
        const id = sessionIdOf(visitor);
        const thief = copyOf(site, visitor);
        // Redis takes its time with writes: the answer must wait for the delete.
        await cli.sendCommand(["CLIENT", "PAUSE", "400", "WRITE"]);
        const logout = await visitor.post("/logout", undefined, { json: true });
        const exists = await cli.exists(`sess:${id}`);
        expect(logout.status === 200, "the logout does not answer 200", {
          observed: `${logout.status} ${(await logout.text()).slice(0, 120)}`,
        });
        expect(exists === 0, "the logout answered while the session was still in Redis", {
          expected: `sess:${short(id)} gone when the answer arrives`,
          observed: "it was still there: the answer did not wait for the delete, or there was none",
        });
        const me = await thief.get("/me", { json: true });
        expect(me.status === 401, "after logout, a copy of the cookie still logs in", {
          observed: `GET /me with it answers ${me.status}`,
        });
      },
    },
    {
      name: "a logout drops the session cookie in the browser",
      run: async (context) => {
        const { site, cli } = await start(context);
        const visitor = await loggedInAlready(site, cli);
        const logout = await visitor.post("/logout", undefined, { json: true });
        const lines = logout.headers
          .getSetCookie()
          .filter((line) => line.startsWith(`${COOKIE_NAME}=`));
        const last = setCookieAttributes(logout, COOKIE_NAME);
        if (!last) {
          wrong("the session cookie is not cleared", {
            expected: `a Set-Cookie for ${COOKIE_NAME} that has already expired`,
            observed: "no Set-Cookie for it",
          });
        }
        expect(!visitor.cookie(COOKIE_NAME), "after logout the session cookie is sent again", {
          expected: "the browser told once to drop the cookie",
          observed: lines.join("\n            "),
        });
        expect(
          /no-store/.test(logout.headers.get("cache-control") ?? ""),
          "the logout's answer may be cached",
          {
            expected: "Cache-Control: no-store",
            observed: `Cache-Control: ${logout.headers.get("cache-control")}`,
          },
        );
      },
    },
    {
      name: "when Redis cannot delete the session, a logout does not claim it worked",
      run: async (context) => {
        const { site, cli } = await start(context);
        const visitor = await loggedInAlready(site, cli);
        // Redis refuses to delete anything (as when out of memory, or a replica), until after.
        await cli.sendCommand(["ACL", "SETUSER", "default", "-del", "-unlink"]);
        context.after(() => cli.sendCommand(["ACL", "SETUSER", "default", "+del", "+unlink"]));
        const logout = await visitor.post("/logout", undefined, { json: true });
        expect(
          logout.status >= 500,
          "the logout said it worked while Redis could not delete the session",
          {
            expected: "an error answer (503): the session is still in Redis",
            observed: `${logout.status} ${(await logout.text()).slice(0, 120)}`,
          },
        );
      },
    },
  ],
});
