/**
 * Marp's engine for the workshop decks: Marp Core plus one thing, marked lines in code.
 *
 *   ```ts {3,5-6}      the 3rd, 5th and 6th lines of the block get a yellow band
 *
 * The fence's first word stays the language, so GitHub and the slide test read it as before.
 * Each line becomes <span class="line">; syntax-colour spans that cross a line end are closed
 * and opened again, so every line is a block of its own (see .line.hl in theme.css).
 */
export default ({ marp }) => marp.use(markedLines);

function markedLines(md) {
  const renderFence = md.renderer.rules.fence;
  md.renderer.rules.fence = (tokens, index, options, env, self) => {
    const html = renderFence(tokens, index, options, env, self);
    const marked = linesToMark(tokens[index].info);
    return html.replace(
      /(<code[^>]*>)([\s\S]*?)(<\/code>)/,
      (_, open, body, close) => `${open}${splitIntoLines(body, marked)}${close}`,
    );
  };
}

/** "ts {3,5-6}" → Set {3, 5, 6} */
function linesToMark(info) {
  const braces = /\{([\d,\s-]+)\}/.exec(info);
  const lines = new Set();
  if (!braces) return lines;
  for (const part of braces[1].split(",")) {
    const [from, to = from] = part.trim().split("-").map(Number);
    for (let line = from; line <= to; line++) lines.add(line);
  }
  return lines;
}

function splitIntoLines(body, marked) {
  const open = []; // syntax spans still open at the end of the previous line
  return body
    .replace(/\n$/, "")
    .split("\n")
    .map((line, index) => {
      const reopened = open.join("");
      for (const tag of line.matchAll(/<(\/?)span\b[^>]*>/g)) {
        if (tag[1]) open.pop();
        else open.push(tag[0]);
      }
      const closed = "</span>".repeat(open.length);
      const text = line.replace(/<[^>]*>/g, "") === "" ? " " : "";
      const kind = marked.has(index + 1) ? "line hl" : "line";
      return `<span class="${kind}">${reopened}${line}${text}${closed}</span>`;
    })
    .join("");
}
