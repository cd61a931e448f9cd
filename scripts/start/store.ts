/**
 * The store pane and the events pane of `npm start`: what the running step's store holds, once a
 * second, and (Redis) every command it runs, seen through MONITOR. Each on a connection of its
 * own: the app's connections are the app's business.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { createClient } from "redis";
import { workshopDir } from "../../lib/services/workshop-dir.ts";
import type { Step } from "../../workshop.ts";

/** One session as its store holds it: its key (or file, or _id), time left, what is stored. */
export interface Entry {
  key: string;
  /** Milliseconds left; -1 when it never expires; null when the store keeps no expiry. */
  ttlMs: number | null;
  value: string;
}
export interface StoreView {
  store: string;
  /** Where it is: the Redis URL, the folder… */
  where?: string;
  entries: Entry[];
  /** Said instead of entries, when this page does not look inside this store. */
  note?: string;
}

const SHOWN = 50; // entries at most: a projector shows a dozen anyway
const clip = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);
/** A client's bookkeeping, not the app's work: PING every 0.5 s would drown the rest. */
const QUIET = /^\S+ \[\d+ [^\]]+\] "(PING|CLIENT|HELLO|SELECT|INFO|AUTH|QUIT)"/i;

/** Where the step's store is, found before it starts: handed to it as REDIS_URL, MONGO_URL. */
export interface Urls {
  redis?: string;
  mongo?: string;
}

/**
 * Watches the store of STEP: a snapshot to SHOW every second, and for Redis each command to
 * HEAR. Resolves a function that stops it all.
 */
export async function watchStore(
  step: Step,
  urls: Urls,
  show: (view: StoreView) => void,
  hear: (line: string) => void,
): Promise<() => Promise<void>> {
  const closers: (() => Promise<unknown>)[] = [];
  let look: () => Promise<StoreView>;
  if (urls.redis) {
    const url = urls.redis;
    const [reader, monitor] = [createClient({ url }), createClient({ url })];
    for (const client of [reader, monitor]) {
      client.on("error", () => {}); // a Redis that goes away shows as an empty pane, not a crash
      closers.push(async () => client.isOpen && client.destroy());
    }
    await Promise.all([reader.connect(), monitor.connect()]);
    // MONITOR shows this page's own SCANs too, from the reader's address: those are left out.
    const info = String(await reader.sendCommand(["CLIENT", "INFO"]));
    const own = ` ${/\baddr=(\S+)/.exec(info)?.[1]}]`;
    await monitor.monitor((line) => {
      const text = String(line);
      if (!text.includes(own) && !QUIET.test(text)) hear(text);
    });
    look = async () => {
      const keys: string[] = [];
      for await (const found of reader.scanIterator({ COUNT: 100 })) {
        keys.push(...found);
        if (keys.length >= SHOWN) break;
      }
      const entries = await Promise.all(
        keys.sort().map(async (key) => {
          const [ttlMs, type] = await Promise.all([reader.pTTL(key), reader.type(key)]);
          const value = type === "string" ? ((await reader.get(key)) ?? "") : `(a ${type})`;
          return { key, ttlMs, value: clip(value) };
        }),
      );
      return { store: step.store, where: url, entries };
    };
  } else if (urls.mongo) {
    const client = await new MongoClient(urls.mongo, { serverSelectionTimeoutMS: 3000 }).connect();
    closers.push(() => client.close());
    const sessions = client
      .db()
      .collection<{ _id: string; session: string; expires?: Date }>("sessions");
    look = async () => {
      const found = await sessions.find().limit(SHOWN).toArray();
      const entries = found.map(({ _id, session, expires }) => ({
        key: _id,
        ttlMs: expires ? expires.getTime() - Date.now() : null,
        value: clip(String(session)),
      }));
      return { store: step.store, where: `${urls.mongo} (collection sessions)`, entries };
    };
  } else if (step.store === "file") {
    // Where steps/02-file-store/server.ts keeps them.
    const dir = process.env.SESSIONS_DIR ?? workshopDir("sessions");
    look = async () => {
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
      return { store: "file", where: dir, entries };
    };
  } else {
    const where = step.store === "postgres" ? "PostgreSQL: npm run sql" : "Redis behind Sentinel";
    const note =
      step.store === "memory"
        ? "MemoryStore keeps the sessions inside the app's process: nothing outside can look."
        : `This pane shows Redis keys, MongoDB documents and session files; step ${step.number} ` +
          `keeps its sessions elsewhere (${where}).`;
    show({ store: step.store, entries: [], note });
    return async () => {};
  }

  let stopped = false;
  const tick = async () => {
    const view = await look().catch((error: Error) => ({
      store: step.store,
      entries: [],
      note: `cannot look inside: ${error.message}`,
    }));
    if (stopped) return;
    show(view);
    timer = setTimeout(tick, 1000);
  };
  let timer = setTimeout(tick, 0);
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await Promise.all(closers.map((close) => close().catch(() => {})));
  };
}
