/**
 * Makes your working copy of every exercise, exercises/NN-name/yours/, from its starter/:
 * only the files that are missing, never over one you have. `npm install` runs it
 * (postinstall), and so do `npm run check`, `exercise`, `reset`, `diff` and `hint`.
 *   node scripts/run-ts.mjs scripts/exercise-copies.ts
 * It never fails the install: a problem is printed as a warning, and the exit code is 0.
 */
try {
  // Imported here, not at the top, so that even a module that does not load is only a warning.
  const { makeWorkingCopies } = await import("../lib/exercises.ts");
  for (const line of makeWorkingCopies()) console.log(line);
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  console.warn(
    `Warning: the exercises' working copies (exercises/NN-name/yours/) were not made: ${reason}\n` +
      "npm run check, exercise, reset, diff and hint try again.",
  );
}
process.exitCode = 0;
