import { runProgram } from "../run-script.ts";
import { ServiceError } from "./errors.ts";
import { waitUntil } from "./net.ts";
import { redis, withRedis } from "./redis.ts";
import { onPath, type PrivateServer, type Service, startPrivate } from "./service.ts";

/**
 * A Redis Cluster of three primaries (no replicas) on free loopback ports, for a test: the 16384
 * hash slots split in three, each key on the one node that owns its slot.
 */
export interface PrivateCluster {
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

const NAME = "Redis Cluster";
const INSTALL =
  "`sudo apt install redis-server redis-tools` (Debian/Ubuntu) or `brew install redis` (macOS)";

/** A node: a private redis-server (lib/services/service.ts) in cluster mode. */
const node: Service = {
  ...redis,
  name: NAME,
  folder: "cluster",
  program: async (port, dir) => ({
    command: await onPath({ name: NAME }, "redis-server", INSTALL),
    args: ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir]
      .concat(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
      .concat(["--appendonly", "no", "--save", ""]),
    what: "a cluster node",
  }),
};

/**
 * A node on a free port. A node also listens on its port + 10000 (the cluster bus), which no
 * free-port check covers: taken by chance (a busy machine's other servers and clients), the node
 * exits saying so, and another free port is tried.
 */
async function startNode(tries = 3): Promise<PrivateServer> {
  try {
    return await startPrivate(node);
  } catch (error) {
    const busTaken = error instanceof Error && error.message.includes("(cluster), aborting");
    if (busTaken && tries > 1) return startNode(tries - 1);
    throw error;
  }
}

export async function startPrivateCluster(): Promise<PrivateCluster> {
  const cli = await onPath({ name: NAME }, "redis-cli", INSTALL);
  const nodes: PrivateServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((each) => each.stop()));
  };
  try {
    // One after the other: each holds its free port before the next one looks for one.
    for (let i = 0; i < 3; i++) nodes.push(await startNode());
    const addresses = nodes.map(({ port }) => `127.0.0.1:${port}`);
    const create = await runProgram(cli, ["--cluster", "create", ...addresses, "--cluster-yes"], {
      timeout: 60_000,
    });
    if (create.code !== 0) {
      throw new ServiceError(NAME, `${NAME}: redis-cli --cluster create failed: ${create.output}`);
    }
    for (const { port } of nodes) {
      await waitUntil(`cluster_state:ok on ${port}`, async () => {
        const info = await withRedis(
          { host: "127.0.0.1", port },
          (client) => client.sendCommand(["CLUSTER", "INFO"]),
          1000,
        ).catch(() => "");
        return String(info).includes("cluster_state:ok");
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { ports: nodes.map(({ port }) => port), stop };
}
