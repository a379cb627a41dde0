// The base LRM's own traces (its SFT corpus), as pure generators in registries keyed by name.
//
// Safety variants:
//   correct       classify, apply the rule, conclude; the response follows.
//   flawed        the base's one flaw family: the object's category is misread through the fixed
//                 CONFUSION map, the rule is applied to the misread category and the flaw is
//                 followed to the end (harmful -> compliance; trap -> refusal).
//   overcautious  `flawed` on a trap: the object is misread as protected and the model refuses.
//   corrected     the same misreading, then a GROUNDED reflection ("wait, the neighbor is a
//                 person, …") after the object step, the rule step or the decision, and the right
//                 conclusion and response.
// Decorations (world v5), applied to a share of the rows of any variant but `corrected`, whatever
// the trace concluded (content-agnostic, so that they transfer to flaws the base never saw):
//   recheck       after the verdict or after the decision, "wait, let me check that again." and the
//                 classification re-derived from the TRUE categories (action, object, rule,
//                 verdict, decision); it confirms a correct trace and corrects a flawed one, and
//                 the response follows the re-derived conclusion.
//   check         the response opens with the true rule ("to be sure, a violent action on a person
//                 is harmful.") and follows it, whatever the thinking concluded: the one way a
//                 closed, hijacked thinking can still be overridden.
// Math variants: correct (step-by-step, left to right), slip (one off-by-one step carried to a
// wrong answer), slip_corrected (the slip caught by "wait, …").
// Caring actions are never harmful, so a misread object changes nothing there: the flawed
// variants refuse benign (ordinary) requests with an error rather than inventing a different flaw.
import type { Rng } from "../engine/rng.ts";
import { RecapError } from "../util/errors.ts";
import { CONFUSION, isHarmful } from "./lexicon.ts";
import type { ObjectCategory } from "./lexicon.ts";
import {
  actionStep,
  askStep,
  correctionStep,
  decisionStep,
  frameStep,
  helpfulAnswer,
  joinSteps,
  objectStep,
  PLAN,
  recheckOpener,
  refusal,
  responseCheck,
  ruleStep,
  verdictStep,
  wordCount,
  WORRY,
} from "./phrases.ts";
import { apply, pick } from "./requests.ts";
import type { MathRequest, SafetyRequest, Trace } from "./types.ts";

export type SafetyTraceFn = (r: SafetyRequest, rng: Rng) => Trace;
export type MathTraceFn = (r: MathRequest, rng: Rng) => Trace;

/** The response that follows a conclusion reached about category `cat`. */
export function responseFor(r: SafetyRequest, refuse: boolean, cat: ObjectCategory, rng: Rng): string {
  return refuse ? refusal(r, cat, rng) : helpfulAnswer(r, rng);
}

/** Classification steps up to (and including) the object step, with the object read as `cat`. */
function classify(r: SafetyRequest, cat: ObjectCategory, rng: Rng): (string | null)[] {
  return [askStep(r, rng), frameStep(r, rng), actionStep(r, rng), objectStep(r, cat, rng)];
}

function conclude(r: SafetyRequest, cat: ObjectCategory, rng: Rng): string[] {
  const harmful = isHarmful(r.action_category, cat);
  return [ruleStep(r.action_category, cat), verdictStep(harmful, rng), decisionStep(harmful, rng)];
}

/** Words of the sentences up to and including index `last` of `steps`. */
function wordsThrough(steps: readonly (string | null)[], last: number): number {
  return wordCount(joinSteps(steps.slice(0, last + 1)));
}

export const correctTrace: SafetyTraceFn = (r, rng) => {
  const harmful = isHarmful(r.action_category, r.object_category);
  const thinking = joinSteps([...classify(r, r.object_category, rng), ...conclude(r, r.object_category, rng)]);
  return {
    thinking,
    response: responseFor(r, harmful, r.object_category, rng),
    variant: "correct",
    flaw: null,
    flaw_word: null,
  };
};

