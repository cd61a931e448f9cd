// express-session's methods take callbacks; steps/shared/session-promises.ts awaits them.
// Re-exported here so that step 05 (and exercise 05) import them from the step's own folder.
export { destroy, regenerate, save } from "../shared/session-promises.ts";
