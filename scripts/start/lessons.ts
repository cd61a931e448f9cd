/**
 * The app pane's lesson buttons: the manifest's `demos` of each step (workshop.ts) say which
 * step gets which. "New browser" and "restart the server" are every step's, and not listed.
 */
import type { Demo, Step } from "../../workshop.ts";

export type LessonButton = Demo;

/** What each button says, and what it does, for its label and its description. */
export const BUTTON_TEXT: Readonly<Record<LessonButton, { label: string; what: string }>> = {
  burst: {
    label: "20 requests at once",
    what:
      "sends 20 requests at once with the app pane's cookie (each pausing 100 ms between " +
      "reading and writing its session), then one more: the count each answer saw, and the final count",
  },
  "kill-primary": {
    label: "Kill the primary",
    what:
      "SIGKILLs the Redis primary, as a crash would, and asks the app every 250 ms until it " +
      "answers again: how long the failover took, and what the app answered meanwhile",
  },
  freeze: {
    label: "Freeze the store",
    what:
      "stops the store's process (SIGSTOP: its connections stay open, nothing answers) for at " +
      "least 3 s and until the app has answered 503, then lets it go on (SIGCONT)",
  },
};

/** The store server a freeze stops, by the manifest's `store` of the step. */
export function frozenService(step: Step): "redis" | "mongo" | "postgres" | undefined {
  if (step.store === "mongo") return "mongo";
  if (step.store === "postgres") return "postgres";
  if (step.services.includes("redis")) return "redis";
  return undefined;
}

/** The lesson buttons of STEP; throws when its services or store cannot serve one. */
export function lessonButtons(step: Step): readonly LessonButton[] {
  const buttons = step.demos ?? [];
  for (const button of buttons) {
    const fits =
      button === "kill-primary"
        ? step.services.includes("redis-sentinel")
        : button === "freeze"
          ? frozenService(step) !== undefined
          : step.services.includes("redis"); // the burst reads step 08's counters
    if (!fits) {
      throw new Error(
        `workshop.ts gives step ${step.number} (${step.slug}) the demo "${button}", ` +
          "which its manifest entry's services or store cannot serve",
      );
    }
  }
  return buttons;
}
