// What every step's store gets and none of them is about, in one import: the guards around
// the store (ids that are never paths, logouts that stay done, step 02's folder) and the
// error handler that turns a store's outage into a 503.
export { guardFileStore } from "./file-store-guard.ts";
export { guardStore, redisTombstones, type Tombstones } from "./guarded-store.ts";
export { isStoreOutage, storeErrorHandler } from "./store-errors.ts";
