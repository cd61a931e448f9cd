/**
 * Exercise 07: the learner's RedisSessionStore must pass the same conformance cases as the
 * store of step 07 (test/conformance/store-cases.ts), against a Redis of this check's own.
 */
import { after, describe, test } from "node:test";
import { storeCases } from "../conformance/store-cases.ts";
import { ownStoreProfile } from "../conformance/store-factories.ts";
import { usePrivateRedis } from "../harness/index.ts";
import { importTarget } from "./target.ts";

const { RedisSessionStore } =
  await importTarget<typeof import("../../solutions/07-own-store/redis-session-store.ts")>(
    "redis-session-store.ts",
  );

const redis = await usePrivateRedis();
const profile = await ownStoreProfile(RedisSessionStore, redis.url, "your RedisSessionStore");

describe("your RedisSessionStore keeps the session store contract", { concurrency: true }, () => {
  after(() => profile.close());
  for (const storeCase of storeCases) {
    test(storeCase.name, () => storeCase.run(profile));
  }
});
