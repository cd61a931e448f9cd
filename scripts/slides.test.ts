/**
 * The slide checks (convention: slides/README.md).
 * - every deck is Marp markdown and converts to HTML, one <section> per slide;
 * - every code block under `<!-- source: PATH#Lx-Ly -->` is those lines of PATH (perhaps
 *   without their comments, and broken elsewhere to fit the slide), so a change to a step fails
 *   here until its slide follows;
 * - every ```ts block names its source; every file a deck links to exists.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { openingDeck, steps } from "../workshop.ts";
import { buildSlides, listDecks, slidesDir } from "./slides-build.ts";

interface CodeBlock {
  /** The fence's language tag ("ts", "sh", ""...). */
  language: string;
  /** Line number of the opening fence in the deck. */
  line: number;
  content: string[];
  /** From the `<!-- source: ... -->` just above, if there is one. */
  source?: { path: string; from: number; to: number; comment: string };
}

interface Deck {
  file: string;
  frontMatter: string;
  blocks: CodeBlock[];
  /** Slides, counted from the `---` separators outside code blocks. */
  slideCount: number;
  /** Targets of relative markdown links. */
  links: { target: string; line: number }[];
}

const SOURCE = /^<!--\s*source:\s*(\S+?)#L(\d+)(?:-L(\d+))?\s*-->$/;

function readDeck(file: string): Deck {
  const lines = readFileSync(file, "utf8").split("\n");
  const where = (index: number) => `${relative(repoRoot, file)}:${index + 1}`;
  assert.equal(lines[0], "---", `${where(0)}: a deck starts with Marp's front matter (---)`);
  const frontEnd = lines.indexOf("---", 1);
  assert.ok(frontEnd > 0, `${where(0)}: the front matter is never closed with ---`);

  const deck: Deck = {
    file,
    frontMatter: lines.slice(1, frontEnd).join("\n"),
    blocks: [],
    slideCount: 1,
    links: [],
  };
  let pendingSource: CodeBlock["source"] | undefined;
  for (let index = frontEnd + 1; index < lines.length; index++) {
    const line = lines[index] ?? "";
    const fence = /^(`{3,}|~{3,})(\S*)/.exec(line);
    if (fence) {
      const [, marker = "```", language = ""] = fence;
      const start = index;
      const content: string[] = [];
      for (index++; index < lines.length && !(lines[index] ?? "").startsWith(marker); index++) {
        content.push(lines[index] ?? "");
      }
      assert.ok(index < lines.length, `${where(start)}: a code block is never closed`);
      deck.blocks.push({ language, line: start + 1, content, source: pendingSource });
      pendingSource = undefined;
      continue;
    }
    if (pendingSource && line.trim() !== "") {
      assert.fail(`${where(index)}: "${pendingSource.comment}" must be followed by a code block`);
    }
    if (line.includes("<!-- source:")) {
      const source = SOURCE.exec(line.trim());
      assert.ok(source, `${where(index)}: write it as <!-- source: path/to/file.ts#L10-L20 -->`);
      const [, path = "", from = "0", to = from] = source;
      pendingSource = { path, from: Number(from), to: Number(to), comment: line.trim() };
      continue;
    }
    if (line === "---") deck.slideCount++;
    for (const link of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = link[1] ?? "";
      if (!/^([a-z]+:|#)/i.test(target)) deck.links.push({ target, line: index + 1 });
    }
  }
  assert.equal(pendingSource, undefined, `${relative(repoRoot, file)}: a source without a block`);
  return deck;
}

const decks = listDecks().map(readDeck);

test("there is an opening deck and one per step, each Marp markdown", () => {
  const names = decks.map((deck) => basename(deck.file));
  for (const expected of [openingDeck, ...steps.map((step) => step.deck)]) {
    assert.ok(names.includes(expected), `slides/${expected} is missing`);
  }
  for (const deck of decks) {
    const name = basename(deck.file);
    assert.match(deck.frontMatter, /^marp: true$/m, `${name}: front matter needs marp: true`);
    assert.match(
      deck.frontMatter,
      /^theme: workshop$/m,
      `${name}: front matter needs theme: workshop (slides/theme.css, for projectors)`,
    );
    assert.match(deck.frontMatter, /^paginate: true$/m, `${name}: front matter needs paginate`);
  }
});

test("every code block with a source comment is those lines of that file (comments may be left out)", () => {
  const problems: string[] = [];
  for (const deck of decks) {
    for (const block of deck.blocks) {
      const { source } = block;
      const at = `${relative(repoRoot, deck.file)}:${block.line}`;
      if (!source) {
        if (block.language === "ts") {
          problems.push(`${at}: a \`\`\`ts block needs a <!-- source: path#Lx-Ly --> above it`);
        }
        continue;
      }
      const path = join(repoRoot, source.path);
      if (!existsSync(path)) {
        problems.push(`${at}: ${source.path} does not exist`);
        continue;
      }
      const fileLines = readFileSync(path, "utf8").split("\n");
      const shown = fileLines.slice(source.from - 1, source.to);
      if (source.to < source.from || source.to > fileLines.length) {
        problems.push(`${at}: ${source.path} has no lines ${source.from}-${source.to}`);
      } else if (!sameCode(shown, block.content)) {
        problems.push(
          `${at}: the block no longer matches ${source.path}#L${source.from}-L${source.to}` +
            `${movedTo(fileLines, block.content)}.\n    lines ${source.from}-${source.to} now read:\n` +
            shown.map((line) => `    | ${line}`).join("\n"),
        );
      }
    }
  }
  assert.deepEqual(problems, [], `\n${problems.join("\n\n")}\n`);
});

/**
 * A slide shows its source lines as they are, or shorter so that they fit without wrapping:
 * without their comments (the speaker notes say them) and broken at other places (whitespace,
 * and trailing commas, are not compared). A comment the slide keeps is the source's, word for
 * word.
 */
function sameCode(source: string[], slide: string[]): boolean {
  const original = splitComments(source.join("\n"));
  const shown = splitComments(slide.join("\n"));
  // No whitespace, and no comma before a closing bracket: line breaks are the slide's own.
  const squeeze = (code: string) => code.replace(/\s+/g, "").replace(/,(?=[)\]}])/g, "");
  return (
    squeeze(shown.code) === squeeze(original.code) &&
    shown.comments.every((comment) => original.comments.includes(comment))
  );
}

