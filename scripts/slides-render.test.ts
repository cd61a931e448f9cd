/**
 * The decks as a projector shows them: every deck rendered in a real Chromium (one browser for
 * all decks), with the workshop theme and engine, and every slide measured.
 * - no slide's content runs past its frame (1280×720);
 * - at most 60 words of visible text a slide, code blocks aside (they are bounded by the
 *   frame); the rest goes into the speaker notes;
 * - no line of code wraps (a wrapped line loses its indentation): at 26 px, about 71 characters;
 * - every title is at the same height on every slide;
 * - a chart's labels (img/*chart*.svg) are at least as large as body text, as shown;
 * - every slide has speaker notes (an HTML comment that is not a `source:` comment);
 * - every deck has a "Your turn" slide and a "Links" slide.
 *
 * Needs Chromium: `sudo apt-get install -y chromium` on Debian/Ubuntu (CI does it), or set
 * CHROMIUM_PATH to a Chrome or Chromium binary elsewhere.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import type { Marp } from "@marp-team/marp-core";
import type { Browser } from "puppeteer-core";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { launchChromium } from "../test/harness/chromium.ts";
import { listDecks, slidesDir } from "./slides-build.ts";
import { createWorkshopMarp } from "./slides-engine.ts";

const MAX_WORDS = 60;
/** body text on a slide, px (slides/theme.css) */
const BODY_TEXT = 32;

/**
 * The smallest text of an SVG picture as the slide shows it, in px: its smallest font-size
 * (attribute, style or CSS rule) times the scale it is shown at.
 */
function smallestText(src: string, shownWidth: number): number {
  const svg = readFileSync(join(slidesDir, src), "utf8");
  const viewBox = /viewBox="[\d.]+ [\d.]+ ([\d.]+)/.exec(svg);
  const width = Number(viewBox?.[1] ?? /width="([\d.]+)"/.exec(svg)?.[1]);
  const sizes = Array.from(svg.matchAll(/font-size(?:="|:\s*)([\d.]+)/g), (m) => Number(m[1]));
  return (Math.min(...sizes) * shownWidth) / width;
}

interface SlideReport {
  number: number;
  title: string;
  /** how far the title's top is from the top of the slide, in px (null: no title) */
  titleTop: number | null;
  overflow: string[];
  /** code lines that wrap onto a second line on the slide */
  wrapped: string[];
  words: number;
  /** pictures on the slide: their file (relative to slides/) and width as shown */
  pictures: { src: string; width: number }[];
}

let browser: Browser;

before(async () => {
  browser = await launchChromium();
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
    // A page from a file, not setContent: only a file:// page may load the decks' pictures.
    const base = `${pathToFileURL(slidesDir).href}/`;
    const file = join(mkdtempSync(join(tmpdir(), "slides-render-")), `${basename(deck)}.html`);
    writeFileSync(
      file,
      `<!doctype html><html><head><meta charset="utf-8"><base href="${base}">` +
        `<style>${css}</style></head><body>${html}</body></html>`,
    );
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    rmSync(dirname(file), { recursive: true, force: true });
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
        // A code line that wraps loses its indentation: every line must fit on one line.
        const wrapped: string[] = [];
        for (const line of Array.from(section.querySelectorAll("pre code .line"))) {
          const height = line.getBoundingClientRect().height;
          const lineHeight = Number.parseFloat(getComputedStyle(line).lineHeight);
          if (height > lineHeight * 1.5) wrapped.push((line.textContent ?? "").trim().slice(0, 60));
        }
        const heading = section.querySelector("h1, h2");
        const title = heading?.textContent?.trim() ?? "(no title)";
        const titleTop = heading
          ? Math.round(heading.getBoundingClientRect().top - frame.top)
          : null;
        const pictures = Array.from(section.querySelectorAll("img")).map((img) => ({
          src: img.getAttribute("src") ?? "",
          width: img.getBoundingClientRect().width,
        }));
        return {
          number: index + 1,
          title,
          titleTop,
          overflow: overflow.slice(0, 3),
          wrapped,
          words,
          pictures,
        };
      });
    });
  } finally {
    await page.close();
  }
}

test("every slide of every deck fits its frame, is short, and has speaker notes", async () => {
  const marp = await createWorkshopMarp({ inlineSVG: false });
  const problems: string[] = [];
  const titleTops: { at: string; top: number }[] = [];
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
      for (const line of slide.wrapped) {
        problems.push(`${at}: a code line wraps (shorten it or show less): "${line}"`);
      }
      if (slide.titleTop !== null) titleTops.push({ at, top: slide.titleTop });
      for (const picture of slide.pictures) {
        const smallest = smallestText(picture.src, picture.width);
        if (/chart/.test(picture.src) && smallest < BODY_TEXT) {
          problems.push(
            `${at}: ${picture.src} shows text at ${smallest.toFixed(1)}px (a chart's labels: ${BODY_TEXT}px or more, as body text)`,
          );
        }
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
  // Titles at the same height on every slide: the eye finds them without searching.
  const tops = titleTops.map(({ top }) => top);
  const usual = tops.sort((a, b) => a - b)[Math.floor(tops.length / 2)] ?? 0;
  for (const { at, top } of titleTops) {
    if (Math.abs(top - usual) > 2) {
      problems.push(`${at}: its title is ${top}px from the top, the others' ${usual}px`);
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
