import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { which } from "./net.ts";
import { workshopDir } from "./workshop-dir.ts";

/** A key and its certificate, PEM, as node:https's createServer takes them. */
export interface LocalCertificate {
  key: string;
  cert: string;
  /** Where both are kept: a browser can be told to trust this file. */
  file: string;
}

/** The names the certificate is good for: the API's, the frontend's, IPv6's loopback. */
const NAMES = "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1";
const DAYS = 30;

/**
 * A self-signed certificate for localhost and 127.0.0.1, made by openssl on this machine
 * (offline) the first time, and kept in .workshop/tls/ (git-ignored) until it is a day from
 * expiring: the same one across restarts, so a browser told to trust it once keeps trusting it.
 * Nobody else trusts it: it is for this machine only, never for a server others reach.
 */
export async function localCertificate(): Promise<LocalCertificate> {
  const file = join(workshopDir("tls"), "localhost.pem");
  const kept = await readFile(file, "utf8").catch(() => undefined);
  if (kept && !expiresWithinADay(kept)) return { ...split(kept), file };
  if (!(await which("openssl"))) {
    throw new Error(
      "openssl is not installed, and this step makes its HTTPS certificate with it. Install " +
        "it (Debian/Ubuntu: sudo apt install openssl; Fedora: sudo dnf install openssl; macOS " +
        "has one), then start the step again.",
    );
  }
  const dir = await mkdtemp(join(workshopDir("tls"), "new-"));
  try {
    const [key, cert] = [join(dir, "key.pem"), join(dir, "cert.pem")];
    await promisify(execFile)("openssl", [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"],
      ...["-addext", NAMES, "-days", String(DAYS), "-keyout", key, "-out", cert],
    ]);
    const pem = (await readFile(key, "utf8")) + (await readFile(cert, "utf8"));
    // Key and certificate in one file, put in place whole: two processes starting at once
    // each make a pair, and the file always holds one pair, never half of two.
    await writeFile(join(dir, "pair.pem"), pem, { mode: 0o600 });
    await rename(join(dir, "pair.pem"), file);
    return { ...split(pem), file };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function split(pem: string): { key: string; cert: string } {
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/.exec(pem)?.[0];
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(pem)?.[0];
  if (!key || !cert) throw new Error("a certificate file without a key or a certificate");
  return { key, cert };
}

function expiresWithinADay(pem: string): boolean {
  try {
    const { validTo } = new X509Certificate(split(pem).cert);
    return Date.parse(validTo) - Date.now() < 24 * 60 * 60 * 1000;
  } catch {
    return true; // unreadable: make a new one
  }
}
