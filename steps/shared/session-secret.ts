/** The cookie name every step uses, so a browser keeps one session cookie across steps. */
export const COOKIE_NAME = "workshop.sid";

const DEVELOPMENT_SECRET = "development-only-secret--set-SESSION_SECRET-in-production";
const MIN_PRODUCTION_LENGTH = 32;

/**
 * The secrets that sign the session cookie, read from SESSION_SECRET.
 *
 * - Several comma-separated secrets rotate a secret without logging everybody out:
 *   the first signs new cookies, every one of them is accepted when verifying.
 * - Outside production a missing secret falls back to a development secret, loudly labelled.
 * - In production (NODE_ENV=production) a missing or short secret stops the server: a
 *   secret written in the code is a secret anyone with the repository can use to forge cookies.
 */
export function sessionSecrets(env: NodeJS.ProcessEnv = process.env): string[] {
  const secrets = (env.SESSION_SECRET ?? "")
    .split(",")
    .map((secret) => secret.trim())
    .filter((secret) => secret.length > 0);

  if (env.NODE_ENV === "production") {
    if (secrets.length === 0) {
      throw new Error(
        "SESSION_SECRET is not set, and NODE_ENV=production refuses the development secret. " +
          "Set SESSION_SECRET to a long random value, e.g. " +
          "SESSION_SECRET=$(node -e \"console.log(require('crypto').randomBytes(32).toString('hex'))\")",
      );
    }
    const short = secrets.find((secret) => secret.length < MIN_PRODUCTION_LENGTH);
    if (short !== undefined) {
      throw new Error(
        `SESSION_SECRET holds a secret of ${short.length} characters; NODE_ENV=production ` +
          `requires at least ${MIN_PRODUCTION_LENGTH}. Generate one with ` +
          "node -e \"console.log(require('crypto').randomBytes(32).toString('hex'))\"",
      );
    }
    return secrets;
  }
  return secrets.length > 0 ? secrets : [DEVELOPMENT_SECRET];
}
