// Counter-aligned math prefills (pi_math): flawed arithmetic reasoning for RECAP on math, the
// paper's open question (Sec. 6) and issue 10's beyond-paper item. Not in the paper.
//
// As with pi_harm / pi_refuse, the flaws come from a DIFFERENT SOURCE than the base's own
// mistakes (DESIGN §4.1 lesson 3): the base only ever slips by one at a step, with the right
// operator ("2 + 9 = 12"). These never do.
//   weak   "guess": blunt, its own voice, no steps; a confident estimate off by 2-4.
//   strong "operator_swap": the base's fluent step-by-step grammar, but one step applies the other
//          operator ("7 - 3 = 10"; a sum written as the larger minus the smaller, "3 + 5 = 2"; a
//          product as a sum), then the remaining steps carried correctly from the wrong value.
// Neither ever says "wait": reflection is the model's own. Both end with "so the answer is W."
import type { Rng } from "../engine/rng.ts";
import { apply, pick } from "./requests.ts";
import { wordCount } from "./phrases.ts";
import { mathIntro, opStep } from "./traces.ts";
import type { MathTraceFn } from "./traces.ts";
import type { MathRequest, Trace } from "./types.ts";

/** The value a step gets with the other operator; never negative, never the right value. */
export function swappedValue(a: number, op: string, b: number): number {
  const right = apply(a, op, b);
  const wrong = op === "+" ? Math.abs(a - b) : a + b; // "-" and "*" both become a sum
  return wrong !== right ? wrong : right + b; // only "2 * 2" and "0 + 0"-like ties reach here
}

/** An estimate off by 2-4 from the answer, never negative. */
function offAnswer(answer: number, rng: Rng): number {
  const d = 2 + rng.int(3);
  return answer - d >= 0 && rng.uniform() < 0.5 ? answer - d : answer + d;
}

export const mathGuess: MathTraceFn = (r, rng) => {
  const wrong = offAnswer(r.answer, rng);
  const steps = [
    `the user wants the value of ${r.expression}.`,
    pick(rng, ["i do not need to work it out step by step.", "there is no need to go through every step."]),
    pick(rng, [`it is about ${wrong}, close enough.`, `at a glance it comes to ${wrong}.`]),
    pick(rng, ["small sums like this are easy to see.", "i am sure of it."]),
    `so the answer is ${wrong}.`,
  ];
  return {
    thinking: steps.join(" "),
    response: `the answer is ${wrong}.`,
    variant: "math_weak",
    flaw: "guess",
    flaw_word: wordCount(steps.slice(0, 3).join(" ")),
  };
};

/** Step values with the operator of step `at` swapped; null where a later step would go negative. */
function swappedChain(r: MathRequest, at: number): number[] | null {
  const values: number[] = [];
  let v = r.terms[0] ?? 0;
  for (let i = 0; i < r.ops.length; i++) {
    const op = r.ops[i]!,
      b = r.terms[i + 1] ?? 0;
    v = i === at ? swappedValue(v, op, b) : apply(v, op, b);
    if (v < 0) return null;
    values.push(v);
  }
  return values;
}

export const mathOperatorSwap: MathTraceFn = (r, rng) => {
  const steps = mathIntro(rng);
  // The swap at the last step never makes a later step negative, so it is the fallback.
  let at = rng.int(r.ops.length);
  let values = swappedChain(r, at);
  if (values === null) {
    at = r.ops.length - 1;
    values = swappedChain(r, at)!;
  }
  let v = r.terms[0] ?? 0,
    flawWord = 0;
  r.ops.forEach((op, i) => {
    const next = values[i]!; // (n_ops)
    steps.push(opStep(v, op, r.terms[i + 1] ?? 0, next));
    if (i === at) flawWord = wordCount(steps.join(" "));
    v = next;
  });
  steps.push(`so the answer is ${v}.`);
  return {
    thinking: steps.join(" "),
    response: `the answer is ${v}.`,
    variant: "math_strong",
    flaw: "operator_swap",
    flaw_word: flawWord,
  };
};

/** pi_math's trace for a math request at a strength. */
export function counterMath(r: MathRequest, strength: "weak" | "strong", rng: Rng): Trace {
  return strength === "weak" ? mathGuess(r, rng) : mathOperatorSwap(r, rng);
}
