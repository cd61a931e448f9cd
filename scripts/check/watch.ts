import { type FSWatcher, readdirSync, statSync, watch } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../lib/services/workshop-dir.ts";

export interface Watcher {
  /** How changes are noticed, to tell the learner: "file events" or "polling every 500 ms". */
  how: string;
  close(): void;
}

const POLL_MS = 500;
const SETTLE_MS = 150; // an editor's save is often several events: wait for the last one

/** Editors' swap and backup files: saving them is not a change to check. */
const ignored = (file: string | null) =>
  file !== null && (file.startsWith(".") || file.endsWith("~") || /\.sw.$|^\d+$/.test(file));

/**
 * Calls `onChange(dir)` after files in one of `dirs` (relative to the repository) change.
 * File events (fs.watch) where the system gives them; polling every 500 ms with `poll`, or
 * by itself where fs.watch fails (some network drives, containers and VMs' shared folders).
 */
export function watchFolders(
  dirs: string[],
  onChange: (dir: string) => void,
  { poll = false } = {},
): Watcher {
  const timers = new Map<string, NodeJS.Timeout>();
  const changed = (dir: string) => {
    clearTimeout(timers.get(dir));
    timers.set(
      dir,
      setTimeout(() => onChange(dir), SETTLE_MS),
    );
  };
  if (!poll) {
    const watchers: FSWatcher[] = [];
    try {
      for (const dir of dirs) {
        const watcher = watch(join(repoRoot, dir), (_event, file) => {
          if (!ignored(file)) changed(dir);
        });
        watchers.push(watcher);
      }
      let fallback: Watcher | undefined;
      const result: Watcher = {
        how: "file events",
        close: () => {
          for (const watcher of watchers) watcher.close();
          fallback?.close();
        },
      };
      for (const watcher of watchers) {
        watcher.once("error", () => {
          if (fallback) return;
          for (const each of watchers) each.close();
          fallback = pollFolders(dirs, changed);
          result.how = fallback.how;
          console.log(`(file events stopped working; ${fallback.how} instead)`);
        });
      }
      return result;
    } catch {
      for (const watcher of watchers) watcher.close();
      // fall through to polling
    }
  }
  return pollFolders(dirs, changed);
}

function pollFolders(dirs: string[], changed: (dir: string) => void): Watcher {
  const last = new Map(dirs.map((dir) => [dir, fingerprint(dir)]));
  const timer = setInterval(() => {
    for (const dir of dirs) {
      const now = fingerprint(dir);
      if (now !== last.get(dir)) {
        last.set(dir, now);
        changed(dir);
      }
    }
  }, POLL_MS);
  return { how: `polling every ${POLL_MS} ms`, close: () => clearInterval(timer) };
}

/** The names, sizes and modification times of a folder's files, as one string. */
function fingerprint(dir: string): string {
  const absolute = join(repoRoot, dir);
  try {
    return readdirSync(absolute)
      .filter((file) => !ignored(file))
      .map((file) => {
        const stats = statSync(join(absolute, file));
        return `${file}:${stats.size}:${stats.mtimeMs}`;
      })
      .join("|");
  } catch {
    return "missing";
  }
}
