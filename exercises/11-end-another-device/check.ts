/**
 * Exercise 11: POST /sessions/end {handle} ends one session of the logged-in user: their own
 * only, out of the index too, for good; this browser's own is a logout.
 *
 * A differential check (test/checks/differential.ts, test/checks/redis-probe.ts): scenarios of
 * four browsers of two users (A, B and D are ada, C is eve), drawn at random, run on your app
 * and on the reference side by side, each in a Redis database of its own. After every request
 * the check compares the answers, the Set-Cookie lines, the sessions in Redis, each user's
 * index (user-sessions:<user>), whether an ended session is buried (step 05's ended:<id>: a
 * late write cannot bring it back), and the commands sent (no SCAN or KEYS over every session).
 */
import fc from "fast-check";
import { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
import {
  type Answer,
  differential,
  type Model,
  type Observation,
  type Side,
  type Step,
  setCookieParts,
} from "../../test/checks/differential.ts";
import { defineCheck } from "../../test/checks/kit.ts";
import { RedisSides } from "../../test/checks/redis-probe.ts";
import * as reference from "./solution/app.ts";

type Module = typeof import("./solution/app.ts");

/** Who each browser logs in as. */
const USERS = ["ada", "ada", "eve", "ada"] as const;
const name = (i: number) => "ABCD"[i] ?? "?";
const MADE_UP = "a-handle-nobody-was-given";
const JSON_CLIENT = { accept: "application/json" };

type Target =
  | { kind: "handle"; of: number } // the handle of browser OF's session, as /sessions shows it
  | { kind: "id"; of: number } // browser OF's session id, sent as if it were a handle
  | { kind: "made-up" }
  | { kind: "none" }; // no handle at all
type Action =
  | { do: "login"; who: number }
  | { do: "list"; who: number }
  | { do: "logout"; who: number }
  | { do: "end"; who: number; target: Target }
  | { do: "fail"; on: boolean };

/** The session id inside a session cookie's value (s%3A<id>.<signature>). */
const idIn = (value: string | undefined) =>
  /^s:([^.]+)\./.exec(decodeURIComponent(value ?? ""))?.[1];
const idOf = (side: Side, who: number) => idIn(side.visitors[who]?.cookie(COOKIE_NAME));

function describeTarget(t: Target): string {
  if (t.kind === "handle") return `the handle of ${name(t.of)}'s session (${USERS[t.of]}'s)`;
  if (t.kind === "id") return `${name(t.of)}'s session id instead of a handle`;
  return t.kind === "made-up" ? "a made-up handle" : "no handle";
}

function describe(a: Action): string {
  switch (a.do) {
    case "login":
      return `${name(a.who)}: POST /login as ${USERS[a.who]}`;
    case "list":
      return `${name(a.who)}: GET /sessions`;
    case "logout":
      return `${name(a.who)}: POST /logout`;
    case "end":
      return `${name(a.who)}: POST /sessions/end with ${describeTarget(a.target)}`;
    case "fail":
      return a.on ? "the store starts failing destroy() (a broken store)" : "the store works again";
  }
}

function model(
  module: Module,
  sides: RedisSides,
  extra: fc.Arbitrary<Action>[],
  examples: Action[][],
): Model<Action> {
  const who = fc.constantFrom(0, 0, 1, 1, 2, 3);
  const target: fc.Arbitrary<Target> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant("handle" as const), of: who }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("id" as const), of: who }) },
    { weight: 1, arbitrary: fc.constant({ kind: "made-up" as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
  );
  const action: fc.Arbitrary<Action> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ do: fc.constant("login" as const), who }) },
    { weight: 2, arbitrary: fc.record({ do: fc.constant("list" as const), who }) },
    { weight: 1, arbitrary: fc.record({ do: fc.constant("logout" as const), who }) },
    { weight: 5, arbitrary: fc.record({ do: fc.constant("end" as const), who, target }) },
    ...extra.map((arbitrary) => ({ weight: 2, arbitrary })),
  );

  /** The handle SIDE's session of browser WHO holds in Redis, or a handle that names nothing. */
  async function handleOf(side: Side, who: number): Promise<string> {
    const id = idOf(side, who);
    const raw = id ? await sides.admin(side.name).get(`sess:${id}`) : null;
    return raw
      ? ((JSON.parse(raw) as { handle?: string }).handle ?? MADE_UP)
      : "a-session-that-is-gone";
  }

  async function perform(a: Action, side: Side): Promise<Answer | undefined> {
    if (a.do === "fail") {
      if (a.on) side.probe.failing.add("destroy");
      else side.probe.failing.delete("destroy");
      return undefined;
    }
    const visitor = side.visitors[a.who];
    if (!visitor) return undefined;
    side.notes.target = undefined;
    switch (a.do) {
      case "login":
        return visitor.send("POST", "/login", JSON_CLIENT, { username: USERS[a.who] });
      case "list":
        return visitor.send("GET", "/sessions", JSON_CLIENT);
      case "logout":
        return visitor.send("POST", "/logout", JSON_CLIENT);
      case "end": {
        const t = a.target;
        if (t.kind === "handle" || t.kind === "id") side.notes.target = idOf(side, t.of);
        const handle =
          t.kind === "handle"
            ? await handleOf(side, t.of)
            : t.kind === "id"
              ? (idOf(side, t.of) ?? MADE_UP)
              : t.kind === "made-up"
                ? MADE_UP
                : undefined;
        return visitor.send(
          "POST",
          "/sessions/end",
          JSON_CLIENT,
          handle === undefined ? {} : { handle },
        );
      }
    }
  }

  /** What the answer says, and each user's index as labels; the target's tombstone. */
  async function body(a: Action, answer: Answer, side: Side) {
    const admin = sides.admin(side.name);
    const label = (id: string) => side.labels.get(id) ?? "(a session not in the store)";
    const index: Record<string, string[]> = {};
    for (const user of new Set(USERS)) {
      index[user] = (await admin.zRange(`user-sessions:${user}`, 0, -1)).map(label).sort();
    }
    let said: unknown = "(an error)";
    if (answer.status < 400) {
      try {
        const parsed = JSON.parse(answer.text) as Record<string, unknown>;
        said =
          a.do === "list"
            ? ((parsed.sessions as { current?: boolean }[] | undefined) ?? [])
                .map((s) => (s.current ? "this" : "other"))
                .sort()
            : parsed;
      } catch {
        said = "(not JSON)";
      }
    }
    const target = side.notes.target as string | undefined;
    const buried = target ? (await admin.exists(`ended:${target}`)) === 1 : undefined;
    return { said, index, buried };
  }

  return {
    visitors: USERS.length,
    action,
    examples,
    describe,
    actor: (a) => ("who" in a ? a.who : undefined),
    perform,
    body: (a, answer, side) => body(a, answer, side),
    cookie: (line) => {
      const { pair, attributes } = setCookieParts(line);
      const expires = attributes.get("expires");
      return {
        name: pair.slice(0, pair.indexOf("=")),
        cleared: Boolean(expires && Date.parse(expires) < Date.now()),
        path: attributes.get("path") ?? "(none)",
      };
    },
    session: (data) => {
      const { session } = data as { session: Record<string, unknown> };
      return { userId: session.userId, device: session.device };
    },
    allowed: [
      {
        name: "any 5xx, with any cookies, when the store fails",
        apply: (o) => (o.status >= 500 ? { ...o, status: 500, cookies: [] } : o),
      },
      {
        name: "403 or 404 for a handle that is not one of yours",
        apply: (o) => (o.status === 403 ? { ...o, status: 404 } : o),
      },
      {
        name: "any commands, but SCAN and KEYS (how you read the index is yours)",
        apply: (o) => ({ ...o, traffic: { every: (o.traffic.SCAN ?? 0) + (o.traffic.KEYS ?? 0) } }),
      },
    ],
    rules: [statusRule, storeRule, cookieRule, indexRule, trafficRule],
    probe: (side) => sides.probe(side),
    createApp: async (side) => module.createApp(await sides.client(side)),
    createReference: async (side) => reference.createApp(await sides.client(side)),
  };
}

