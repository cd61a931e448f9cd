// The test harness: what every step's test uses and none of them is about.
export { COOKIE_NAME } from "../../steps/shared/session-secret.ts";
export { Browser, setCookieAttributes } from "./browser.ts";
export {
  assertExitsWithMessage,
  assertForeignCookiesStartFresh,
  assertSessionsSurviveRestart,
  type RestartResult,
  visitRestartVisit,
} from "./flows.ts";
export {
  type VisitsJsonWithPid,
  visitOverNewConnection,
  visitsOverNewConnections,
} from "./new-connection.ts";
export {
  assertSessionKeyFollowsCookie,
  assertShutdownClosesRedis,
  redisCliFor,
} from "./redis-step-checks.ts";
export { runScript } from "./run-script.ts";
export { usePrivateMongo, usePrivateRedis } from "./services.ts";
export { type StepProcess, startStep } from "./step-process.ts";
