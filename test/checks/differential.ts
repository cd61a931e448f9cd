/**
 * Differential checks: the learner's app and the reference solution, side by side, each with a
 * store of its own, get the same scenarios of requests, drawn by fast-check from a model of
 * what clients do (several visitors, each with its own cookie jar). After every request the
 * check compares what a visitor and an operator can see: the status, the body (normalised by
 * the check), the Set-Cookie lines, the sessions in the store, the store's traffic, and
 * whether the answer went out before the store confirmed its work. The first difference is
 * shrunk to the shortest scenario that shows it and explained by the check's rules, in words.
 *
 * Runs and draws: `npm run check -- 1 --draw 42 --runs 200` (scripts/check.ts passes them as
 * CHECK_DRAW and CHECK_RUNS); the same draw by default, so a failure replays.
 */
import { Agent } from "node:http";
import type { Express } from "express";
import express from "express";
import type session from "express-session";
import fc from "fast-check";
import { type Answer, Client } from "./http-client.ts";
import { serveApp, Wrong } from "./kit.ts";
import { StoreProbe, type Traffic } from "./store-probe.ts";

export type { Answer, Client, StoreProbe, Traffic };

/** One app under comparison: served, with its visitors and its store's probe. */
export interface Side {
  readonly name: "yours" | "reference";
  readonly visitors: Client[];
  readonly probe: StoreProbe;
  /** Set when a response's headers went out while the store had calls unconfirmed. */
  early: boolean;
  /** Session ids in the order the store first held them: "#1", "#2"… */
  readonly labels: Map<string, string>;
  /** Who made each session (a visitor's letter), by label. */
  readonly owners: Map<string, string>;
  /** What the check notes about the request in flight (e.g. which cookies it carried). */
  notes: Record<string, unknown>;
  /** Runs FN when the scenario ends (a client the app was given, closed). */
  after(fn: () => unknown): void;
}

/** What one request looked like from outside, normalised so that two apps can be compared. */
export interface Observation {
  status: number;
  body: unknown;
  cookies: unknown[];
  store: Record<string, unknown>;
  traffic: Traffic;
  early: boolean;
}

/** What the check tells the harness: clients' actions, how to observe and explain them. */
export interface Model<Action> {
  visitors: number;
  action: fc.Arbitrary<Action>;
  /** Scenarios always tried first (the lessons' classic cases). */
  examples?: Action[][];
  /** "B: POST /reset" */
  describe(action: Action): string;
  /** The visitor who acts (its index), if any. */
  actor(action: Action): number | undefined;
  /** Does ACTION on SIDE: a response for a request, undefined for a change of jar or store. */
  perform(action: Action, side: Side): Promise<Answer | undefined>;
  /** The body as the check compares it (ids masked, the learner's words judged, not quoted). */
  body(action: Action, answer: Answer, side: Side, reference: Side): unknown;
  /** One Set-Cookie line as compared. */
  cookie(line: string): unknown;
  /** One stored session as compared. */
  session(data: unknown): unknown;
  /** Differences the lesson allows, by name: applied to both observations before comparing. */
  allowed: {
    name: string;
    apply(observation: Observation, action: Action, side: Side): Observation;
  }[];
  /** Rules in the learner's words: each says what is wrong at this step, or nothing. */
  rules: ((step: Step<Action>) => string | undefined)[];
  /** A fresh app for each scenario, its store new or emptied (SIDE.probe is already made). */
  createApp(side: Side): Express | Promise<Express>;
  createReference(side: Side): Express | Promise<Express>;
  /**
   * The probe of a side's store for a scenario: by default a StoreProbe that lists sessions
   * with the store's all(); a Redis check's comes from test/checks/redis-probe.ts.
   */
  probe?(name: Side["name"]): StoreProbe | Promise<StoreProbe>;
}

export interface Step<Action> {
  action: Action;
  yours: Observation;
  reference: Observation;
  /** Labels of the sessions the reference held before this step. */
  before: Record<string, unknown>;
  /** Who made each session of the reference (a visitor's letter), by label. */
  owners: Map<string, string>;
  /** The reference as it is after this step (its visitors' jars, its store). */
  referenceSide: Side;
}

const json = (value: unknown) =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
const letter = (index: number | undefined) =>
  index === undefined ? "" : ("ABCDEFGH"[index] ?? "?");

