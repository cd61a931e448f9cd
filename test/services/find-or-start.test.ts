/**
 * The one find-or-start helper (lib/services/service.ts), the same for every service: the
 * variable first (a clear error when nothing answers there), then the default port, then one
 * started in the background, reused, and stopped by `npm run services -- stop`.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { mongo } from "../../lib/services/mongo.ts";
import { boundForLoad, freePort, isPortOpen } from "../../lib/services/net.ts";
import { pglite } from "../../lib/services/postgres.ts";
import { redis, startPrivateRedis } from "../../lib/services/redis.ts";
import {
  answers,
  ensureBackground,
  findOrStart,
  fromEnvironment,
  type Service,
  stopBackground,
} from "../../lib/services/service.ts";
import { runScript } from "../harness/index.ts";

const workshop = mkdtempSync(join(tmpdir(), "workshop-dir-"));
process.env.WORKSHOP_DIR = workshop;
after(() => rmSync(workshop, { recursive: true, force: true }));

/** Runs FN with the variables of ENV set (undefined: unset), then puts them back. */
async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>) {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  set(env);
  try {
    return await fn();
  } finally {
    set(saved);
  }
}

for (const service of [redis, mongo, pglite]) {
  test(`${service.name}: a variable that points at nothing is a clear error, within seconds`, async () => {
    const started = Date.now();
    await withEnv({ [service.envVar]: service.url(1) }, async () => {
      await assert.rejects(
        fromEnvironment(service, () => {}),
        (error: Error) => {
          assert.equal(error.name, "ServiceError");
          assert.match(error.message, new RegExp(`^${service.name}: ${service.envVar} is set to `));
          assert.match(error.message, /127\.0\.0\.1:1/);
          assert.match(error.message, new RegExp(`correct ${service.envVar}, or unset it`));
          return true;
        },
      );
    });
    const bound = boundForLoad(10_000);
    assert.ok(Date.now() - started < bound.ms, `took ${Date.now() - started} ms (${bound.said})`);
  });

  test(`${service.name}: a variable that is no URL at all is the same clear error`, async () => {
    await withEnv({ [service.envVar]: "not a url" }, async () => {
      await assert.rejects(
        fromEnvironment(service, () => {}),
        new RegExp(`${service.envVar} is set to not a url, but`),
      );
    });
  });
}

/** Redis on a port of its own, so that the test never meets a Redis on 6379. */
async function redisOnAFreePort(): Promise<Service> {
  return { ...redis, defaultPort: await freePort() };
}

test("nothing on the port: started in the background, reused, stopped by stop", async () => {
  const service = await redisOnAFreePort();
  const lines: string[] = [];
  await withEnv({ REDIS_URL: undefined }, async () => {
    const url = await findOrStart(service, (line) => lines.push(line));
    assert.equal(url, `redis://127.0.0.1:${service.defaultPort}`);
    assert.match(
      lines[0] ?? "",
      /nothing answered on .*so the workshop started a redis-server there \(data in .*redis\)\. It keeps running between steps; `npm run services -- stop` stops it\./,
    );
    const again = await ensureBackground(service);
    assert.equal(again.started, false);
    assert.match(
      again.line,
      /Redis: using a redis-server that the workshop started on 127\.0\.0\.1:\d+ \(data in .*redis\)$/,
    );
    assert.equal(await stopBackground("redis"), true);
    assert.equal((await answers(service, url, 500)).ok, false, "stopped once stop resolves");
    assert.equal(await stopBackground("redis"), false, "nothing left to stop");
    // A start right after a stop: a fresh one, with the data of the first.
    assert.equal((await ensureBackground(service)).started, true);
    assert.equal(await stopBackground("redis"), true);
  });
});

test("a Redis that answers on the port is used as it is", async () => {
  const own = await startPrivateRedis();
  after(() => own.stop());
  const result = await ensureBackground({ ...redis, defaultPort: own.port });
  assert.equal(result.started, false);
  assert.match(
    result.line,
    new RegExp(`Redis: using the Redis that answers on redis://127.0.0.1:${own.port}`),
  );
});

test("something else on the port: a clear error, not a second server", async () => {
  const stranger = createServer((socket) => {
    socket.on("error", () => {}); // the probe hangs up at once
    socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
  });
  await new Promise<void>((resolve) => stranger.listen(0, "127.0.0.1", resolve));
  after(() => stranger.close());
  const address = stranger.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await assert.rejects(
    ensureBackground({ ...redis, defaultPort: port }),
    new RegExp(
      `Redis: something listens on 127.0.0.1:${port}, but no Redis answered there .*Point REDIS_URL at it`,
      "s",
    ),
  );
});

test("no program on PATH: which one, where it looked, how to install it", async () => {
  const service = await redisOnAFreePort();
  await withEnv({ PATH: "/nowhere" }, async () => {
    await assert.rejects(
      ensureBackground(service),
      /Redis: no redis-server on PATH \(\/nowhere\) to start one with\. Install it with `sudo apt install redis-server`.*or set REDIS_URL/,
    );
  });
});

test("a frozen private server: pings fail within their time limit, then it answers again", async () => {
  const own = await startPrivateRedis();
  after(() => own.stop());
  own.freeze();
  const started = Date.now();
  const ping = await answers(redis, own.url, 1000);
  assert.equal(ping.ok, false);
  const bound = boundForLoad(2500);
  assert.ok(
    Date.now() - started < bound.ms,
    `the ping took ${Date.now() - started} ms (${bound.said})`,
  );
  own.thaw();
  assert.equal((await answers(redis, own.url, 1000)).ok, true);
  await own.crash();
  assert.equal((await answers(redis, own.url, 500)).ok, false);
  await own.start();
  assert.equal((await answers(redis, own.url, 1000)).ok, true);
});

test("a frozen server is stopped all the same", async () => {
  const own = await startPrivateRedis();
  own.freeze();
  await own.stop();
  assert.equal((await answers(redis, own.url, 500)).ok, false);
});

test("`rm -rf .workshop` while its servers run: the next start says so, and `services -- stop` stops them", async () => {
  const [redisHere, postgresHere] = [
    await redisOnAFreePort(),
    { ...pglite, defaultPort: await freePort() },
  ];
  await withEnv({ REDIS_URL: undefined, DATABASE_URL: undefined }, async () => {
    await Promise.all([ensureBackground(redisHere), ensureBackground(postgresHere)]);
    rmSync(workshop, { recursive: true, force: true }); // what a learner cleaning up does
    assert.equal(existsSync(workshop), false);
    // A step started now would use a server whose data is gone: it says so instead.
    await assert.rejects(
      ensureBackground(postgresHere),
      /PostgreSQL: the one the workshop started on 127\.0\.0\.1:\d+ \(pid \d+(, \d+)*\) runs, but its folder .*postgres was deleted while it ran.*`npm run services -- stop` stops it/s,
    );
    const { code, output } = await runScript("scripts/services.ts", ["stop"], {
      WORKSHOP_DIR: workshop,
    });
    assert.equal(code, 0, output);
    assert.match(output, /^Redis: stopped$/m);
    assert.match(output, /^PostgreSQL: stopped$/m);
    assert.equal(await isPortOpen(redisHere.defaultPort), false, "Redis stopped");
    assert.equal(await isPortOpen(postgresHere.defaultPort), false, "PostgreSQL stopped");
  });
});
