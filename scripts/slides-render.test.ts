/**
 * The decks as a projector shows them: every deck rendered in a real Chromium (one browser for
 * all decks), with the workshop theme and engine, and every slide measured.
 * - no slide's content runs past its frame (1280×720);
 * - at most 60 words of visible text a slide, code blocks aside (they are bounded by the
 *   frame); the rest goes into the speaker notes;
 * - every slide has speaker notes (an HTML comment that is not a `source:` comment);
 * - every deck has a "Your turn" slide and a "Links" slide.
 *
 * Needs Chromium: `sudo apt-get install -y chromium` on Debian/Ubuntu (CI does it), or set
 * CHROMIUM_PATH to a Chrome or Chromium binary elsewhere.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { basename, relative } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import type { Marp } from "@marp-team/marp-core";
import puppeteer, { type Browser } from "puppeteer-core";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { listDecks, slidesDir } from "./slides-build.ts";
import { createWorkshopMarp } from "./slides-engine.ts";

const MAX_WORDS = 60;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

interface SlideReport {
  number: number;
  title: string;
  overflow: string[];
  words: number;
}

let browser: Browser;

before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `No Chromium at ${CHROMIUM}: the slide rendering test needs one. Install it with ` +
      "`sudo apt-get install -y chromium` (Debian/Ubuntu), or set CHROMIUM_PATH to a Chrome or " +
      "Chromium binary.",
  );
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
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
});

after(async () => {
  await browser?.close();
});

/** Renders one deck to a page of plain 1280×720 sections and measures each slide. */
async function measure(marp: Marp, deck: string): Promise<SlideReport[]> {
  const { html, css } = marp.render(readFileSync(deck, "utf8"));
  const page = await browser.newPage();
  try {
    await page.setViewport({ width: 1400, height: 900 });
    const base = `${pathToFileURL(slidesDir).href}/`;
    await page.setContent(
      `<!doctype html><html><head><meta charset="utf-8"><base href="${base}">` +
        `<style>${css}</style></head><body>${html}</body></html>`,
      { waitUntil: "load" },
    );
    await page.evaluate(() => document.fonts.ready);
    return await page.evaluate(() => {
      // Array.from, not spread: NodeList is not iterable with the ES-only lib of this project.
      const sections = Array.from(
        document.querySelectorAll("div.marpit > section"),
      ) as HTMLElement[];
      return sections.map((section, index) => {
        const frame = section.getBoundingClientRect();
        const overflow: string[] = [];
        for (const element of Array.from(section.querySelectorAll("*"))) {
          const box = element.getBoundingClientRect();
          if (box.width === 0 && box.height === 0) continue;
          const past = Math.max(
            box.bottom - frame.bottom,
            box.right - frame.right,
            frame.top - box.top,
            frame.left - box.left,
          );
          if (past > 1) {
            const text = (element.textContent ?? "").trim().slice(0, 50);
            overflow.push(
              `runs past the frame: <${element.tagName.toLowerCase()}> "${text}" ${Math.round(past)}px out`,
            );
          }
        }
        const prose = section.cloneNode(true) as HTMLElement;
        for (const code of Array.from(prose.querySelectorAll("pre"))) code.remove();
        const words = (prose.textContent ?? "")
          .split(/\s+/)
          .filter((word) => /[\p{L}\p{N}]/u.test(word)).length;
        // Code must be readable from the back row: 26 px or more, never shrunk to fit.
        for (const code of Array.from(section.querySelectorAll("pre"))) {
          const size = Number.parseFloat(getComputedStyle(code).fontSize);
          if (size < 26) overflow.push(`<pre> at ${size}px: code must be 26px or more`);
        }
        const title = section.querySelector("h1, h2")?.textContent?.trim() ?? "(no title)";
        return { number: index + 1, title, overflow: overflow.slice(0, 3), words };
      });
    });
  } finally {
    await page.close();
  }
}

test("every slide of every deck fits its frame, is short, and has speaker notes", async () => {
  const marp = await createWorkshopMarp({ inlineSVG: false });
  const problems: string[] = [];
  for (const deck of listDecks()) {
    const name = relative(repoRoot, deck);
    const slides = await measure(marp, deck);
    const { comments } = marp.render(readFileSync(deck, "utf8"));
    assert.equal(comments.length, slides.length, `${name}: notes and slides do not line up`);
    for (const slide of slides) {
      const at = `${name} slide ${slide.number} "${slide.title}"`;
      if (slide.overflow.length > 0) {
        problems.push(`${at}: ${slide.overflow.join("; ")}`);
      }
      if (slide.words > MAX_WORDS) {
        problems.push(
          `${at}: ${slide.words} words of text (at most ${MAX_WORDS}; move prose to the notes)`,
        );
      }
      const notes = (comments[slide.number - 1] ?? []).filter((c) => !/^\s*source:/.test(c));
      if (notes.join("").trim().length === 0) {
        problems.push(`${at}: no speaker notes (an HTML comment <!-- ... --> on the slide)`);
      }
    }
    const titles = slides.map((slide) => slide.title.toLowerCase());
    if (!titles.some((title) => title.startsWith("your turn"))) {
      problems.push(
        `${name}: no "Your turn" slide (task, time box, command, what passing looks like)`,
      );
    }
    if (!titles.some((title) => title.startsWith("links"))) {
      problems.push(`${name}: no "Links" slide (upstream docs and the OWASP cheat sheet)`);
    }
  }
  if (problems.length > 0) assert.fail(`${problems.length} problems:\n${problems.join("\n")}`);
});

test("the renderer is the one the decks are presented with (theme workshop, marked lines)", async () => {
  const marp = await createWorkshopMarp({ inlineSVG: false });
  const { html } = marp.render(
    "---\ntheme: workshop\n---\n\n```ts {2}\nconst a = 1;\nconst b = 2;\n```\n",
  );
  assert.match(html, /<span class="line hl">.*const.*b = /, "line 2 should carry the yellow band");
  assert.ok(listDecks().every((deck) => /^\d\d-/.test(basename(deck))));
});
