import { mkdir, readdir, readFile, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { SessionData, Store } from "express-session";
import { GuardedStore } from "./guarded-store.ts";
import { SESSION_ID_SHAPE } from "./session-id.ts";

/** A session of the workshop is a few hundred bytes; a file far larger than that is not one. */
export const MAX_SESSION_FILE_BYTES = 64 * 1024;
/** A temporary file younger than this may be a write in progress: leave it alone. */
const TEMP_FILE_GRACE_MS = 60_000;

type Callback<Result = void> = (error?: unknown, result?: Result) => void;

const isSession = (value: unknown): value is SessionData =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as { cookie?: unknown }).cookie === "object" &&
  (value as { cookie?: unknown }).cookie !== null;

/**
 * session-file-store, made robust for a folder that anyone can touch (step 02):
 * - the folder is created again when it disappears (before each write);
 * - a file larger than MAX_SESSION_FILE_BYTES, or valid JSON that is not a session, is a
 *   fresh session, and the file is deleted (instead of a 500 on every request, or 13 s and a
 *   gigabyte of memory to read a 100 MB file);
 * - every reap interval (and once at start) a sweep deletes what the store's own reaper
 *   leaves: temporary files of writes that were killed (`<id>.json.<n>`), files that are not
 *   sessions, and oversized ones.
 * And the guards of every store (guarded-store.ts): only ids of the shape we issue.
 */
export function guardFileStore(store: Store, directory: string): Store {
  const sessionFiles = new SaneFiles(store, directory);
  const seconds = (store as { options?: { reapInterval?: number } }).options?.reapInterval ?? 600;
  void sweep(directory);
  setInterval(() => void sweep(directory), seconds * 1000).unref();
  return new GuardedStore(sessionFiles);
}

class SaneFiles extends GuardedStore {
  constructor(
    private readonly files: Store,
    private readonly directory: string,
  ) {
    super(files);
  }

  private fileOf(id: string): string {
    return join(this.directory, `${id}.json`);
  }

  override get(id: string, callback: Callback<SessionData | null>): void {
    stat(this.fileOf(id)).then(
      (info) => {
        if (info.size > MAX_SESSION_FILE_BYTES) {
          unlink(this.fileOf(id)).then(() => callback(null, null), callback);
          return;
        }
        this.files.get(id, (error, session) => {
          if (error || isSession(session)) {
            callback(error, session);
            return;
          }
          // Not a session (or expired: the store answers null): delete it now.
          rm(this.fileOf(id), { force: true }).then(() => callback(null, null), callback);
        });
      },
      () => this.files.get(id, callback), // no file: the store answers as it always does
    );
  }

  override set(id: string, session: SessionData, callback?: Callback): void {
    // Deleted while the server runs? Create it again, rather than fail every write.
    mkdir(this.directory, { recursive: true }).then(
      () => this.files.set(id, session, callback),
      (error: unknown) => callback?.(error),
    );
  }
}

/** Deletes files the store's own reaper leaves behind (see guardFileStore). */
async function sweep(directory: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return; // no folder (yet): nothing to sweep
  }
  for (const name of names) {
    const path = join(directory, name);
    try {
      const info = await stat(path);
      if (!info.isFile()) continue;
      const sessionFile = name.endsWith(".json") && SESSION_ID_SHAPE.test(name.slice(0, -5));
      if (!sessionFile) {
        if (Date.now() - info.mtimeMs > TEMP_FILE_GRACE_MS) await unlink(path);
        continue;
      }
      if (info.size > MAX_SESSION_FILE_BYTES || !isSessionText(await readFile(path, "utf8"))) {
        await unlink(path);
      }
    } catch {
      // gone meanwhile, or not ours to delete: the next sweep tries again
    }
  }
}

function isSessionText(text: string): boolean {
  try {
    return isSession(JSON.parse(text));
  } catch {
    return false;
  }
}
