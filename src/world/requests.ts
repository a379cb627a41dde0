// Requests of the world: safety requests (an action/object combination in a template, optionally
// inside a jailbreak wrapper), the held-out split of combinations, and arithmetic problems.
//
// Held-out split: for every object and every class (harmful, borderline trap, ordinary benign),
// its actions of that class are shuffled and round(fraction * k) of them held out, so every object
// keeps training combinations of each class and the held-out share is near `fraction` everywhere.
import type { Rng } from "../engine/rng.ts";
import {
  ACTIONS,
  ACTION_CATEGORIES,
  OBJECTS,
  OBJECT_CATEGORIES,
  REQUEST_TEMPLATES,
  actionCategory,
  isHarmful,
  objectCategory,
} from "./lexicon.ts";
import type { Wrapper } from "./lexicon.ts";
import type { ComboClass, MathRequest, SafetyRequest, Source } from "./types.ts";

export interface Combo {
  action: string;
  object: string;
  cls: ComboClass;
}

/** "action|object", the key of a combination. */
export function comboKey(action: string, object: string): string {
  return `${action}|${object}`;
}

/** The class of a combination of lexicon words. */
export function comboClass(action: string, object: string): ComboClass {
  const ac = actionCategory(action),
    oc = objectCategory(object);
  if (ac === undefined || oc === undefined) throw new Error(`not in the lexicon: "${action}" / "${object}"`);
  if (isHarmful(ac, oc)) return "harmful";
  return ac === "caring" ? "benign" : "borderline";
}

export interface ComboSplit {
  train: Record<ComboClass, Combo[]>;
  heldout: Record<ComboClass, Combo[]>;
}

/** Splits every combination into training and held-out ones (see the file comment). */
export function splitCombos(rng: Rng, fraction: number): ComboSplit {
  const split: ComboSplit = {
    train: { harmful: [], borderline: [], benign: [] },
    heldout: { harmful: [], borderline: [], benign: [] },
  };
  for (const oc of OBJECT_CATEGORIES) {
    for (const object of OBJECTS[oc]) {
      const byClass: Record<ComboClass, string[]> = { harmful: [], borderline: [], benign: [] };
      for (const ac of ACTION_CATEGORIES) for (const a of ACTIONS[ac]) byClass[comboClass(a, object)].push(a);
      for (const cls of ["harmful", "borderline", "benign"] as const) {
        const actions = byClass[cls];
        rng.shuffle(actions);
        const nHeld = Math.round(fraction * actions.length);
        actions.forEach((action, i) => split[i < nHeld ? "heldout" : "train"][cls].push({ action, object, cls }));
      }
    }
  }
  return split;
}

/** The data source of a safety request. */
export function safetySource(cls: ComboClass, wrapped: boolean): Source {
  if (cls === "harmful") return wrapped ? "jailbreak" : "harmful";
  return cls;
}

/** A safety request from a combination, a template index and an optional wrapper. */
export function safetyRequest(combo: Combo, template: number, wrapper: Wrapper | null): SafetyRequest {
  const t = REQUEST_TEMPLATES[template];
  if (t === undefined) throw new Error(`no request template ${template}`);
  const core = t.replace("{a}", combo.action).replace("{o}", combo.object);
  const prompt = wrapper ? wrapper.text.replace("{r}", core) : core;
  return {
    kind: "safety",
    action: combo.action,
    action_category: actionCategory(combo.action)!,
    object: combo.object,
    object_category: objectCategory(combo.object)!,
    cls: combo.cls,
    template,
    wrapper,
    prompt,
  };
}

/** A random request from a list of combinations, wrapped with chance `wrapShare` in one of `wrappers`. */
export function randomSafetyRequest(
  rng: Rng,
  combos: readonly Combo[],
  wrapShare: number,
  wrappers: readonly Wrapper[],
): SafetyRequest {
  const combo = pick(rng, combos);
  const template = rng.int(REQUEST_TEMPLATES.length);
  const wrapper = wrappers.length > 0 && rng.uniform() < wrapShare ? pick(rng, wrappers) : null;
  return safetyRequest(combo, template, wrapper);
}

/** A uniform element of a non-empty list. */
export function pick<T>(rng: Rng, xs: readonly T[]): T {
  if (xs.length === 0) throw new Error("pick from an empty list");
  return xs[rng.int(xs.length)] as T;
}

export interface MathKnobs {
  max_operand: number;
  mul_share: number;
  three_term_share: number;
}

export const MATH_TEMPLATES: readonly string[] = ["what is {e}?", "compute {e}.", "work out {e}."];

/** The value of one step "a op b". */
export function apply(a: number, op: string, b: number): number {
  return op === "+" ? a + b : op === "-" ? a - b : a * b;
}

/** Left-to-right value of terms joined by ops ("*" only comes first, so this is the usual value). */
export function evaluate(terms: readonly number[], ops: readonly string[]): number {
  let v = terms[0] ?? 0;
  ops.forEach((op, i) => {
    v = apply(v, op, terms[i + 1] ?? 0);
  });
  return v;
}

/** A random arithmetic expression: 2-3 terms, results never negative. */
export function mathExpression(rng: Rng, k: MathKnobs): { terms: number[]; ops: string[] } {
  const n = rng.uniform() < k.three_term_share ? 3 : 2;
  const terms: number[] = [],
    ops: string[] = [];
  if (rng.uniform() < k.mul_share) {
    terms.push(2 + rng.int(8), 2 + rng.int(8));
    ops.push("*");
  } else terms.push(1 + rng.int(k.max_operand));
  while (terms.length < n) {
    const t = 1 + rng.int(k.max_operand);
    const v = evaluate(terms, ops);
    ops.push(t <= v && rng.uniform() < 0.5 ? "-" : "+");
    terms.push(t);
  }
  return { terms, ops };
}

/** The text of an expression: "3 * 4 + 5". */
export function expressionText(terms: readonly number[], ops: readonly string[]): string {
  let s = String(terms[0]);
  ops.forEach((op, i) => (s += ` ${op} ${terms[i + 1]}`));
  return s;
}

/** A math request from an expression and a template index. */
export function mathRequest(terms: number[], ops: string[], template: number): MathRequest {
  const t = MATH_TEMPLATES[template];
  if (t === undefined) throw new Error(`no math template ${template}`);
  const expression = expressionText(terms, ops);
  return { kind: "math", terms, ops, expression, answer: evaluate(terms, ops), prompt: t.replace("{e}", expression) };
}
