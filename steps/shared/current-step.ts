import type { RequestListener } from "node:http";
import { type Step, steps } from "../../workshop.ts";

/**
 * The step this process runs: the one `npm run step -- N` names (WORKSHOP_STEP), or the one whose
 * server.ts was started (`npm run step:N`, the tests). Undefined for an exercise's app.
 * Pages use it to say where the learner is; the `X-Workshop-Step` header lets the walkthroughs
 * tell which step answers on a port.
 */
export function currentStep(): Step | undefined {
  const slug =
    process.env.WORKSHOP_STEP ?? /steps[/\\](\d\d-[\w-]+)[/\\]/.exec(process.argv[1] ?? "")?.[1];
  return steps.find((step) => step.slug === slug);
}

/** Where the learner is and where to go next, for the top of every page. */
export function orientation(step = currentStep()) {
  if (!step) return undefined;
  const next = steps.find((other) => other.number === step.number + 1);
  return {
    number: step.number,
    total: steps.length,
    title: step.title,
    readme: `steps/${step.slug}/README.md`,
    deck: `slides/${step.deck}`,
    check: `npm run check -- ${step.number}`,
    next: next ? { number: next.number, title: next.title } : undefined,
    pages: step.pages ?? [],
    // Where `npm run slides` serves the repository: SLIDES_PORT, as it reads it.
    slides: `http://localhost:${process.env.SLIDES_PORT ?? 8080}/`,
  };
}

/**
 * APP as a request listener that adds `X-Workshop-Step: <slug>` to every answer, so that a tool
 * (`npm run walkthrough`) can ask a port which step runs there without creating a session.
 */
export function announcingStep(app: RequestListener): RequestListener {
  const step = currentStep();
  return (req, res) => {
    if (step) res.setHeader("X-Workshop-Step", step.slug);
    app(req, res);
  };
}
