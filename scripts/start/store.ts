/**
 * The store pane and the events pane of `npm start`: what the running step's store holds, once a
 * second, and what the store is told as it happens. Each on connections of its own (the app's
 * connections are the app's business), to the servers the page started (services.ts):
 * - Redis: the keys with their time left (PTTL); every command, through MONITOR; each key that
 *   expires, through keyspace events (`notify-keyspace-events Ex`, switched on here, on the
 *   page's own Redis). Behind Sentinel, all of it on whichever node is primary now, and the
 *   sentinels' own news (+sdown, +odown, +switch-master) from one of them.
 * - MongoDB: the documents of the sessions collection. Files: the session files.
 * - PostgreSQL: the users, and the session table's rows with their expiry; its statements come
 *   from the tap (sql-tap.ts), not from here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import pg from "pg";
import { createClient } from "redis";
import { workshopDir } from "../../lib/services/workshop-dir.ts";
import type { Step } from "../../workshop.ts";
import type { StepServices } from "./services.ts";

/** One thing the store holds: a key (or file, or _id, or row), time left, what is stored. */
export interface Entry {
  key: string;
  /** Milliseconds left; -1 when it never expires; null when the store keeps no expiry. */
  ttlMs: number | null;
  value: string;
}
/** What one place holds: "Redis on 127.0.0.1:6390", "PostgreSQL: users"… */
export interface Group {
  title: string;
  entries: Entry[];
  /** Said instead of entries, when this page cannot look there (now). */
  note?: string;
}
export interface StoreView {
  store: string;
  groups: Group[];
}
/** Something the store was told or did, as it happened. */
export interface Heard {
  /** redis: a command (MONITOR); expired: a key Redis expired; sentinel: a sentinel's news. */
  source: "redis" | "expired" | "sentinel" | "sql";
  /** When, in ms since 1970 (Redis's clock for a command: the same machine's). */
  at: number;
  text: string;
  /** Where: the client's address for a command. */
  who?: string;
}
type Hear = (heard: Heard) => void;
/** Looks once; closes its connections. */
interface Watcher {
  look(): Promise<Group[]>;
  close(): Promise<unknown>;
}

const SHOWN = 50; // entries at most: a projector shows a dozen anyway
const clip = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);
/**
 * A client's bookkeeping, not the app's work: PING every 0.5 s would drown the rest. And behind
 * Sentinel, what the sentinels and the replica say to the primary to keep in touch.
 */
const QUIET =
  /^"(PING|CLIENT|HELLO|SELECT|INFO|AUTH|QUIT|ROLE|REPLCONF|PSYNC|SYNC)"|^"(PUBLISH|SUBSCRIBE)" "__sentinel__:hello"/i;
const FAILED = (error: Error): Group[] => [
  { title: "the store", entries: [], note: `cannot look inside now: ${error.message}` },
];

/**
 * Watches the store of STEP: a snapshot to SHOW every second, and what it hears to HEAR.
 * Resolves a function that stops it all.
 */
export async function watchStore(
  step: Step,
  services: StepServices,
  show: (view: StoreView) => void,
  hear: Hear,
): Promise<() => Promise<void>> {
  const watchers: Watcher[] = [];
  try {
    if (services.redis) {
      const url = services.redis.url;
      watchers.push(watchRedis(async () => url, hear));
    }
    if (services.sentinels) {
      const { sentinels } = services;
      watchers.push(
        watchRedis(async () => {
          const { host, port } = await sentinels.primary();
          return `redis://${host}:${port}`;
        }, hear),
      );
      watchers.push(await watchSentinel(sentinels.sentinels[0] ?? { host: "", port: 0 }, hear));
    }
    if (services.mongo) watchers.push(await watchMongo(services.mongo.url));
    if (services.postgres) watchers.push(await watchPostgres(services.postgres.url));
    if (step.store === "file") watchers.push(watchFiles());
  } catch (error) {
    await Promise.all(watchers.map((watcher) => watcher.close().catch(() => {})));
    throw error;
  }
  if (step.store === "memory") {
    const note =
      "MemoryStore keeps the sessions inside the app's process: nothing outside can look.";
    watchers.push({
      look: async () => [{ title: "memory", entries: [], note }],
      close: async () => {},
    });
  }

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    const groups = await Promise.all(watchers.map((watcher) => watcher.look().catch(FAILED)));
    if (stopped) return;
    show({ store: step.store, groups: groups.flat() });
    timer = setTimeout(tick, 1000);
  };
  // The first look connects the watch (MONITOR, expiry events) before this resolves, so that
  // the app, started after it, sends nothing the events pane misses.
  await tick();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await Promise.all(watchers.map((watcher) => watcher.close().catch(() => {})));
  };
}