async function observe<Action>(model: Model<Action>, side: Side, action: Action, reference: Side) {
  const traffic = { ...side.probe.traffic };
  side.early = false;
  const answer = await model.perform(action, side);
  if (!answer) return undefined;
  await side.probe.settle();
  const sessions = await side.probe.sessions();
  const store: Record<string, unknown> = {};
  for (const [id, data] of Object.entries(sessions)) {
    if (!side.labels.has(id)) {
      const label = `#${side.labels.size + 1}`;
      side.labels.set(id, label);
      side.owners.set(label, letter(model.actor(action)));
    }
    store[side.labels.get(id) as string] = model.session(data);
  }
  const delta: Traffic = {};
  for (const [op, n] of Object.entries(side.probe.traffic))
    if (n !== (traffic[op] ?? 0)) delta[op] = n - (traffic[op] ?? 0);
  return {
    status: answer.status,
    body: await model.body(action, answer, side, reference),
    cookies: answer.setCookies.map((line) => model.cookie(line)),
    store,
    traffic: delta,
    early: side.early,
  } satisfies Observation;
}

/**
 * A server for one side, kept for the whole property; each scenario gets a fresh app (so a
 * fresh store), fresh visitors and a fresh probe. A wrapper finds the app's store (as
 * express-session hands it to the request) and sees when each answer's headers go out.
 */
async function serveSide<Action>(model: Model<Action>, name: Side["name"]) {
  let side: Side | undefined;
  let app: Express | undefined;
  const outer = express();
  outer.use((req, res, next) => {
    const current = side;
    if (!current || !app) return next();
    let store: unknown;
    Object.defineProperty(req, "sessionStore", {
      configurable: true,
      get: () => store,
      set(value: session.Store) {
        store = value;
        current.probe.attach(value);
      },
    });
    const writeHead = res.writeHead;
    res.writeHead = function (this: typeof res, ...args: unknown[]) {
      if (current.probe.unconfirmed > 0) current.early = true;
      return (writeHead as (...a: unknown[]) => typeof res).apply(this, args);
    } as typeof res.writeHead;
    app(req, res, next);
  });
  const served = await serveApp(outer);
  const url = new URL(served.site.url);
  const agent = new Agent({ keepAlive: true });
  let cleanups: (() => unknown)[] = [];
  /** Ends the last scenario: what its app was given (clients, timers) is closed. */
  const end = async () => {
    const ending = cleanups.reverse();
    cleanups = [];
    for (const cleanup of ending)
      await Promise.resolve()
        .then(cleanup)
        .catch(() => {});
  };
  return {
    close: async () => {
      await end();
      agent.destroy();
      return served.close();
    },
    end,
    /** A fresh app, store probe and visitors for the next scenario. */
    async fresh(): Promise<Side> {
      await end();
      side = undefined;
      const visitors = Array.from({ length: model.visitors }, () => new Client(url, agent));
      const fresh: Side = {
        name,
        visitors,
        probe: (await model.probe?.(name)) ?? new StoreProbe(),
        early: false,
        labels: new Map(),
        owners: new Map(),
        notes: {},
        after: (fn) => void cleanups.push(fn),
      };
      app = await (name === "yours" ? model.createApp(fresh) : model.createReference(fresh));
      side = fresh;
      return fresh;
    },
  };
}

interface Difference {
  rules: string[];
  /** A request never answered (or the check could not read an answer): not worth shrinking, each try costs the whole wait; what was expected and seen instead. */
  hung?: { detail: string };
  transcript: string[];
  yours: Observation;
  reference: Observation;
}

type Served = Awaited<ReturnType<typeof serveSide>>;

/** Runs one scenario on both apps; the first step where they differ, or nothing. */
async function scenario<Action>(
  model: Model<Action>,
  servers: [Served, Served],
  actions: Action[],
): Promise<Difference | undefined> {
  const transcript: string[] = [];
  let current: Action | undefined;
  let before: Record<string, unknown> = {};
  try {
    const [mine, theirs] = (await Promise.all(servers.map((served) => served.fresh()))) as [
      Side,
      Side,
    ];
    for (const action of actions) {
      current = action;
      const [y, r] = await Promise.all([
        observe(model, mine, action, theirs),
        observe(model, theirs, action, theirs),
      ]);
      transcript.push(`${model.describe(action)}${r ? ` → ${r.status}` : ""}`);
      if (!y || !r) continue;
      const previous = before;
      before = r.store;
      const normalised = (o: Observation, side: Side) =>
        model.allowed.reduce((acc, rule) => rule.apply(acc, action, side), o);
      const [yours, reference] = [normalised(y, mine), normalised(r, theirs)];
      if (json(yours) === json(reference)) continue;
      const step = {
        action,
        yours,
        reference,
        before: previous,
        owners: theirs.owners,
        referenceSide: theirs,
      };
      const rules = model.rules.flatMap((rule) => rule(step) ?? []);
      return { rules, transcript, yours, reference };
    }
    return undefined;
  } catch (error) {
    // A request that hung (Client names it), or the learner's code threw where the check looked.
    if (current !== undefined) transcript.push(`${model.describe(current)} → no answer`);
    const wrong = error instanceof Wrong ? error : undefined;
    const none: Observation = {
      status: 0,
      body: null,
      cookies: [],
      store: {},
      traffic: {},
      early: false,
    };
    const hung = { detail: wrong ? wrong.message.slice(wrong.what.length) : "" };
    return {
      rules: [wrong?.what ?? String(error)],
      transcript,
      yours: none,
      reference: none,
      hung,
    };
  }
}

