/**
 * Turns every deck in slides/ into HTML with Marp (no browser needed).
 *
 *   npm run slides:build                    into slides-html/ (git-ignored)
 *   npm run slides:build -- --output DIR    into DIR
 *
 * Writes one NN-topic.html per deck, an index.html that links them, and the decks' img/.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { marpCli } from "@marp-team/marp-cli";
import { repoRoot } from "../lib/services/workshop-dir.ts";

export const slidesDir = join(repoRoot, "slides");
const marpConfig = join(repoRoot, ".marprc.yml");

/** The decks, in order: every slides/NN-*.md (README.md is about the decks, not one). */
export function listDecks(): string[] {
  return readdirSync(slidesDir)
    .filter((file) => /^\d\d-.*\.md$/.test(file))
    .sort()
    .map((file) => join(slidesDir, file));
}

/** Converts every deck into OUTPUT_DIR; resolves with the HTML files written. */
export async function buildSlides(outputDir: string): Promise<string[]> {
  mkdirSync(outputDir, { recursive: true });
  const written: string[] = [];
  for (const deck of listDecks()) {
    const html = join(outputDir, `${basename(deck, ".md")}.html`);
    // Marp converts one deck per call here: given a folder, it would convert README.md too.
    // .marprc.yml brings the workshop theme and the engine that marks lines in code.
    const code = await marpCli([deck, "--output", html, "--config-file", marpConfig]);
    if (code !== 0) throw new Error(`Marp could not convert ${deck} (exit code ${code})`);
    // A deck links to the next one as NN-topic.md (right on GitHub); here it is NN-topic.html.
    writeFileSync(
      html,
      readFileSync(html, "utf8").replace(/href="(\d\d-[\w-]+)\.md"/g, 'href="$1.html"'),
    );
    written.push(html);
  }
  // Pictures the decks show (img/bench-chart.svg...), at the same relative place.
  const images = join(slidesDir, "img");
  if (existsSync(images)) cpSync(images, join(outputDir, "img"), { recursive: true });
  writeFileSync(join(outputDir, "index.html"), indexPage(written));
  return written;
}

function indexPage(htmlFiles: string[]): string {
  const items = htmlFiles
    .map((file) => basename(file))
    .map((name) => `    <li><a href="${name}">${name.replace(/\.html$/, "")}</a></li>`)
    .join("\n");
  return `<!doctype html>
<html lang="en">
  <meta charset="utf-8">
  <title>Session Stores Workshop — slides</title>
  <h1>Session Stores Workshop — slides</h1>
  <ul>
${items}
  </ul>
</html>
`;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const { values } = parseArgs({ options: { output: { type: "string", short: "o" } } });
  const outputDir = resolve(values.output ?? join(repoRoot, "slides-html"));
  buildSlides(outputDir).then(
    (files) => console.log(`${files.length} decks → ${join(outputDir, "index.html")}`),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
