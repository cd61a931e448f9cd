/**
 * Node 20 cannot run TypeScript; Node 22.18+ and 24 strip the types themselves. On Node 20 the
 * processes the workshop starts (its tests' steps, servers and scripts) load this first:
 *   node --import ./lib/node20-typescript.mjs steps/01-memory-store/server.ts
 * It does what tsx does for the workshop's own files, at about 0.3 s less CPU a process (the
 * tests start hundreds): each .ts file becomes JavaScript with esbuild (tsx's own compiler),
 * once per content, kept in .workshop/typescript/. `npm run …` loads it too (scripts/run-ts.mjs).
 * Plain JavaScript: it runs before any TypeScript can.
 */
import { register } from "node:module";

// Stack traces point into the .ts files, not the JavaScript made from them.
process.setSourceMapsEnabled(true);
register("./node20-typescript-hooks.mjs", import.meta.url);
