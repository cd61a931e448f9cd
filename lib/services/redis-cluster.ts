import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { ServiceError } from "./errors.ts";
import { freePort, waitUntil, which } from "./net.ts";
import { killWithThisProcess } from "./redis.ts";

/**
 * A Redis Cluster of three primaries (no replicas) on free loopback ports, for a test: the 16384
 * hash slots split in three, each key on the one node that owns its slot.
 */
export interface PrivateCluster {
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

export async function startPrivateCluster(): Promise<PrivateCluster> {
  const server = await which("redis-server");
  const cli = await which("redis-cli");
  if (!server || !cli) {
    throw new ServiceError(
      "Redis",
      "Redis Cluster: redis-server and redis-cli are both needed to start a cluster (Debian/Ubuntu: " +
        "`sudo apt install redis-server redis-tools`, macOS: `brew install redis`).",
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "workshop-cluster-"));
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const folder = join(dir, String(port));
      mkdirSync(folder);
      const child = spawn(
        server,
        ["--port", String(port), "--bind", "127.0.0.1", "--dir", folder]
          .concat(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
          .concat(["--appendonly", "no", "--save", ""]),
        { stdio: "ignore" },
      );
      killWithThisProcess(child);
      children.push(child);
    }
    for (const port of ports) {
      await waitUntil(`cluster node on 127.0.0.1:${port}`, () => clusterInfo(port).then(Boolean));
    }
    const create = spawnSync(
      cli,
      ["--cluster", "create", ...[...ports].map((port) => `127.0.0.1:${port}`), "--cluster-yes"],
      { encoding: "utf8", timeout: 60_000 },
    );
    if (create.status !== 0) {
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    }
    for (const port of ports) {
      await waitUntil(`cluster_state:ok on ${port}`, async () =>
        Boolean((await clusterInfo(port))?.includes("cluster_state:ok")),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { ports: [...ports], stop };
}

async function clusterInfo(port: number): Promise<string | undefined> {
  const client = createClient({
    socket: { host: "127.0.0.1", port, connectTimeout: 500, reconnectStrategy: false },
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return String(await client.sendCommand(["CLUSTER", "INFO"]));
  } catch {
    return undefined;
  } finally {
    if (client.isOpen) client.destroy();
  }
}
