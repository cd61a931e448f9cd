// The solution of exercise 07 is the store of step 07: see what changed with
//   diff exercises/07-own-store/redis-session-store.ts steps/07-own-store/redis-session-store.ts
// (destroy runs DEL on the key; touch runs EXPIRE with the time left until cookie.expires).
export {
  RedisSessionStore,
  type RedisSessionStoreOptions,
} from "../../steps/07-own-store/redis-session-store.ts";