type RedisClient = ReturnType<typeof createClient>;

/**
 * The Redis that WHERE names now (it changes when Sentinel promotes a replica): its keys, its
 * commands, its expiries, each on a connection of this page's own.
 */
function watchRedis(where: () => Promise<string>, hear: Hear): Watcher {
  let url = "";
  let clients: RedisClient[] = [];
  let reader: RedisClient | undefined;
  const close = async () => {
    const old = clients;
    clients = [];
    reader = undefined;
    await Promise.all(old.map(async (client) => client.isOpen && client.destroy()));
  };
  const connect = async (to: string) => {
    await close();
    url = to;
    const made = [0, 1, 2].map(() =>
      createClient({ url: to, socket: { connectTimeout: 2000, reconnectStrategy: false } }),
    );
    for (const client of made) client.on("error", () => {}); // shown as a note, not a crash
    clients = made;
    const [newReader, monitor, listener] = made as [RedisClient, RedisClient, RedisClient];
    await Promise.all(made.map((client) => client.connect()));
    // This page's own commands (its SCANs, PTTLs) are left out of the traffic, by address.
    const ours = await Promise.all(
      [newReader, listener].map(async (client) => {
        const info = String(await client.sendCommand(["CLIENT", "INFO"]));
        return /\baddr=(\S+)/.exec(info)?.[1] ?? "";
      }),
    );
    await monitor.monitor((line) => {
      // 1712345678.123456 [0 127.0.0.1:50000] "SET" "sess:x" "…": time, who, command
      const match = /^(\d+\.\d+) \[\d+ ([^\]]+)\] (.*)$/s.exec(String(line));
      if (!match || ours.includes(match[2] ?? "") || QUIET.test(match[3] ?? "")) return;
      hear({ source: "redis", at: Number(match[1]) * 1000, who: match[2], text: match[3] ?? "" });
    });
    // "E": keyevent notifications, "x": expired. The page's own Redis: nobody else's setting.
    await newReader.configSet("notify-keyspace-events", "Ex");
    await listener.pSubscribe("__keyevent@*__:expired", (key) =>
      hear({ source: "expired", at: Date.now(), text: key }),
    );
    reader = newReader;
  };
  return {
    close,
    look: async () => {
      const now = await where();
      if (now !== url || !reader?.isReady) await connect(now);
      const client = reader as RedisClient;
      const keys: string[] = [];
      for await (const found of client.scanIterator({ COUNT: 100 })) {
        keys.push(...found);
        if (keys.length >= SHOWN) break;
      }
      const entries = await Promise.all(
        keys.sort().map(async (key) => {
          const [ttlMs, type] = await Promise.all([client.pTTL(key), client.type(key)]);
          return { key, ttlMs, value: clip(await shownValue(client, key, type)) };
        }),
      );
      return [{ title: `Redis at ${now.replace("redis://", "")}`, entries }];
    },
  };
}

/** A key's value as text: a string as it is, a hash's fields, a sorted set's members… */
async function shownValue(client: RedisClient, key: string, type: string): Promise<string> {
  switch (type) {
    case "string":
      return (await client.get(key)) ?? "";
    case "hash":
      return `hash ${JSON.stringify(await client.hGetAll(key))}`;
    case "zset": {
      const members = await client.zRangeWithScores(key, 0, 19);
      return `sorted set ${members.map(({ value, score }) => `${value} (${score})`).join(", ")}`;
    }
    case "set":
      return `set ${(await client.sRandMemberCount(key, 20)).join(", ")}`;
    case "list":
      return `list ${(await client.lRange(key, 0, 19)).join(", ")}`;
    default:
      return `(a ${type})`;
  }
}

