/**
 * One suite, five stores: every case of ./store-cases.ts against MemoryStore,
 * session-file-store, connect-redis, connect-mongo and the store written by hand in step 07.
 * Where a library store departs from the contract, its profile (./store-factories.ts) says
 * so with the upstream source, and the case asserts what it actually does.
 */
import { after, describe, test } from "node:test";
import { RedisSessionStore } from "../../steps/07-own-store/redis-session-store.ts";
import { usePrivateMongo, usePrivateRedis } from "../harness/index.ts";
import { storeCases } from "./store-cases.ts";
import {
  connectMongoProfile,
  connectRedisProfile,
  fileProfile,
  memoryProfile,
  ownStoreProfile,
} from "./store-factories.ts";

const [redis, mongo] = await Promise.all([usePrivateRedis(), usePrivateMongo()]);

const profiles = [
  memoryProfile(),
  fileProfile(),
  await connectRedisProfile(redis.url),
  await connectMongoProfile(mongo.url),
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
