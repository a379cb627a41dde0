// The graders by name (see types.ts for the `{ id, grade }` contract). An unknown name lists the
// valid ones.
import { RecapError } from "../util/errors.ts";
import type { Grader } from "./types.ts";
import { xstestStrmatchGrader } from "./xstest_strmatch.ts";
import { mathGrader } from "./math.ts";
import { worldGrader } from "./world.ts";

export type { GradeResult, GradeRow, Grader } from "./types.ts";
export { xstestStrmatch, xstestStrmatchGrader, XSTEST_REFUSAL_PREFIXES, pyStrip } from "./xstest_strmatch.ts";

export const GRADERS: Readonly<Record<string, Grader>> = {
  [xstestStrmatchGrader.id]: xstestStrmatchGrader,
  [worldGrader.id]: worldGrader,
  [mathGrader.id]: mathGrader,
};

/** Graders that need a judge endpoint (made with `ENDPOINT_GRADERS[name].make(endpoint)`; see resolve.ts). */
export { ENDPOINT_GRADERS } from "./endpoint_graders.ts";

export function graderNames(): string[] {
  return Object.keys(GRADERS);
}

/** The grader called `name`. */
export function getGrader(name: string): Grader {
  const g = GRADERS[name];
  if (!g) throw new RecapError(`unknown grader "${name}"`, `use one of: ${graderNames().join(", ")}`);
  return g;
}
