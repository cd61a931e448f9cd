import { portOf, startHttpsProxy } from "../../lib/https-proxy.ts";
import { localCertificate } from "../../lib/services/certificate.ts";
import { postgresUrlForStep } from "../../lib/services/postgres.ts";
import { redisUrlForStep } from "../../lib/services/redis.ts";
import { migrateUsers } from "../05-login-logout/tables.ts";
import { trustProxyFromEnv } from "../05-login-logout/trust-proxy.ts";
import { wholeNumberFromEnv } from "../shared/env-number.ts";
import { createPool } from "../shared/postgres-pool.ts";
import { createRedisClient } from "../shared/redis-client.ts";
import { listenAddress, startServer } from "../shared/start-server.ts";
import { createApp } from "./app.ts";
import { startFrontend } from "./frontend.ts";

const { port, host } = listenAddress(); // the app itself: plain HTTP, for the proxy only

/** A port from the environment; else 3443, 3444… beside PORT=3000, any free one beside another. */
const portFor = (name: string, usual: number) =>
  wholeNumberFromEnv(name, "a port") ?? (port === 3000 ? usual : 0);

await startServer(async () => {
  // REDIS_URL, or the Redis on localhost:6379, or one the workshop starts for you.
  const redis = createRedisClient(await redisUrlForStep());
  // DATABASE_URL, or the PostgreSQL on localhost:5432, or an embedded one the workshop starts.
  const pool = createPool(await postgresUrlForStep());
  const tls = await localCertificate(); // made by openssl the first time, kept in .workshop/tls
  // Three origins on this machine: the API behind its HTTPS proxy, its frontend on another
  // site (localhost and 127.0.0.1 are two sites to a browser), and a page not on the list.
  const target = `http://127.0.0.1:${port}`;
  const proxy = await startHttpsProxy({ port: portFor("HTTPS_PORT", 3443), host, target, tls });
  const api = `https://localhost:${portOf(proxy)}`;
  const [frontendPort, otherPort] = [
    portFor("FRONTEND_PORT", 3444),
    portFor("OTHER_SITE_PORT", 3445),
  ];
  const listedPage = await startFrontend({ port: frontendPort, host, api, tls, listed: true });
  const otherPage = await startFrontend({ port: otherPort, host, api, tls, listed: false });
  const frontend = `https://127.0.0.1:${portOf(listedPage)}`;
  const otherSite = `https://127.0.0.1:${portOf(otherPage)}`;
  const app = createApp(redis, pool, {
    // ABSOLUTE_TIMEOUT_MS: the tests set a short one; unset, the app's default of 8 hours.
    absoluteTimeoutMs: wholeNumberFromEnv("ABSOLUTE_TIMEOUT_MS", "milliseconds"),
    // The proxy reaches the app from 127.0.0.1: that address, and no other. TRUST_PROXY
    // changes it (false: trust nobody, to see what breaks).
    trustProxy: trustProxyFromEnv() ?? "127.0.0.1",
    frontends: [frontend],
  });
  await redis.connect();
  await migrateUsers(pool); // the users and statuses tables, made if missing
  console.log(`the API, behind an HTTPS proxy: ${api}/login (open this one)`);
  console.log(`its frontend, on another site: ${frontend}`);
  console.log(`a page of a site not on the API's list: ${otherSite}`);
  console.log(`their certificate, self-signed for this machine: ${tls.file}`);
  return {
    app,
    close: async () => {
      for (const server of [proxy, listedPage, otherPage]) {
        server.close();
        server.closeAllConnections();
      }
      await Promise.all([redis.close(), pool.end()]);
    },
  };
});
