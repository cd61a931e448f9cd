/**
 * The Marp engine the decks are presented with, for code that renders them itself (the
 * rendering test): Marp Core, the workshop theme (slides/theme.css) and slides/engine.mjs,
 * the same two files .marprc.yml hands to Marp CLI.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Marp, type MarpOptions } from "@marp-team/marp-core";
import { repoRoot } from "../lib/services/workshop-dir.ts";

export const themeFile = join(repoRoot, "slides", "theme.css");
export const engineFile = join(repoRoot, "slides", "engine.mjs");

type EngineFunction = (parameters: { marp: Marp }) => Marp;

export async function createWorkshopMarp(options: MarpOptions = {}): Promise<Marp> {
  const marp = new Marp(options);
  marp.themeSet.add(readFileSync(themeFile, "utf8"));
  const engine = (await import(pathToFileURL(engineFile).href)) as { default: EngineFunction };
  return engine.default({ marp });
}