/** TypeScript's code and its comments (each `//` line, each block comment), apart. */
function splitComments(text: string): { code: string; comments: string[] } {
  let code = "";
  const comments: string[] = [];
  let quote = "";
  for (let at = 0; at < text.length; at++) {
    const char = text[at] ?? "";
    if (quote) {
      code += char;
      if (char === "\\") code += text[++at] ?? "";
      else if (char === quote) quote = "";
    } else if (char === '"' || char === "'" || char === "`") {
      quote = char;
      code += char;
    } else if (text.startsWith("//", at) || text.startsWith("/*", at)) {
      const end = text.startsWith("//", at) ? text.indexOf("\n", at) : text.indexOf("*/", at) + 2;
      const stop = end < at + 2 ? text.length : end;
      comments.push(text.slice(at, stop).trim());
      at = stop - 1;
    } else {
      code += char;
    }
  }
  return { code, comments };
}

/** Where the block's lines are now in the file, if they are still there in one piece. */
function movedTo(fileLines: string[], content: string[]): string {
  for (let start = 0; start + content.length <= fileLines.length; start++) {
    if (content.every((line, offset) => fileLines[start + offset] === line)) {
      return ` (the same code is now at #L${start + 1}-L${start + content.length})`;
    }
  }
  return " (its code changed: update the block)";
}

test("every file a deck links to exists", () => {
  const missing = decks.flatMap((deck) =>
    deck.links
      .filter(({ target }) => !existsSync(join(dirname(deck.file), target.replace(/#.*$/, ""))))
      .map(({ target, line }) => `${relative(repoRoot, deck.file)}:${line}: ${target}`),
  );
  assert.deepEqual(missing, [], "links to files that do not exist");
});

test("every deck converts to HTML, one <section> per slide", async (t) => {
  const output = mkdtempSync(join(tmpdir(), "slides-html-"));
  t.after(() => rmSync(output, { recursive: true, force: true }));
  const written = await buildSlides(output);
  assert.equal(written.length, decks.length);
  for (const deck of decks) {
    const html = readFileSync(join(output, `${basename(deck.file, ".md")}.html`), "utf8");
    const sections = html.match(/<section\b[^>]*\bdata-marpit-pagination="\d+"/g) ?? [];
    assert.equal(
      sections.length,
      deck.slideCount,
      `${basename(deck.file)}: Marp made ${sections.length} slides, the markdown has ${deck.slideCount}`,
    );
  }
  assert.ok(existsSync(join(output, "index.html")));
  assert.ok(slidesDir.endsWith("slides"));
});
