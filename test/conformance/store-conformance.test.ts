/**
 * One suite, six stores: every case of ./store-cases.ts against MemoryStore,
 * session-file-store, connect-redis, connect-mongo, connect-pg-simple (on a real PostgreSQL and
 * on the embedded PGlite) and the store written by hand in step 07.
 * Where a library store departs from the contract, its profile (./store-factories.ts) says
 * so with the upstream source, and the case asserts what it actually does.
 */
import { after, describe, test } from "node:test";
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

const [redis, mongo, postgresql, pglite] = await Promise.all([
  usePrivateRedis(),
  usePrivateMongo(),
  usePrivatePostgres("postgresql"),
  usePrivatePostgres("pglite"),
]);

const profiles = [
  memoryProfile(),
  fileProfile(),
  await connectRedisProfile(redis.url),
  await connectMongoProfile(mongo.url),
  await connectPgSimpleProfile(postgresql.url, "PostgreSQL"),
  await connectPgSimpleProfile(pglite.url, "PGlite"),
  await ownStoreProfile(RedisSessionStore, redis.url),
];

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
    });
  }
});
