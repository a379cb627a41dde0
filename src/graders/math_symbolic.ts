// Symbolic / numeric equivalence of two normalised LaTeX answers with @cortex-js/compute-engine:
// parse both (each must be `isValid`), then structurally for tuples, lists, matrices, intervals
// (open / closed ends must agree), sets and unions (unordered), equations (proportional sides),
// numbers written in a base (52_8 only equals 52_8); otherwise `isSame`, then `isEqual`, then a
// numeric value N() within a relative tolerance (1e-9: it absorbs rounding in the engine's
// arithmetic, not a reader's rounding: 3.14 is not \pi), and for expressions in free variables, agreement
// at a few fixed points. Guards: a length cap, a cap on digit runs, the bounded arithmetic of
// math_bounds.ts before the engine (a huge number such as 9^{9^{9}} or 10^{400} never reaches it;
// exact values and log-magnitudes decide those answers, so overflow never makes two different
// numbers equal), and the engine's own time limit around every parse and comparison, so a
// pathological input (100000!, \sum to 10^9) gives a not-equal verdict with a reason instead of
// a hang. Never throws.
import { ComputeEngine, isFunction, isString } from "@cortex-js/compute-engine";
import type { Expression } from "@cortex-js/compute-engine";
import { analyse, compareBounded } from "./math_bounds.ts";

export interface SymbolicOptions {
  /** Relative tolerance of numeric agreement (default 1e-9; two integers must be equal). */
  tolerance?: number;
  /** Wall-clock limit of one comparison inside the engine, in ms (default 1000). */
  timeLimitMs?: number;
  /** Longest answer (characters) given to the engine (default 300). */
  maxLength?: number;
}

export interface SymbolicVerdict {
  equal: boolean;
  /** How equality was established: symbolic, numeric, substitution, structure; "none" if not. */
  method: string;
  reason?: string;
}

let engine: ComputeEngine | undefined;
function ce(): ComputeEngine {
  engine ??= new ComputeEngine();
  return engine;
}

/** Values tried for free variables; irrational-looking so that accidental agreement is unlikely. */
const POINTS = [0.7381, 1.4142, 2.2361, 0.3183, 1.7321, 2.7183, 0.5772, 1.2021];
const ORDERED = new Set(["Tuple", "List", "Matrix", "Pair", "Triple", "Open", "BaseForm", "Delimiter"]);
const UNORDERED = new Set(["Set", "Union"]);

function close(a: number, b: number, tol: number): boolean {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  if (Number.isInteger(a) && Number.isInteger(b)) return a === b; // 11111111100 is not 11111111101
  return Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b)) + 1e-12;
}

/** The numeric value (re, im) of an expression without free variables, or null. */
function numeric(e: Expression): [number, number] | null {
  const n = e.N();
  const re = n.re;
  const im = n.im;
  return Number.isNaN(re) || Number.isNaN(im) ? null : [re, im];
}

function numericClose(x: Expression, y: Expression, tol: number): boolean {
  const a = numeric(x);
  const b = numeric(y);
  return a !== null && b !== null && close(a[0], b[0], tol) && close(a[1], b[1], tol);
}

function sameVariables(x: Expression, y: Expression): string[] | null {
  const ux = [...x.unknowns].sort();
  const uy = [...y.unknowns].sort();
  return ux.join(",") === uy.join(",") ? ux : null;
}

/** Values of x and y at the fixed points (free variables bound), or null when too few are finite. */
function valuesAtPoints(
  x: Expression,
  y: Expression,
  vars: string[],
): Array<[[number, number], [number, number]]> | null {
  const out: Array<[[number, number], [number, number]]> = [];
  for (let k = 0; k < 6; k++) {
    const sub: Record<string, number> = {};
    vars.forEach((v, j) => (sub[v] = POINTS[(k * 3 + j * 5) % POINTS.length] as number));
    const a = numeric(x.subs(sub));
    const b = numeric(y.subs(sub));
    if (a && b && Number.isFinite(a[0]) && Number.isFinite(b[0])) out.push([a, b]);
  }
  return out.length >= 3 ? out : null;
}

function agreeAtPoints(x: Expression, y: Expression, vars: string[], tol: number): boolean {
  const vals = valuesAtPoints(x, y, vars);
  return vals?.every(([a, b]) => close(a[0], b[0], tol) && close(a[1], b[1], tol)) ?? false;
}

/** Equations a = b and c = d are equivalent when (a - b) and (c - d) are proportional. */
function equationsEquivalent(x: Expression, y: Expression, tol: number): boolean {
  if (!isFunction(x) || !isFunction(y) || x.nops !== 2 || y.nops !== 2) return false;
  const fx = x.op1.sub(x.op2);
  const fy = y.op1.sub(y.op2);
  const vars = sameVariables(fx, fy);
  if (vars === null) return false;
  if (vars.length === 0) return numericClose(fx, fy, tol);
  const vals = valuesAtPoints(fx, fy, vars);
  if (vals === null || vals.some(([, b]) => b[0] === 0)) return false;
  const ratio =
    (vals[0] as [[number, number], [number, number]])[0][0] / (vals[0] as [[number, number], [number, number]])[1][0];
  return ratio !== 0 && vals.every(([a, b]) => close(a[0] / b[0], ratio, tol));
}

