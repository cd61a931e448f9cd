/**
 * One suite, six stores: every case of ./store-cases.ts against MemoryStore,
 * session-file-store, connect-redis, connect-mongo, connect-pg-simple (on PostgreSQL where the
 * machine has it, else on the embedded PGlite: WORKSHOP_POSTGRES_ENGINE=pglite asks for it) and
 * the store written by hand in step 07.
 * Where a library store departs from the contract, its profile (./store-factories.ts) says
 * so with the upstream source, and the case asserts what it actually does.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Cookie, type SessionData } from "express-session";
import { FinalLogoutStore, type Tombstones } from "../../steps/05-login-logout/final-logout.ts";
import { RedisSessionStore } from "../../steps/07-own-store/redis-session-store.ts";
import { usePrivateMongo, usePrivatePostgres, usePrivateRedis } from "../harness/index.ts";
import { storeCases } from "./store-cases.ts";
import {
  connectMongoProfile,
  connectPgSimpleProfile,
  connectRedisProfile,
  fileProfile,
  memoryProfile,
  ownStoreProfile,
} from "./store-factories.ts";

const [redis, mongo, postgres] = await Promise.all([
  usePrivateRedis(),
  usePrivateMongo(),
  usePrivatePostgres(),
]);

const profiles = [
  memoryProfile(),
  fileProfile(),
  await connectRedisProfile(redis.url),
  await connectMongoProfile(mongo.url),
  await connectPgSimpleProfile(
    postgres.url,
    postgres.engine === "pglite" ? "PGlite" : "PostgreSQL",
  ),
  await ownStoreProfile(RedisSessionStore, redis.url),
];

const call = <Result>(start: (done: (error?: unknown, result?: Result) => void) => void) =>
  new Promise<Result | undefined>((resolve, reject) =>
    start((error, result) => (error ? reject(error) : resolve(result))),
  );
const aSession = () => {
  const cookie = new Cookie();
  cookie.maxAge = 60_000;
  return { cookie, visits: 1 } as SessionData;
};
const ISSUED = "Abcdefghijklmnopqrstuvwxyz012345"; // 32 characters, as express-session makes

// Every case gets a fresh store (its own folder, key prefix or collection), so the cases
// can run side by side (concurrency is inherited by the nested describes): their waits for
// expiry overlap, and the whole suite takes seconds, not a minute.
describe("session store conformance", { concurrency: true }, () => {
  for (const profile of profiles) {
    describe(profile.name, () => {
      after(() => profile.close());
      for (const storeCase of storeCases) {
        test(storeCase.name, () => storeCase.run(profile));
      }
      // What step 05 adds to its store (steps/05-login-logout/final-logout.ts).
      test(`with tombstones (step 05), a destroyed id cannot be written back`, async () => {
        const { store } = await profile.fresh();
        const buried = new Set<string>(); // the Redis version is redisTombstones()
        const tombstones: Tombstones = {
          bury: async (id) => void buried.add(id),
          isBuried: async (id) => buried.has(id),
        };
        const guarded = new FinalLogoutStore(store, tombstones);
        const loadedBeforeLogout = aSession();
        await call((done) => guarded.set(ISSUED, aSession(), done));
        await call((done) => guarded.destroy(ISSUED, done)); // the logout
        await call((done) => guarded.set(ISSUED, loadedBeforeLogout, done)); // a late request
        // session-file-store answers "no such session" with ENOENT, as express-session expects.
        const afterLogout = await call((done) => store.get(ISSUED, done)).catch((error) =>
          (error as NodeJS.ErrnoException).code === "ENOENT" ? null : Promise.reject(error),
        );
        assert.equal(afterLogout ?? null, null, "the logged-out session stays gone");
      });
    });
  }
});