// ---- Rules: what is wrong at a step where your app and the reference differ, in words.
type S = Step<Action>;
const isEnd = (a: Action): a is Extract<Action, { do: "end" }> => a.do === "end";

function statusRule({ action: a, yours: y, reference: r }: S) {
  if (y.status === r.status || !isEnd(a)) return undefined;
  if (r.status === 401)
    return `answered ${y.status} where the browser is not logged in (401 expected)`;
  if (r.status === 400) return `answered ${y.status} to a request without a handle (400 expected)`;
  if (r.status >= 500 && y.status < 400) {
    return `claimed success though the store failed: answered ${y.status} while the store could not destroy the session; pass the error on (a 503)`;
  }
  if (r.status === 404) {
    const t = a.target;
    if (t.kind === "id")
      return `a session id is not a handle: ${name(a.who)} sent ${name(t.of)}'s session id and got ${y.status}; ids never leave the server, so none may be accepted`;
    if (t.kind === "handle" && USERS[t.of] !== USERS[a.who])
      return `${name(a.who)} (${USERS[a.who]}) ended another user's session with its handle (answered ${y.status}): look the handle up among this user's own sessions only (an IDOR)`;
    return `answered ${y.status} for a handle that names none of this user's live sessions (404 expected)`;
  }
  if (a.target.kind === "handle" && a.target.of === a.who) {
    return `this browser's own handle answered ${y.status}: ending this session is a logout (200 {"loggedOut": true})`;
  }
  return `POST /sessions/end answered ${y.status} where ${r.status} was expected`;
}

