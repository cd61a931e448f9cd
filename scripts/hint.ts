/**
 * Shows the next hint of an exercise, one more each time (they are in its hints.md):
 *   npm run hint -- N          the next hint of exercise N, with the ones before it
 * The progress table (`npm run check`) says how many hints each exercise used.
 */
import { styleText } from "node:util";
import { findExercise, makeWorkingCopies, readHints, saveProgress } from "../lib/exercises.ts";

for (const line of makeWorkingCopies()) console.log(line);
const wanted = process.argv[2];
if (!wanted) {
  console.error("Usage: npm run hint -- N   (the next hint of exercise N)");
  process.exit(2);
}
try {
  const exercise = findExercise(wanted);
  const hints = readHints(exercise);
  let shown = 0;
  saveProgress((progress) => {
    shown = Math.min((progress.hints[exercise.number] ?? 0) + 1, hints.length);
    progress.hints[exercise.number] = shown;
  });
  if (hints.length === 0) {
    console.log(`Exercise ${exercise.number} has no hints: its README.md says what to do.`);
  } else {
    console.log(
      styleText("bold", `Exercise ${exercise.number}: hint ${shown} of ${hints.length}\n`),
    );
    hints.slice(0, shown).forEach((hint, index) => {
      // A hint of several lines keeps them, indented under its number.
      const text = `  ${index + 1}. ${hint.replaceAll("\n", "\n     ")}`;
      console.log(index + 1 === shown ? text : styleText("dim", text));
    });
    console.log(
      shown < hints.length
        ? styleText("dim", `\nStill stuck? npm run hint -- ${exercise.number} shows the next one.`)
        : styleText(
            "dim",
            `\nThat was the last hint. Compare: npm run diff -- ${exercise.number} --solution`,
          ),
    );
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
}