/** One Set-Cookie line, cut up: "name=value", and its attributes by lower-case name. */
export function setCookieParts(line: string): { pair: string; attributes: Map<string, string> } {
  const [pair = "", ...parts] = line.split(";").map((part) => part.trim());
  const attributes = new Map(
    parts.map((part) => {
      const [key = "", ...value] = part.split("=");
      return [key.toLowerCase(), value.join("=")] as const;
    }),
  );
  return { pair, attributes };
}

/** Shows an observation the way a learner reads it. */
function shown(o: Observation): string {
  const parts = [`${o.status} ${json(o.body)}`];
  parts.push(`Set-Cookie: ${o.cookies.length ? o.cookies.map((c) => json(c)).join(", ") : "none"}`);
  parts.push(`store: ${Object.keys(o.store).length ? json(o.store) : "no session"}`);
  const traffic = Object.entries(o.traffic).map(([op, n]) => `${op}×${n}`);
  parts.push(
    `store calls: ${traffic.join(" ") || "none"}${o.early ? " (answered before the store confirmed)" : ""}`,
  );
  return parts.join(" · ");
}

/**
 * Plays the model's examples, then RUNS scenarios drawn at random (fast-check counts examples
 * among its runs: they are added), until the learner's app differs from the reference; then
 * fails with the shortest scenario found, what each answered, and the rules it breaks.
 */
export async function differential<Action>(
  model: Model<Action>,
  { runs = 30, maxActions = 8, shrinkTries = 20 } = {},
): Promise<void> {
  const draw = Number(process.env.CHECK_DRAW ?? 20261207);
  const drawn = Number(process.env.CHECK_RUNS ?? runs);
  let last: Difference | undefined;
  // After the first difference, fast-check tries shorter scenarios; SHRINKTRIES of them at most
  // (counted, not timed, so that a busy machine shows the same scenario as a quiet one).
  let triesLeft: number | undefined;
  const property = fc.asyncProperty(
    fc.array(model.action, { minLength: 1, maxLength: maxActions }),
    async (actions) => {
      // Past the budget, every further candidate counts as passing: the last failure stays.
      if (triesLeft !== undefined && triesLeft-- <= 0) return true;
      const difference = await scenario(model, servers, actions);
      if (!difference) return true;
      last = difference;
      triesLeft ??= difference.hung ? 0 : shrinkTries;
      return false;
    },
  );
  const examples = (model.examples ?? []).map((actions) => [actions] as [Action[]]);
  const numRuns = examples.length + drawn;
  const servers: [Served, Served] = await Promise.all([
    serveSide(model, "yours"),
    serveSide(model, "reference"),
  ]);
  const result = await fc
    .check(property, { seed: draw, numRuns, examples })
    .finally(() => Promise.all(servers.map((served) => served.close())));
  if (!result.failed || !last) return;
  const steps = last.transcript.map((line, i) => `  ${i + 1}. ${line}`);
  const rules = last.rules.length
    ? last.rules
    : ["your app answered differently from the reference"];
  const scenarioText = `${rules.join("\n")}\n  when visitors do this (${last.hung ? "a scenario found" : "the shortest scenario found"}):\n${steps.join("\n")}`;
  if (last.hung) throw new Wrong(`${scenarioText}${last.hung.detail}`);
  throw new Wrong(
    scenarioText,
    `(at step ${steps.length}) ${shown(last.reference)}`,
    `${shown(last.yours)}\n  (the check's ${examples.length} scenarios, then ${drawn} of draw ${draw}: the same every time; \`--draw S --runs R\` draw others)`,
  );
}
