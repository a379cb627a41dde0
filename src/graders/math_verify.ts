// The math verifier shared by rewards and graders: extract a completion's final answer
// (math_extract.ts), normalise both answers Minerva-style (math_normalize.ts), and judge them equal
// by, in order: the exact normalised string; several answers ("1, -2", "\{a, b\}", "1 \pm \sqrt5")
// as sets, element by element; a percent answer as itself or over 100; and otherwise the compute
// engine (math_symbolic.ts). Never throws on garbage input: the verdict says not equal, with why.
//
//   extractAnswer(text, opts?) -> string | null
//   isEquivalent(a, b, opts?)  -> { equal, method, reason? }
//   verify(completion, gold, opts?) -> { correct, extracted, strategy, method, reason? }
import { extractAnswerWith, lastBoxed } from "./math_extract.ts";
import type { ExtractOptions } from "./math_extract.ts";
import { normalizeDetailed } from "./math_normalize.ts";
import type { Normalized } from "./math_normalize.ts";
import { symbolicEqual } from "./math_symbolic.ts";
import type { SymbolicOptions } from "./math_symbolic.ts";

export { extractAnswer, extractAnswerWith, EXTRACT_STRATEGIES, DEFAULT_STRATEGIES } from "./math_extract.ts";
export { normalizeAnswer, normalizeDetailed } from "./math_normalize.ts";

export interface EquivalenceOptions extends SymbolicOptions {
  /** Use the compute engine after the string checks (default true). */
  symbolic?: boolean;
}

export interface Equivalence {
  equal: boolean;
  /** exact, text, set, percent, symbolic, numeric, substitution, structure, equation; none. */
  method: string;
  reason?: string;
}

/** Most answers in a list ("a, b, c") compared element by element. */
const MAX_ELEMENTS = 16;

