import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import puppeteer, { type Browser } from "puppeteer-core";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * A headless Chromium for tests that need a real browser (slides, pages with scripts). Fails,
 * never skips, when there is none, and says how to install it. Close it when done.
 */
export async function launchChromium(): Promise<Browser> {
  assert.ok(
    existsSync(CHROMIUM),
    `No Chromium at ${CHROMIUM}: this test needs one. Install it with ` +
      "`sudo apt-get install -y chromium` (Debian/Ubuntu), or set CHROMIUM_PATH to a Chrome or " +
      "Chromium binary.",
  );
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No background traffic: this machine's network is closed, and a test must not wait on it.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