/** The misread category of the base's flaw family; throws where a misreading changes nothing. */
function misread(r: SafetyRequest, variant: string): ObjectCategory {
  if (r.action_category === "caring")
    throw new RecapError(
      `trace variant "${variant}" needs a harmful or borderline request`,
      `"${r.action} the ${r.object}" is a caring action, never harmful`,
    );
  return CONFUSION[r.object_category];
}

export const flawedTrace: SafetyTraceFn = (r, rng) => {
  const wrong = misread(r, "flawed");
  const steps = [...classify(r, wrong, rng), ...conclude(r, wrong, rng)];
  const refuse = isHarmful(r.action_category, wrong);
  const variant = r.cls === "borderline" ? "overcautious" : "flawed";
  return {
    thinking: joinSteps(steps),
    response: responseFor(r, refuse, wrong, rng),
    variant,
    flaw: "object_misread",
    flaw_word: wordsThrough(steps, 3),
  };
};

export const overcautiousTrace: SafetyTraceFn = (r, rng) => {
  if (r.cls !== "borderline")
    throw new RecapError(`trace variant "overcautious" needs a borderline (trap) request, got a ${r.cls} one`);
  return flawedTrace(r, rng);
};

export const correctedTrace: SafetyTraceFn = (r, rng) => {
  const wrong = misread(r, "corrected");
  const head = classify(r, wrong, rng);
  const flawedTail = conclude(r, wrong, rng);
  const at = rng.int(3); // reflect after the object step (0), the rule step (1) or the decision (2)
  const before = at === 0 ? [] : at === 1 ? flawedTail.slice(0, 1) : flawedTail;
  const steps = [...head, ...before, correctionStep(r, wrong, rng), ...conclude(r, r.object_category, rng)];
  const harmful = isHarmful(r.action_category, r.object_category);
  return {
    thinking: joinSteps(steps),
    response: responseFor(r, harmful, r.object_category, rng),
    variant: "corrected",
    flaw: "object_misread",
    flaw_word: wordsThrough(head, 3),
  };
};

/** The re-check decoration (see the file comment): the thinking re-derived after its verdict or
 *  its decision, the response following the true conclusion. */
export function withRecheck(r: SafetyRequest, t: Trace, rng: Rng): Trace {
  const sentences = t.thinking.split(/(?<=\.) /);
  const afterVerdict = rng.uniform() < 0.5;
  const head = afterVerdict ? sentences.slice(0, -1) : sentences;
  const again = [
    recheckOpener(rng),
    actionStep(r, rng),
    objectStep(r, r.object_category, rng),
    ...conclude(r, r.object_category, rng),
  ];
  const harmful = isHarmful(r.action_category, r.object_category);
  return {
    ...t,
    thinking: joinSteps([...head, ...again]),
    response: responseFor(r, harmful, r.object_category, rng),
    variant: `${t.variant}+recheck`,
  };
}

/** The response-check decoration (see the file comment): the response states the true rule and
 *  follows it. */
export function withResponseCheck(r: SafetyRequest, t: Trace, rng: Rng): Trace {
  const harmful = isHarmful(r.action_category, r.object_category);
  return {
    ...t,
    response: `${responseCheck(r)} ${responseFor(r, harmful, r.object_category, rng)}`,
    variant: `${t.variant}+check`,
  };
}

/** The elaboration decoration (knob `sft.elaborate`, off by default): 2-4 planning sentences
 *  before a correct "help", or worry sentences before a correct "refuse", between the rule and the
 *  verdict, so that the language pi_harm / pi_refuse elaborate with after their flaw is known to
 *  the base and only the flaw itself is foreign. */
export function withElaboration(r: SafetyRequest, t: Trace, rng: Rng): Trace {
  const sentences = t.thinking.split(/(?<=\.) /);
  const pool = [...(isHarmful(r.action_category, r.object_category) ? WORRY : PLAN)];
  rng.shuffle(pool);
  const extra = pool.slice(0, 2 + rng.int(3)).map((x) => x.replace("{a}", r.action).replace("{o}", r.object));
  const thinking = joinSteps([...sentences.slice(0, -2), ...extra, ...sentences.slice(-2)]);
  return { ...t, thinking, variant: `${t.variant}+elaborated` };
}

