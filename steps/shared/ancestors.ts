import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * Calls ON_GONE when a process that started this one ends. `npm run step:N` runs
 * npm → sh → node (scripts/run-ts.mjs, which imports this server: one process); a SIGTERM to
 * npm may end npm and sh but not the server, which would keep the port. So the server watches
 * the chain above it: its parent, and under npm (npm_lifecycle_event set) up to three
 * processes up, npm among them. Checked every second; a test runner killed mid-run takes its
 * servers with it the same way.
 */
export function watchAncestors(onGone: (pid: number) => void): void {
  if (process.platform === "win32") return; // no ps, no /proc
  const depth = process.env.npm_lifecycle_event ? 3 : 1;
  const watched: number[] = [];
  let pid = process.ppid;
  while (watched.length < depth && pid > 1) {
    watched.push(pid);
    pid = parentOf(pid) ?? 0;
  }
  setInterval(() => {
    const gone = watched.find((each) => !isAlive(each));
    if (gone !== undefined) onGone(gone);
  }, 1000).unref();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether it exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // exists, not ours
  }
}

/** The parent of PID: from /proc on Linux, from ps elsewhere; undefined if unknown. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (command) state ppid …": the command may hold spaces, so read after its ")".
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    try {
      return Number(execFileSync("ps", ["-o", "ppid=", "-p", String(pid)], { encoding: "utf8" }));
    } catch {
      return undefined;
    }
  }
}
