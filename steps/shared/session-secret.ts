import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { repoRoot, workshopDir } from "../../lib/services/workshop-dir.ts";

/** The cookie name every step uses, so a browser keeps one session cookie across steps. */
export const COOKIE_NAME = "workshop.sid";

const MIN_PRODUCTION_LENGTH = 32;
/** 32 zeros are 32 characters, and no secret: a real one uses many different characters. */
const MIN_DISTINCT_CHARACTERS = 10;
const HOW_TO_GENERATE =
  "node -e \"console.log(require('crypto').randomBytes(32).toString('hex'))\"";

/**
 * The secrets that sign the session cookie, read from SESSION_SECRET.
 *
 * - Several comma-separated secrets rotate a secret without logging everybody out:
 *   the first signs new cookies, every one of them is accepted when verifying.
 * - Outside production a missing secret falls back to a development secret generated for this
 *   checkout (in .workshop/, git-ignored): never one written in the repository, which anyone
 *   could use to forge cookies.
 * - In production (NODE_ENV=production) a missing or weak secret (short, or made of few
 *   different characters) stops the server.
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
          `Set SESSION_SECRET to a long random value, e.g. SESSION_SECRET=$(${HOW_TO_GENERATE})`,
      );
    }
    for (const secret of secrets) {
      const weakness = weaknessOf(secret);
      if (weakness) {
        throw new Error(
          `SESSION_SECRET holds a weak secret (${weakness}); NODE_ENV=production requires at ` +
            `least ${MIN_PRODUCTION_LENGTH} characters of random text. Generate one with ${HOW_TO_GENERATE}`,
        );
      }
    }
    return secrets;
  }
  return secrets.length > 0 ? secrets : [developmentSecret()];
}

function weaknessOf(secret: string): string | undefined {
  if (secret.length < MIN_PRODUCTION_LENGTH) return `${secret.length} characters`;
  const distinct = new Set(secret).size;
  if (distinct < MIN_DISTINCT_CHARACTERS) return `only ${distinct} different characters`;
  return undefined;
}

let announced: string | undefined;

/**
 * The development secret of this checkout: 32 random bytes, made on first use and kept in
 * .workshop/session-secret, so that cookies stay valid across restarts. Said once per process.
 */
function developmentSecret(): string {
  const file = `${workshopDir("secrets")}/session-secret`;
  let secret: string;
  try {
    secret = readFileSync(file, "utf8").trim();
  } catch {
    // Written whole under another name, then linked into place: link() fails if the file
    // exists, so two processes starting at once end up with one secret, never half of one.
    const draft = `${file}.${process.pid}`;
    writeFileSync(draft, randomBytes(32).toString("hex"), { mode: 0o600 });
    try {
      linkSync(draft, file);
    } catch {
      // another process made it first: use theirs
    } finally {
      rmSync(draft, { force: true });
    }
    secret = readFileSync(file, "utf8").trim();
  }
  if (announced !== file) {
    announced = file;
    console.log(
      `using a development secret generated for this checkout in ${shown(file)}; ` +
        "set SESSION_SECRET in production",
    );
  }
  return secret;
}

/** PATH relative to the repository when it is inside it (.workshop/…), else as it is. */
function shown(path: string): string {
  const inside = relative(repoRoot, path);
  return inside.startsWith("..") ? path : inside;
}
