// The test harness: what every step's test uses and none of them is about.

export { Browser, setCookieAttributes } from "../../lib/browser.ts";
export { runScript } from "../../lib/run-script.ts";
export { type StepProcess, startStep } from "../../lib/step-process.ts";
export { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
export { sessionIdOf, signedCookie } from "./cookies.ts";
export {
  assertExitsWithMessage,
  assertForeignCookiesStartFresh,
  assertSessionsSurviveRestart,
  logoutRaceResurrections,
  type RestartResult,
  visitRestartVisit,
} from "./flows.ts";
export { assertSecureBehindHttpsProxy, type HttpsProxy, useHttpsProxy } from "./https-proxy.ts";
export {
  type VisitsJsonWithPid,
  visitOverNewConnection,
  visitsOverNewConnections,
} from "./new-connection.ts";
export {
  assertSessionKeyFollowsCookie,
  assertShutdownClosesRedis,
  redisClientFor,
} from "./redis-step-checks.ts";
export {
  needsPostgresql,
  usePrivateMongo,
  usePrivatePostgres,
  usePrivateRedis,
  usePrivateSentinels,
} from "./services.ts";
export {
  assertHungStoreAnswers503,
  assertPageVisitsSlideExpiry,
  type Freezable,
  storedExpiryOnPage,
} from "./stores.ts";