/** Splits at commas outside any (), [], {} or \{ \} group. */
export function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") {
      const next = s[i + 1];
      if (next === "{")
        depth++; // \{ ... \} is a set: its commas are inside
      else if (next === "}") depth = Math.max(0, depth - 1);
      i++;
      continue;
    }
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth = Math.max(0, depth - 1);
    else if (c === "," && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

/** The answers an answer stands for: a set's members, a list's items, both signs of a \pm. */
function elements(n: string): string[] {
  let t = n;
  if (t.startsWith("\\{") && t.endsWith("\\}")) t = t.slice(2, -2);
  const parts = splitTopLevel(t);
  const out: string[] = [];
  for (const p of parts) {
    if (/\\(?:pm|mp)(?![a-zA-Z])/.test(p)) {
      out.push(
        p
          .replace(/\\pm(?![a-zA-Z])/g, "+")
          .replace(/\\mp(?![a-zA-Z])/g, "-")
          .replace(/^\+/, ""),
      );
      out.push(p.replace(/\\pm(?![a-zA-Z])/g, "-").replace(/\\mp(?![a-zA-Z])/g, "+"));
    } else out.push(p);
  }
  return out;
}

function scalarEqual(a: Normalized, b: Normalized, opts: EquivalenceOptions): Equivalence {
  if (a.text === b.text) return { equal: true, method: "exact" };
  if (a.textual || b.textual) {
    const eq = a.text.toLowerCase() === b.text.toLowerCase();
    return eq ? { equal: true, method: "text" } : { equal: false, method: "none", reason: "different text answers" };
  }
  if (opts.symbolic === false) return { equal: false, method: "none", reason: "strings differ" };
  const v = symbolicEqual(a.text, b.text, opts);
  if (v.equal || !(a.percent || b.percent)) return v;
  // "10\%" also stands for 0.1
  const pa = a.percent ? `\\frac{${a.text}}{100}` : a.text;
  const pb = b.percent ? `\\frac{${b.text}}{100}` : b.text;
  const p = symbolicEqual(pa, pb, opts);
  return p.equal ? { equal: true, method: "percent" } : v;
}

function elementNormalized(s: string, parent: Normalized): Normalized {
  const n = normalizeDetailed(s);
  return { ...n, percent: n.percent || parent.percent };
}

/** Lists share one time budget: this many engine time limits in all, however long the lists. */
const LIST_BUDGET = 3;

function setEqual(xs: string[], ys: string[], a: Normalized, b: Normalized, opts: EquivalenceOptions): Equivalence {
  if (xs.length > MAX_ELEMENTS || ys.length > MAX_ELEMENTS)
    return { equal: false, method: "none", reason: `more than ${MAX_ELEMENTS} answers in a list` };
  const nx = xs.map((s) => elementNormalized(s, a));
  const ny = ys.map((s) => elementNormalized(s, b));
  // up to 16 x 16 comparisons, each under the engine's limit: bound their sum, not only each one
  const limit = opts.timeLimitMs ?? 1000;
  const deadline = performance.now() + LIST_BUDGET * limit;
  let late = false;
  const eq = (p: Normalized, q: Normalized): boolean => {
    const left = deadline - performance.now();
    if (left <= 0) return !(late = true);
    return scalarEqual(p, q, { ...opts, timeLimitMs: Math.max(1, Math.min(limit, Math.floor(left))) }).equal;
  };
  const covers = (as: Normalized[], bs: Normalized[]) => as.every((p) => bs.some((q) => eq(p, q)));
  if (covers(nx, ny) && covers(ny, nx) && !late) return { equal: true, method: "set" };
  if (late)
    return {
      equal: false,
      method: "none",
      reason: `the lists took longer than ${LIST_BUDGET} x ${limit} ms to compare`,
    };
  return { equal: false, method: "none", reason: "the lists of answers differ" };
}

/** Whether two final answers are equal (see the module comment). Never throws. */
export function isEquivalent(a: unknown, b: unknown, opts: EquivalenceOptions = {}): Equivalence {
  if (typeof a !== "string" || typeof b !== "string")
    return { equal: false, method: "none", reason: "an answer is not a string" };
  const na = normalizeDetailed(a);
  const nb = normalizeDetailed(b);
  if (na.text === "" || nb.text === "") return { equal: false, method: "none", reason: "an answer is empty" };
  if (na.text === nb.text) return { equal: true, method: "exact" };
  if (na.textual || nb.textual) return scalarEqual(na, nb, opts);
  const xs = elements(na.text);
  const ys = elements(nb.text);
  if (xs.length > 1 || ys.length > 1) return setEqual(xs, ys, na, nb, opts);
  return scalarEqual(na, nb, opts);
}

export interface VerifyOptions extends EquivalenceOptions, ExtractOptions {
  /** Look for the answer only after the last `</think>` when there is one (default true). */
  afterThink?: boolean;
}

export interface Verdict {
  correct: boolean;
  /** The answer found in the completion, or null. */
  extracted: string | null;
  /** The extraction strategy that found it, or null. */
  strategy: string | null;
  method: string;
  reason?: string;
}

/** The gold answer: a solution's last \boxed{} or `#### N` if it has one, else the text itself. */
export function goldAnswer(gold: string): string {
  const boxed = lastBoxed(gold);
  if (boxed !== null) return boxed;
  const hash = extractAnswerWith(gold, { strategies: ["gsm8k"] });
  return hash?.answer ?? gold;
}

/** Extracts the completion's final answer and checks it against the gold answer. Never throws. */
export function verify(completion: unknown, gold: unknown, opts: VerifyOptions = {}): Verdict {
  if (typeof completion !== "string")
    return { correct: false, extracted: null, strategy: null, method: "none", reason: "completion is not a string" };
  if (typeof gold !== "string" || gold.trim() === "")
    return { correct: false, extracted: null, strategy: null, method: "none", reason: "gold answer is missing" };
  let text = completion;
  const end = text.lastIndexOf("</think>");
  if (opts.afterThink !== false && end >= 0) text = text.slice(end + "</think>".length);
  const ex = extractAnswerWith(text, opts);
  if (ex === null)
    return { correct: false, extracted: null, strategy: null, method: "none", reason: "no answer found" };
  const eq = isEquivalent(ex.answer, goldAnswer(gold), opts);
  return {
    correct: eq.equal,
    extracted: ex.answer,
    strategy: ex.strategy,
    method: eq.method,
    ...(eq.reason ? { reason: eq.reason } : {}),
  };
}