function unorderedMatch(xs: readonly Expression[], ys: readonly Expression[], tol: number): boolean {
  const cover = (as: readonly Expression[], bs: readonly Expression[]) =>
    as.every((a) => bs.some((b) => compareExpr(a, b, tol) !== null));
  return cover(xs, ys) && cover(ys, xs);
}

/** The method that shows x = y, or null. */
function compareExpr(x: Expression, y: Expression, tol: number): string | null {
  if (x.isSame(y)) return "symbolic";
  if (isString(x) || isString(y)) {
    return isString(x) && isString(y) && x.string.trim().toLowerCase() === y.string.trim().toLowerCase()
      ? "symbolic"
      : null;
  }
  const xo = x.operator;
  const yo = y.operator;
  const structured = ORDERED.has(xo) || UNORDERED.has(xo) || xo === "Interval" || xo === "Equal";
  if (structured || ORDERED.has(yo) || UNORDERED.has(yo) || yo === "Interval" || yo === "Equal") {
    if (xo !== yo || !isFunction(x) || !isFunction(y)) return null;
    if (xo === "Equal") return equationsEquivalent(x, y, tol) ? "equation" : null;
    if (UNORDERED.has(xo)) return unorderedMatch(x.ops, y.ops, tol) ? "structure" : null;
    if (x.nops !== y.nops) return null;
    return x.ops.every((a, i) => compareExpr(a, y.ops[i] as Expression, tol) !== null) ? "structure" : null;
  }
  const vars = sameVariables(x, y);
  if (vars === null) return null;
  if (x.isEqual(y) === true) return "symbolic";
  if (vars.length === 0) return numericClose(x, y, tol) ? "numeric" : null;
  return agreeAtPoints(x, y, vars, tol) ? "substitution" : null;
}

/**
 * Whether the engine's float values of two different variable-free expressions are not finite:
 * then its equality is Infinity equalling Infinity (isEqual compares in floats too), not a proof.
 * A backstop behind math_bounds.ts for functions it does not estimate.
 */
function overflows(x: Expression, y: Expression): boolean {
  if (x.unknowns.length > 0 || y.unknowns.length > 0) return false;
  const a = numeric(x),
    b = numeric(y);
  return (
    (a !== null && !(Number.isFinite(a[0]) && Number.isFinite(a[1]))) ||
    (b !== null && !(Number.isFinite(b[0]) && Number.isFinite(b[1])))
  );
}

const UNDEFINED_VALUES = new Set(["ComplexInfinity", "NaN", "Undefined"]);

/** The parsed answer, or why it cannot be compared (invalid LaTeX, or no defined value as 1/0). */
function parse(latex: string): Expression | string {
  const e = ce().parse(latex);
  if (!e.isValid) return `cannot parse "${latex}"`;
  const j = e.json;
  if ((typeof j === "string" && UNDEFINED_VALUES.has(j)) || e.isNaN === true) return `"${latex}" has no defined value`;
  return e;
}

/** Whether two normalised LaTeX answers are equal (see the module comment). Never throws. */
export function symbolicEqual(a: string, b: string, opts: SymbolicOptions = {}): SymbolicVerdict {
  const maxLength = opts.maxLength ?? 300;
  if (a.length > maxLength || b.length > maxLength)
    return { equal: false, method: "none", reason: "too long for the engine" };
  if (/\d{60}/.test(a) || /\d{60}/.test(b))
    return { equal: false, method: "none", reason: "number too long for the engine" };
  if (/\d{4,}\s*!/.test(a) || /\d{4,}\s*!/.test(b))
    return { equal: false, method: "none", reason: "factorial too large for the engine" };
  const tol = opts.tolerance ?? 1e-9;
  const engineRef = ce();
  engineRef.pushScope();
  try {
    // huge numbers never reach the engine; exact values decide what they can (math_bounds.ts)
    const bounded = compareBounded(
      analyse(engineRef.parse(a, { form: "raw" }).json, a),
      analyse(engineRef.parse(b, { form: "raw" }).json, b),
    );
    if (bounded !== null) return bounded;
    return engineRef.withTimeLimit(opts.timeLimitMs ?? 1000, (): SymbolicVerdict => {
      const x = parse(a);
      if (typeof x === "string") return { equal: false, method: "none", reason: x };
      const y = parse(b);
      if (typeof y === "string") return { equal: false, method: "none", reason: y };
      const method = compareExpr(x, y, tol);
      if (method !== null && !x.isSame(y) && overflows(x, y))
        return { equal: false, method: "none", reason: "number too large to verify" };
      return method === null ? { equal: false, method: "none", reason: "not equal" } : { equal: true, method };
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { equal: false, method: "none", reason: `engine gave up: ${msg.slice(0, 120)}` };
  } finally {
    engineRef.popScope();
  }
}
