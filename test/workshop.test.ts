/**
 * The manifest (workshop.ts) and the tree agree, in the spirit of rustlings' own checks:
 * every step has what a learner and an instructor are promised, and every file in the steps',
 * exercises', decks' and walkthroughs' folders belongs to a step. What the manifest writes
 * itself (package.json's step scripts, the tables of the READMEs) is checked by
 * scripts/manifest-sync.test.ts.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { codeFiles, findExercise, readHints } from "../lib/exercises.ts";
import { repoRoot } from "../lib/services/workshop-dir.ts";
import { openingDeck, steps } from "../workshop.ts";

const exists = (path: string) => existsSync(join(repoRoot, path));
const read = (path: string) => readFileSync(join(repoRoot, path), "utf8");
const foldersIn = (dir: string) =>
  readdirSync(join(repoRoot, dir)).filter((name) =>
    statSync(join(repoRoot, dir, name)).isDirectory(),
  );
const WALKTHROUGHS = "scripts/redis-cli";
/** What an exercise's folder may hold (lib/exercises.ts says what each one is). */
const EXERCISE_PARTS = [
  "README.md",
  "hints.md",
  "check.ts",
  "starter",
  "solution",
  "answers",
  "yours",
];

test("steps are numbered 1, 2, 3… and each builds on an earlier one", () => {
  steps.forEach((step, index) => {
    assert.equal(step.number, index + 1, `${step.slug}: numbers go up by one`);
    assert.match(step.slug, new RegExp(`^${String(step.number).padStart(2, "0")}-[a-z0-9-]+$`));
    if ("buildsOn" in step) {
      assert.ok(step.buildsOn < step.number, `${step.slug} builds on a later step`);
    }
  });
});

describe("every step has its parts", () => {
  for (const step of steps) {
    test(`step ${step.number} (${step.slug})`, () => {
      const folder = `steps/${step.slug}`;
      for (const file of ["app.ts", "server.ts", "step.test.ts", "README.md"]) {
        assert.ok(exists(`${folder}/${file}`), `${folder}/${file} is missing`);
      }
      assert.ok(exists(`slides/${step.deck}`), `its deck slides/${step.deck} is missing`);

      const exercise = findExercise(step.exercise);
      const readme = `${exercise.folder}/README.md`;
      assert.ok(exists(readme), `${readme} is missing`);
      const heading = `# Exercise ${String(step.number).padStart(2, "0")} — ${step.exerciseTitle}`;
      assert.ok(
        read(readme).startsWith(heading),
        `${readme} should start with "${heading}" (its title is in workshop.ts)`,
      );
      assert.ok(exists(exercise.checkFile), `its check ${exercise.checkFile} is missing`);
      assert.ok(readHints(exercise).length > 0, `${exercise.folder}/hints.md has no "## Hint 1"`);
      assert.ok(codeFiles(exercise.starterDir).length > 0, `${exercise.starterDir} has no code`);
      assert.deepEqual(
        codeFiles(exercise.solutionDir),
        codeFiles(exercise.starterDir),
        `${exercise.solutionDir} should hold the same files as ${exercise.starterDir}`,
      );

      if ((step.services as readonly string[]).includes("redis")) {
        assert.ok(step.walkthroughs.length > 0, "a step that uses Redis has a walkthrough");
      }
      for (const name of step.walkthroughs) {
        const file = `${WALKTHROUGHS}/${name}.redis`;
        assert.ok(exists(file), `${file} is missing`);
        const needs = /^@step\s+(\S+)/m.exec(read(file))?.[1];
        if (needs) assert.equal(needs, step.slug, `${file} replays against another step`);
      }
    });
  }
});

test("every file in those folders belongs to a step", () => {
  const slugs: string[] = steps.map((step) => step.slug);
  const exercises: string[] = steps.map((step) => step.exercise);
  const strays = [
    ...foldersIn("steps")
      .filter((name) => name !== "shared" && !slugs.includes(name))
      .map((name) => `steps/${name}/`),
    ...foldersIn("exercises")
      .filter((name) => !exercises.includes(name))
      .map((name) => `exercises/${name}/`),
    ...exercises.flatMap((name) =>
      readdirSync(join(repoRoot, "exercises", name))
        .filter((entry) => !EXERCISE_PARTS.includes(entry))
        .map((entry) => `exercises/${name}/${entry}`),
    ),
    ...readdirSync(join(repoRoot, "slides"))
      .filter((file) => /^\d\d-.*\.md$/.test(file) && file !== openingDeck)
      .filter((file) => !steps.some((step) => step.deck === file))
      .map((file) => `slides/${file}`),
    ...readdirSync(join(repoRoot, WALKTHROUGHS))
      .filter((file) => file.endsWith(".redis"))
      .filter(
        (file) =>
          !steps.some((s) => (s.walkthroughs as readonly string[]).includes(file.slice(0, -6))),
      )
      .map((file) => `${WALKTHROUGHS}/${file}`),
  ];
  assert.deepEqual(strays, [], `not listed in workshop.ts:\n  ${strays.join("\n  ")}`);
  assert.ok(exists(`slides/${openingDeck}`), `the opening deck slides/${openingDeck} is missing`);
});
