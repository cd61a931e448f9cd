/**
 * HEAD and OPTIONS are not visits, on every step: neither creates a session (no Set-Cookie, no
 * record in the store) nor counts one for a visitor who has a session. A link checker, a
 * monitor or a CORS preflight must not fill the store, nor move anybody's count.
 * Each step's app in this process (its createApp), over servers of this file's own.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import express, { type Express } from "express";
import type { MongoClient } from "mongodb";
import { startPrivateSentinels } from "../../lib/services/redis-sentinel.ts";
import {
  Browser,
  usePrivateMongo,
  usePrivatePostgres,
  usePrivateRedis,
} from "../../test/harness/index.ts";
import { steps } from "../../workshop.ts";
import { createApp as app01 } from "../01-memory-store/app.ts";
import { createApp as app02 } from "../02-file-store/app.ts";
import { createApp as app03 } from "../03-redis-store/app.ts";
import { createApp as app04 } from "../04-mongo-store/app.ts";
import { createApp as app05 } from "../05-login-logout/app.ts";
import { migrateUsers } from "../05-login-logout/tables.ts";
import { createApp as app06 } from "../06-scale-out/app.ts";
import { createApp as app07 } from "../07-own-store/app.ts";
import { createApp as app08 } from "../08-concurrent-requests/app.ts";
import { createApp as app09 } from "../09-failover/app.ts";
import { createSentinelClient } from "../09-failover/sentinel-client.ts";
import { createApp as app10 } from "../10-postgres-store/app.ts";
import { migrateSessions, SESSION_TABLE } from "../10-postgres-store/session-table.ts";
import { createApp as app11 } from "../11-my-sessions/app.ts";
import { createApp as app12 } from "../12-https-and-cross-site/app.ts";
import { createMongoClient } from "./mongo-client.ts";
import { createPool } from "./postgres-pool.ts";
import { createRedisClient } from "./redis-client.ts";

const [redis, mongo, postgres, sentinels] = await Promise.all([
  usePrivateRedis(),
  usePrivateMongo(),
  usePrivatePostgres(),
  startPrivateSentinels(), // stopped after the client that follows them (below)
]);

/** Made once, closed at the end. */
const redisClient = createRedisClient(redis.url);
await redisClient.connect();
after(() => redisClient.close());
const mongoClient: MongoClient = createMongoClient(mongo.url);
await mongoClient.connect();
after(() => mongoClient.close());
const pool = createPool(postgres.url);
after(() => pool.end());
await migrateUsers(pool);
await migrateSessions(pool);
const sentinelClient = createSentinelClient(sentinels.masterName, sentinels.sentinels);
await sentinelClient.connect();
after(async () => {
  await sentinelClient.close();
  await sentinels.stop();
});
const sessionsDir = mkdtempSync(join(tmpdir(), "workshop-head-"));
after(() => rmSync(sessionsDir, { recursive: true, force: true }));

const redisSessions = async () => (await redisClient.keys("sess:*")).length;
/** Each step's app, and how many sessions its store holds (step 01's: only its own pages say). */
const apps: Record<number, { app: Express; sessions?: () => Promise<number> }> = {
  1: { app: app01() },
  2: { app: app02(sessionsDir), sessions: async () => readdirSync(sessionsDir).length },
  3: { app: app03(redisClient), sessions: redisSessions },
  4: {
    app: app04(mongoClient),
    sessions: () => mongoClient.db().collection("sessions").countDocuments(),
  },
  5: { app: app05(redisClient, pool), sessions: redisSessions },
  6: { app: app06(redisClient), sessions: redisSessions },
  7: { app: app07(redisClient), sessions: redisSessions },
  8: { app: app08(redisClient), sessions: redisSessions },
  9: {
    app: app09(sentinelClient),
    sessions: async () => (await sentinelClient.keys("sess:*")).length,
  },
  10: {
    app: app10(pool),
    sessions: async () =>
      Number((await pool.query(`SELECT count(*) FROM "${SESSION_TABLE}"`)).rows[0]?.count),
  },
  11: { app: app11(redisClient, pool), sessions: redisSessions },
  12: {
    app: behindHttps(app12(redisClient, pool, { trustProxy: true, frontends: [] })),
    sessions: redisSessions,
  },
};

/**
 * Step 12's cookie is Secure, sent only over HTTPS: APP gets each request as from its proxy
 * that ends HTTPS (plain HTTP, X-Forwarded-Proto: https).
 */
function behindHttps(app: Express): Express {
  const proxy = express();
  proxy.use((req, _res, next) => {
    req.headers["x-forwarded-proto"] = "https";
    next();
  });
  proxy.use(app);
  return proxy;
}

async function listen(app: Express): Promise<string> {
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  after(() => new Promise((resolve) => server.close(resolve)));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
}

for (const step of steps) {
  test(`step ${step.number}: HEAD / and OPTIONS / create no session and count no visit`, async () => {
    const made = apps[step.number];
    assert.ok(made, `no app for step ${step.number} in this test`);
    const url = await listen(made.app);
    const stored = async () => (made.sessions ? await made.sessions() : 0);
    const before = await stored();
    for (const method of ["HEAD", "OPTIONS"]) {
      for (const json of [false, true]) {
        const response = await fetch(url, {
          method,
          headers: json ? { Accept: "application/json" } : {},
        });
        await response.arrayBuffer();
        assert.ok(response.status < 400, `${method} / answered ${response.status}`);
        assert.equal(response.headers.get("set-cookie"), null, `${method} / set a cookie`);
      }
    }
    assert.equal(await stored(), before, "HEAD and OPTIONS stored sessions");

    // A visitor with a session: HEAD and OPTIONS do not move the count.
    const browser = new Browser(url);
    assert.equal((await browser.visit()).visits, 1);
    const cookie = browser.cookies;
    for (const method of ["HEAD", "OPTIONS"]) {
      const header = [...cookie].map(([name, value]) => `${name}=${value}`).join("; ");
      const response = await fetch(url, { method, headers: { Cookie: header } });
      await response.arrayBuffer();
      assert.ok(response.status < 400, `${method} / with a session answered ${response.status}`);
    }
    assert.equal((await browser.visit()).visits, 2, "HEAD or OPTIONS counted a visit");
  });
}
