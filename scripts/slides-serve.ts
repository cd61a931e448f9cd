/**
 * npm run slides: the decks, ready to present.
 *
 * Builds every deck into slides-html/ (as npm run slides:build does), serves the repository
 * on http://localhost:8080 so that a deck's links to the code (../steps/...) open, rebuilds
 * when a deck changes, and prints the opening deck's address. Only decks are listed: the
 * index is slides-html/index.html, not a folder listing.
 *
 *   npm run slides                      port 8080
 *   SLIDES_PORT=8090 npm run slides     another port
 *
 * In the browser: arrow keys, `f` full screen, `p` presenter view with the speaker notes.
 */
import { createReadStream, existsSync, statSync, watch } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, relative, sep } from "node:path";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { buildSlides, slidesDir } from "./slides-build.ts";

const port = Number(process.env.SLIDES_PORT ?? 8080);
const outputDir = join(repoRoot, "slides-html");
const opening = "/slides-html/00-opening.html";

/** Never served: dependencies, git, the running workshop's data, secrets. */
const PRIVATE = new Set(["node_modules", ".git", ".workshop", ".env"]);

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
};

async function rebuild(): Promise<void> {
  const decks = await buildSlides(outputDir);
  console.log(`${decks.length} decks built into ${relative(repoRoot, outputDir)}/`);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  const path = decodeURIComponent(url.pathname);
  if (path === "/" || path === "/slides-html" || path === "/slides-html/") {
    res.writeHead(302, { Location: path === "/" ? opening : "/slides-html/index.html" }).end();
    return;
  }
  const file = normalize(join(repoRoot, path));
  const inside = relative(repoRoot, file);
  const hidden = inside.startsWith("..") || inside.split(sep).some((part) => PRIVATE.has(part));
  if (hidden || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end(`Not found: ${path}\n`);
    return;
  }
  // Code and READMEs a deck links to are shown as text, the way an editor would.
  const type = TYPES[extname(file)] ?? "text/plain; charset=utf-8";
  res.writeHead(200, { "Content-Type": type, "Cache-Control": "no-store" });
  createReadStream(file).pipe(res);
});

await rebuild();
server.once("error", (error: NodeJS.ErrnoException) => {
  console.error(
    error.code === "EADDRINUSE"
      ? `Port ${port} is in use: SLIDES_PORT=${port + 1} npm run slides`
      : error.message,
  );
  process.exit(1);
});
server.listen(port, () => {
  console.log(`Slides: http://localhost:${port}${opening}`);
  console.log(`All decks: http://localhost:${port}/slides-html/index.html — Ctrl-C to stop`);
});

// Rebuild when a deck, the theme or a picture changes (editors save in bursts: wait a moment).
let pending: NodeJS.Timeout | undefined;
watch(slidesDir, { recursive: true }, () => {
  clearTimeout(pending);
  pending = setTimeout(() => {
    rebuild().catch((error: Error) => console.error(`Could not rebuild: ${error.message}`));
  }, 300);
});
process.on("SIGINT", () => {
  server.close();
  process.exit(0);
});