/** A sentinel's news: a primary it thinks down, one they agree is down, a new primary. */
async function watchSentinel(
  sentinel: { host: string; port: number },
  hear: Hear,
): Promise<Watcher> {
  const client = createClient({ socket: { ...sentinel, reconnectStrategy: false } });
  client.on("error", () => {});
  await client.connect();
  const news = ["+sdown", "-sdown", "+odown", "+switch-master"];
  await client.subscribe(news, (message, channel) =>
    hear({ source: "sentinel", at: Date.now(), text: `${channel} ${message}` }),
  );
  return { look: async () => [], close: async () => client.isOpen && client.destroy() };
}

async function watchMongo(url: string): Promise<Watcher> {
  const client = await new MongoClient(url, { serverSelectionTimeoutMS: 3000 }).connect();
  const sessions = client
    .db()
    .collection<{ _id: string; session: string; expires?: Date }>("sessions");
  return {
    close: () => client.close(),
    look: async () => {
      const found = await sessions.find().limit(SHOWN).toArray();
      const entries = found.map(({ _id, session, expires }) => ({
        key: _id,
        ttlMs: expires ? expires.getTime() - Date.now() : null,
        value: clip(String(session)),
      }));
      return [{ title: "MongoDB: the sessions collection", entries }];
    },
  };
}

/**
 * PostgreSQL: the users (step 05's table) and, where the step keeps its sessions there, the
 * session table (connect-pg-simple's: sid, sess, expire). Time left is worked out by
 * PostgreSQL itself: `expire` is a timestamp without a time zone, in the server's.
 */
async function watchPostgres(url: string): Promise<Watcher> {
  const client = new pg.Client({ connectionString: url, query_timeout: 2000 });
  client.on("error", () => {});
  await client.connect();
  const tables = async () =>
    (
      await client.query<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'",
      )
    ).rows.map((row) => row.name);
  return {
    close: () => client.end(),
    look: async () => {
      const found = await tables();
      const groups: Group[] = [];
      if (found.includes("users")) {
        const { rows } = await client.query<{ username: string; created: string }>(
          "SELECT username, to_char(created_at, 'HH24:MI:SS') AS created FROM users " +
            `ORDER BY created_at DESC LIMIT ${SHOWN}`,
        );
        groups.push({
          title: "PostgreSQL: users (username; the password only as salt and hash)",
          entries: rows.map((row) => ({
            key: row.username,
            ttlMs: null,
            value: `created ${row.created}`,
          })),
        });
      }
      if (found.includes("session")) {
        const { rows } = await client.query<{ sid: string; sess: string; ms: number }>(
          "SELECT sid, sess::text AS sess, " +
            "(EXTRACT(EPOCH FROM (expire - localtimestamp)) * 1000)::float8 AS ms " +
            `FROM session ORDER BY expire DESC LIMIT ${SHOWN}`,
        );
        groups.push({
          title: "PostgreSQL: the session table (a row per session; expire)",
          entries: rows.map((row) => ({ key: row.sid, ttlMs: row.ms, value: clip(row.sess) })),
        });
      }
      if (groups.length === 0) {
        groups.push({ title: "PostgreSQL", entries: [], note: "no tables yet" });
      }
      return groups;
    },
  };
}

/** The session files of step 02, where steps/02-file-store/server.ts keeps them. */
function watchFiles(): Watcher {
  const dir = process.env.SESSIONS_DIR ?? workshopDir("sessions");
  return {
    close: async () => {},
    look: async () => {
      const files = readdirSync(dir).filter((file) => file.endsWith(".json"));
      const entries = files.slice(0, SHOWN).flatMap((file) => {
        let text: string;
        try {
          text = readFileSync(join(dir, file), "utf8");
        } catch {
          return []; // reaped since the listing
        }
        const expires = /"expires":"([^"]+)"/.exec(text)?.[1];
        const ttlMs = expires ? Date.parse(expires) - Date.now() : null;
        return [{ key: file, ttlMs, value: clip(text) }];
      });
      return [{ title: `Files in ${dir}`, entries }];
    },
  };
}