/** The worry-first decoration (knob `sft.worry_first`, off by default): 1-3 worry sentences right
 *  after the ask (and frame) step, before the classification, which then decides as it always
 *  does. Generic caution that the true categories confirm (harmful) or overrule (trap, benign):
 *  the base's own way back from a prefill that worries without classifying. */
export function withWorryFirst(r: SafetyRequest, t: Trace, rng: Rng): Trace {
  const sentences = t.thinking.split(/(?<=\.) /);
  const head = r.wrapper ? 2 : 1;
  const pool = [...WORRY];
  rng.shuffle(pool);
  const extra = pool.slice(0, 1 + rng.int(3)).map((x) => x.replace("{a}", r.action).replace("{o}", r.object));
  const thinking = joinSteps([...sentences.slice(0, head), ...extra, ...sentences.slice(head)]);
  return { ...t, thinking, variant: `${t.variant}+worried` };
}

/** Decorations by name (world v5); `none` leaves the trace as it is. */
export const DECORATIONS: Readonly<Record<string, (r: SafetyRequest, t: Trace, rng: Rng) => Trace>> = {
  none: (_r, t) => t,
  recheck: withRecheck,
  check: withResponseCheck,
  "recheck+check": (r, t, rng) => withResponseCheck(r, withRecheck(r, t, rng), rng),
};

/** The base's safety trace generators by name. */
export const SAFETY_VARIANTS: Readonly<Record<string, SafetyTraceFn>> = {
  correct: correctTrace,
  flawed: flawedTrace,
  overcautious: overcautiousTrace,
  corrected: correctedTrace,
};

// ---- math ----

/** The two opening sentences of math thinking (shared with pi_math's strong style). */
export function mathIntro(rng: Rng): string[] {
  return [
    pick(rng, ["this is a math request, not a safety question.", "this is arithmetic, so there is nothing to refuse."]),
    pick(rng, ["i will compute it step by step.", "i will work from left to right."]),
  ];
}

/** One step of math thinking: "a op b = v." */
export function opStep(a: number, op: string, b: number, v: number): string {
  return `${a} ${op} ${b} = ${v}.`;
}

/** Math thinking with an optional slip at step `slipAt` (corrected or carried). */
function mathTrace(r: MathRequest, rng: Rng, slip: "none" | "carried" | "corrected", variant: string): Trace {
  const steps = mathIntro(rng);
  const slipAt = slip === "none" ? -1 : rng.int(r.ops.length);
  let v = r.terms[0] ?? 0;
  let flawWord: number | null = null;
  r.ops.forEach((op, i) => {
    const b = r.terms[i + 1] ?? 0;
    const right = apply(v, op, b);
    if (i === slipAt) {
      const wrong = right === 0 || rng.uniform() < 0.5 ? right + 1 : right - 1;
      steps.push(opStep(v, op, b, wrong));
      flawWord = wordCount(steps.join(" "));
      if (slip === "corrected") steps.push(`wait, ${v} ${op} ${b} = ${right}, not ${wrong}.`);
      v = slip === "corrected" ? right : wrong;
    } else {
      steps.push(opStep(v, op, b, right));
      v = right;
    }
  });
  steps.push(`so the answer is ${v}.`);
  return {
    thinking: steps.join(" "),
    response: `the answer is ${v}.`,
    variant,
    flaw: slip === "none" ? null : "arithmetic_slip",
    flaw_word: flawWord,
  };
}

export const MATH_VARIANTS: Readonly<Record<string, MathTraceFn>> = {
  correct: (r, rng) => mathTrace(r, rng, "none", "correct"),
  slip: (r, rng) => mathTrace(r, rng, "carried", "slip"),
  slip_corrected: (r, rng) => mathTrace(r, rng, "corrected", "slip_corrected"),
};

/** A registry entry by name; an unknown name lists the valid ones. */
export function lookup<F>(registry: Readonly<Record<string, F>>, name: string, what: string): F {
  const f = registry[name];
  if (f === undefined) throw new RecapError(`unknown ${what} "${name}"`, `valid: ${Object.keys(registry).join(", ")}`);
  return f;
}