function storeRule({ action: a, yours: y, reference: r, owners }: S) {
  const said: string[] = [];
  for (const label of Object.keys(r.store)) {
    if (label in y.store) continue;
    const owner = owners.get(label);
    const ownerName = owner ? `${owner} (${USERS["ABCD".indexOf(owner)]})` : "someone";
    said.push(
      isEnd(a) && owner && USERS["ABCD".indexOf(owner)] !== USERS[a.who]
        ? `another user's session was ended: ${name(a.who)}'s request ended ${ownerName}'s session (${label})`
        : `other sessions than the one named were ended: ${ownerName}'s session (${label}) is gone`,
    );
  }
  for (const label of Object.keys(y.store)) {
    if (!(label in r.store))
      said.push(`the session ${label} is still in the store where it should be ended`);
  }
  return said.join("\n") || undefined;
}

function cookieRule({ action: a, yours: y, reference: r }: S) {
  const cleared = (o: Observation) => (o.cookies as { cleared: boolean }[]).some((c) => c.cleared);
  if (cleared(r) && !cleared(y)) {
    return `the session cookie is not cleared: ${describe(a)} ended this browser's session, which is a logout`;
  }
  return undefined;
}

function indexRule({ yours: y, reference: r }: S) {
  const mine = y.body as { index?: Record<string, string[]>; buried?: boolean; said?: unknown };
  const theirs = r.body as typeof mine;
  const said: string[] = [];
  for (const [user, labels] of Object.entries(theirs.index ?? {})) {
    const yourLabels = mine.index?.[user] ?? [];
    if (yourLabels.some((l) => !labels.includes(l)))
      said.push(
        `the index still lists an ended session: user-sessions:${user} holds ${JSON.stringify(yourLabels)} where ${JSON.stringify(labels)} was expected`,
      );
    if (labels.some((l) => !yourLabels.includes(l)))
      said.push(
        `the index lost a session that is still live: user-sessions:${user} holds ${JSON.stringify(yourLabels)} where ${JSON.stringify(labels)} was expected`,
      );
  }
  if (theirs.buried === true && mine.buried === false) {
    said.push(
      "the session was deleted, not ended for good: no tombstone (ended:<id>), so a late write of a request under way brings it back; end it through the store's destroy()",
    );
  }
  if (!said.length && JSON.stringify(mine.said) !== JSON.stringify(theirs.said)) {
    said.push(
      `answered ${JSON.stringify(mine.said)} where ${JSON.stringify(theirs.said)} was expected`,
    );
  }
  return said.join("\n") || undefined;
}

function trafficRule({ yours: y, reference: r }: S) {
  const said: string[] = [];
  if ((y.traffic.every ?? 0) > (r.traffic.every ?? 0)) {
    said.push(
      "looked through every session in Redis (SCAN or KEYS): read this user's index instead",
    );
  }
  if (y.early && !r.early) {
    said.push(
      "answered before the store confirmed: the session was not yet destroyed when the answer went out",
    );
  }
  return said.join("\n") || undefined;
}

const [A, B, C] = [0, 1, 2];
const login = (who: number): Action => ({ do: "login", who });
const end = (who: number, target: Target): Action => ({ do: "end", who, target });

export default defineCheck<Module>({
  entry: "app.ts",
  cases: [
    {
      name: "POST /sessions/end ends the named session of this user, and only that",
      timeoutMs: 30_000,
      run: async ({ module, redis }) => {
        const sides = await RedisSides.start(await redis());
        await differential(
          model(
            module,
            sides,
            [],
            [
              [login(A), login(B), end(A, { kind: "handle", of: B }), { do: "list", who: B }],
              [login(A), login(C), end(C, { kind: "handle", of: A }), { do: "list", who: A }],
              [login(A), login(B), end(B, { kind: "id", of: A })],
              [login(A), end(A, { kind: "made-up" }), end(A, { kind: "none" })],
              [login(A), end(A, { kind: "handle", of: A }), { do: "list", who: A }],
              [end(A, { kind: "handle", of: B })],
              [login(A), login(B), login(3), end(A, { kind: "handle", of: B })],
            ],
          ),
          { runs: 20, maxActions: 6 },
        );
      },
    },
    {
      name: "POST /sessions/end says so when the store fails to end the session",
      timeoutMs: 30_000,
      run: async ({ module, redis }) => {
        const sides = await RedisSides.start(await redis());
        const fault = fc.record({ do: fc.constant("fail" as const), on: fc.boolean() });
        const broken: Action = { do: "fail", on: true };
        await differential(
          model(
            module,
            sides,
            [fault],
            [
              [
                login(A),
                login(B),
                broken,
                end(A, { kind: "handle", of: B }),
                { do: "list", who: A },
              ],
            ],
          ),
          { runs: 6 },
        );
      },
    },
  ],
});
