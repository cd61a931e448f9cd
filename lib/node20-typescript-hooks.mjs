/**
 * The module hooks of lib/node20-typescript.mjs (Node runs them in a thread of their own): a .ts
 * file is loaded as the JavaScript esbuild makes of it, from .workshop/typescript/ when that
 * same file, with the same content, was compiled before.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const cache = fileURLToPath(new URL("../.workshop/typescript/", import.meta.url));
/** @type {typeof import("esbuild") | undefined} loaded on the first file not in the cache */
let esbuild;

/** @type {import("node:module").LoadHook} */
export async function load(url, context, nextLoad) {
  // A query ("app.ts?second-process") makes another instance of the same file.
  if (!url.startsWith("file:") || !new URL(url).pathname.endsWith(".ts")) {
    return nextLoad(url, context);
  }
  const source = readFileSync(new URL(url), "utf8");
  const key = createHash("sha256").update(url).update("\0").update(source).digest("hex");
  const compiled = `${cache}${key}.js`;
  let code;
  try {
    code = readFileSync(compiled, "utf8");
  } catch {
    esbuild ??= await import("esbuild");
    code = esbuild.transformSync(source, {
      loader: "ts",
      format: "esm",
      target: `node${process.versions.node}`,
      // Lines of the .ts file in stack traces; not its text (as tsx): a smaller map to parse.
      sourcemap: "inline",
      sourcesContent: false,
      sourcefile: fileURLToPath(url),
    }).code;
    // Written aside, then renamed: a process reading it never sees half a file.
    mkdirSync(cache, { recursive: true });
    const partial = `${compiled}.${process.pid}`;
    writeFileSync(partial, code);
    renameSync(partial, compiled);
  }
  return { format: "module", source: code, shortCircuit: true };
}
