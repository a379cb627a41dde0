// Bounded arithmetic for the math verifier: before the compute engine sees an answer, its
// non-canonical MathJSON is walked once to estimate every numeric sub-expression as (sign, log10|x|)
// in double precision, and, where the predicted size is small, to compute it exactly as a BigInt
// rational. This is what keeps the verifier bounded in time and memory and keeps float overflow
// from making two different numbers equal:
//   - a sub-expression beyond 10^±MAX_LOG10 (9^{9^{9}}, 10^{400}, 1/10^{10^{10}}, 1000!) is
//     "huge": the engine is never called on such an answer (it would build the whole number, or
//     N() would round it to Infinity or 0, and Infinity equals Infinity);
//   - two variable-free answers that both have an exact value are compared exactly (10^{400} vs
//     10^{401}, 2^{10000} vs 4^{5000}, 2^{60} vs 2^{60}+1); exact values are only built when every
//     intermediate has at most MAX_EXACT_DIGITS digits, so memory stays bounded;
//   - otherwise two huge answers are told apart by their log-magnitudes and signs, and when those
//     cannot separate them the verdict is "not equal: too large to verify" (a reward of 0 is the
//     safe side; a false 1 is what RL would learn to exploit).
// Pure functions over MathJSON; nothing here throws on odd input (unknown shapes give null).
//
//   analyse(json) -> Analysis   compareBounded(x, y) -> BoundedVerdict | null

/** |x| beyond 10^MAX_LOG10 (or below 10^-MAX_LOG10) is huge: doubles cannot represent it. */
export const MAX_LOG10 = 300;
/** Exact values are built only when every intermediate has at most this many decimal digits. */
export const MAX_EXACT_DIGITS = 20_000;
/** A numeric exponent of a non-numeric base larger than this is huge ((x+1)^{100000}). */
export const MAX_SYMBOLIC_EXPONENT = 1000;

/** An exact rational num/den (den > 0). */
export interface Rat {
  num: bigint;
  den: bigint;
}

/** sign and log10 of |x| of a numeric value (sign 0: x = 0, log10 -Infinity). */
export interface Mag {
  sign: -1 | 0 | 1;
  log10: number;
}

export interface Analysis {
  /** The magnitude of the whole expression when it is a plain number, else null. */
  mag: Mag | null;
  /** Its exact value when it has one of bounded size, else null. */
  exact: Rat | null;
  /** Some sub-expression is too large (or too small) for the engine. */
  huge: boolean;
}

export interface BoundedVerdict {
  equal: boolean;
  method: string;
  reason?: string;
}

interface Node {
  mag: Mag | null;
  exact: Rat | null;
}

const LOG10_E = Math.LOG10E;
const NONE: Node = { mag: null, exact: null };

function babs(x: bigint): bigint {
  return x < 0n ? -x : x;
}
function gcd(a: bigint, b: bigint): bigint {
  a = babs(a);
  b = babs(b);
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}
function rat(num: bigint, den: bigint): Rat | null {
  if (den === 0n) return null;
  if (den < 0n) [num, den] = [-num, -den];
  const g = gcd(num, den);
  return g > 1n ? { num: num / g, den: den / g } : { num, den };
}
/** log10 of |x| (at most 0.6 too high), from its hexadecimal length. */
function digitsOf(x: bigint): number {
  return babs(x).toString(16).length * 4 * Math.log10(2);
}
function ratDigits(r: Rat): number {
  return Math.max(digitsOf(r.num), digitsOf(r.den));
}

function magOfNumber(x: number): Mag | null {
  if (Number.isNaN(x) || !Number.isFinite(x)) return null;
  return x === 0 ? { sign: 0, log10: -Infinity } : { sign: x < 0 ? -1 : 1, log10: Math.log10(Math.abs(x)) };
}

/** A decimal literal ("12", "-1.5e+400", "2e309") as a magnitude and, when not too long, exactly. */
export function parseDecimal(s: string): Node {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(s.trim());
  if (!m || ((m[2] ?? "") === "" && (m[3] ?? "") === "")) return NONE;
  const sign = m[1] === "-" ? -1 : 1;
  const intPart = m[2] ?? "",
    frac = m[3] ?? "";
  const exp = Number(m[4] ?? "0");
  const digits = (intPart + frac).replace(/^0+/, "");
  if (digits === "") return { mag: { sign: 0, log10: -Infinity }, exact: { num: 0n, den: 1n } };
  // an exponent past 2^53 (the parser folds 2\cdot 10^{-99999999999999999999} into one): its size only
  if (!Number.isSafeInteger(exp))
    return Number.isNaN(exp) ? NONE : { mag: { sign: sign as 1 | -1, log10: exp }, exact: null };
  const scale = exp - frac.length; // value = digits * 10^scale
  const lead = Number(`0.${digits.slice(0, 17)}`);
  const log10 = Math.log10(lead) + digits.length + scale;
  const mag: Mag = { sign: sign as 1 | -1, log10 };
  if (digits.length + Math.abs(scale) > MAX_EXACT_DIGITS) return { mag, exact: null };
  const d = BigInt(digits) * BigInt(sign);
  const exact = scale >= 0 ? rat(d * 10n ** BigInt(scale), 1n) : rat(d, 10n ** BigInt(-scale));
  return { mag, exact };
}

// ---- magnitude arithmetic (log10 space; null when the result's size is not known) ----

function magMul(a: Mag, b: Mag): Mag {
  if (a.sign === 0 || b.sign === 0) return { sign: 0, log10: -Infinity };
  return { sign: (a.sign * b.sign) as 1 | -1, log10: a.log10 + b.log10 };
}
function magInv(a: Mag): Mag | null {
  return a.sign === 0 ? null : { sign: a.sign, log10: -a.log10 };
}
/** a + b; null where cancellation makes the size unknown (opposite signs within 15 orders). */
function magAdd(a: Mag, b: Mag): Mag | null {
  if (a.sign === 0) return b;
  if (b.sign === 0) return a;
  const [big, small] = a.log10 >= b.log10 ? [a, b] : [b, a];
  const gap = big.log10 - small.log10;
  if (a.sign === b.sign) return { sign: big.sign, log10: big.log10 + (gap > 20 ? 0 : Math.log10(1 + 10 ** -gap)) };
  if (gap < 15) return null;
  return { sign: big.sign, log10: big.log10 };
}
/** The double value of a magnitude, when it has one (Infinity when beyond range). */
function magValue(a: Mag): number {
  return a.sign === 0 ? 0 : a.sign * 10 ** a.log10;
}
/** b^e from the magnitudes (e must be finite); null when undefined or not real. */
function magPow(b: Mag, e: Mag): Mag | null {
  const ev = magValue(e);
  if (!Number.isFinite(ev)) return null;
  if (b.sign === 0) return ev > 0 ? { sign: 0, log10: -Infinity } : null;
  if (b.log10 === 0 && b.sign === 1) return { sign: 1, log10: 0 };
  let sign: 1 | -1 = 1;
  if (b.sign < 0) {
    if (!Number.isInteger(ev)) return null;
    sign = Math.abs(ev) % 2 === 1 ? -1 : 1;
  }
  return { sign, log10: ev * b.log10 };
}

// ---- exact arithmetic (null when unknown or too large to build) ----

function ratAdd(a: Rat, b: Rat): Rat | null {
  return rat(a.num * b.den + b.num * a.den, a.den * b.den);
}
function ratMul(a: Rat, b: Rat): Rat | null {
  return rat(a.num * b.num, a.den * b.den);
}
function ratPow(b: Rat, e: Rat, predicted: Mag | null): Rat | null {
  if (e.den !== 1n || babs(e.num) > 1_000_000n) return null;
  // the result's digits are bounded by |e| times the base's: check before building it
  if (Number(babs(e.num)) * ratDigits(b) > MAX_EXACT_DIGITS) return null;
  if (predicted && Math.abs(predicted.log10) > MAX_EXACT_DIGITS) return null;
  if (e.num >= 0n) return rat(b.num ** e.num, b.den ** e.num);
  if (b.num === 0n) return null;
  return rat(b.den ** -e.num, b.num ** -e.num);
}

/** log10(n!) for n >= 0 (Stirling beyond 20). */
function logFactorial(n: number): number {
  if (n < 21) {
    let p = 1;
    for (let k = 2; k <= n; k++) p *= k;
    return Math.log10(p);
  }
  return (n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + 1 / (12 * n)) * LOG10_E;
}

const CONSTANTS: Record<string, number> = { Pi: Math.PI, ExponentialE: Math.E, e: Math.E, Pi_: Math.PI };

/** Walks MathJSON; sets state.huge when a numeric sub-expression is beyond the bounds. */
const INFINITIES = new Set(["PositiveInfinity", "NegativeInfinity", "ComplexInfinity"]);

interface WalkState {
  /** The LaTeX writes an infinity (\infty), so an infinity in the parse is meant. */
  infinityWritten: boolean;
  huge: boolean;
  depth: number;
  /** Index variables of an enclosing sum or product, bound to one of their limits. */
  env: Map<string, Node>;
}

/** The iterated operators whose body is evaluated at every value of an index variable. */
const ITERATED = new Set(["Sum", "Product"]);

/**
 * A sum or product: its limits are walked as usual, and its body once with each index variable
 * at its lower and once at its upper limit, so a term that is huge at either end
 * (\sum_{k=1}^{10} 9^{9^{k}}: one uninterruptible BigInt power of 3.5e9 digits at k = 10) marks
 * the answer huge. Its own value is not estimated.
 */
function walkIterated(args: unknown[], state: WalkState): Node {
  const [body, ...limits] = args;
  const bounds: Array<[string, Node, Node]> = [];
  for (const l of limits) {
    if (!Array.isArray(l) || typeof l[1] !== "string") continue;
    const lo = walk(l[2], state),
      hi = walk(l[3], state);
    bounds.push([l[1], lo, hi]);
  }
  for (const end of [1, 2] as const) {
    const env = new Map(state.env);
    for (const b of bounds) env.set(b[0], b[end]);
    const inner: WalkState = { ...state, env, huge: false };
    walk(body, inner);
    if (inner.huge) state.huge = true;
  }
  return NONE;
}

function walk(j: unknown, state: WalkState): Node {
  if (state.depth > 200) {
    state.huge = true;
    return NONE;
  }
  if (typeof j === "number")
    return {
      mag: magOfNumber(j),
      exact: Number.isSafeInteger(j)
        ? { num: BigInt(j), den: 1n }
        : Number.isFinite(j)
          ? parseDecimal(String(j)).exact
          : null,
    };
  if (typeof j === "string") {
    const bound = state.env.get(j);
    if (bound) return bound;
    // the parser folds 2\cdot 10^{99999999999999999999} into PositiveInfinity: an infinity the
    // answer does not write is an overflow, and two of them are not equal
    if (INFINITIES.has(j) && !state.infinityWritten) state.huge = true;
    const c = CONSTANTS[j];
    return c !== undefined ? { mag: magOfNumber(c), exact: null } : NONE;
  }
  if (j !== null && typeof j === "object" && !Array.isArray(j)) {
    const o = j as Record<string, unknown>;
    if (typeof o["num"] === "string") return check(parseDecimal(o["num"]), state);
    if (typeof o["sym"] === "string") return walk(o["sym"], state);
    if (o["fn"] !== undefined) return walk(o["fn"], state);
    return NONE;
  }
  if (!Array.isArray(j) || j.length === 0) return NONE;
  // the raw form of \Gamma(x) is the symbol Gamma times a parenthesis: read it as the function
  if (j[0] === "InvisibleOperator" && j.length === 3 && j[1] === "Gamma") return walk(["Gamma", j[2]], state);
  const op = j[0];
  state.depth++;
  if (typeof op === "string" && ITERATED.has(op)) {
    const n = walkIterated(j.slice(1), state);
    state.depth--;
    return n;
  }
  const args = j.slice(1).map((a) => walk(a, state));
  state.depth--;
  if (typeof op !== "string") return NONE;
  return check(combine(op, args, state), state);
}

function check(n: Node, state: WalkState): Node {
  if (n.mag && n.mag.sign !== 0 && Math.abs(n.mag.log10) > MAX_LOG10) state.huge = true;
  if (n.mag && Number.isNaN(n.mag.log10)) return NONE;
  return n;
}

function combine(op: string, args: Node[], state: WalkState): Node {
  const a = args[0],
    b = args[1];
  const allMag = args.length > 0 && args.every((x) => x.mag !== null);
  const allExact = args.length > 0 && args.every((x) => x.exact !== null);
  switch (op) {
    case "Delimiter":
    case "Parentheses":
      return args.length === 1 && a ? a : NONE;
    case "Negate":
      if (!a) return NONE;
      return {
        mag: a.mag && { sign: (-a.mag.sign || 0) as Mag["sign"], log10: a.mag.log10 },
        exact: a.exact && { num: -a.exact.num, den: a.exact.den },
      };
    case "Add":
    case "Subtract": {
      if (!allMag) return NONE;
      const sgn = (i: number): Node =>
        op === "Subtract" && i > 0 ? combine("Negate", [args[i] as Node], state) : (args[i] as Node);
      let mag: Mag | null = sgn(0).mag;
      let exact: Rat | null = allExact ? sgn(0).exact : null;
      for (let i = 1; i < args.length; i++) {
        const t = sgn(i);
        mag = mag && t.mag ? magAdd(mag, t.mag) : null;
        exact = exact && t.exact ? ratAdd(exact, t.exact) : null;
      }
      if (exact) mag = magOfExact(exact);
      return { mag, exact };
    }
    case "Multiply": {
      if (!allMag) return NONE;
      let mag: Mag = a!.mag!;
      for (let i = 1; i < args.length; i++) mag = magMul(mag, args[i]!.mag!);
      let exact: Rat | null = null;
      if (allExact && Math.abs(mag.log10) <= MAX_EXACT_DIGITS) {
        exact = a!.exact;
        for (let i = 1; i < args.length && exact; i++) exact = ratMul(exact, args[i]!.exact!);
      }
      return { mag, exact };
    }
    case "Divide":
    case "Rational": {
      if (!a?.mag || !b?.mag) return NONE;
      const inv = magInv(b.mag);
      if (!inv) return NONE;
      const mag = magMul(a.mag, inv);
      const exact =
        a.exact && b.exact && b.exact.num !== 0n ? ratMul(a.exact, { num: b.exact.den, den: b.exact.num }) : null;
      return { mag, exact: exact && rat(exact.num, exact.den) };
    }
    case "Square":
      return a
        ? combine("Power", [a, { mag: { sign: 1, log10: Math.log10(2) }, exact: { num: 2n, den: 1n } }], state)
        : NONE;
    case "Power": {
      if (!a || !b) return NONE;
      if (!a.mag && b.mag && Math.abs(magValue(b.mag)) > MAX_SYMBOLIC_EXPONENT) state.huge = true;
      if (!a.mag || !b.mag) return NONE;
      if (b.mag.sign !== 0 && b.mag.log10 > MAX_LOG10) {
        // an exponent beyond doubles: the power is huge unless the base is 0 or 1
        const one = a.exact && a.exact.num === a.exact.den;
        if (!one && !(a.mag.sign === 0)) state.huge = true;
        return NONE;
      }
      const mag = magPow(a.mag, b.mag);
      const exact = a.exact && b.exact ? ratPow(a.exact, b.exact, mag) : null;
      return { mag, exact };
    }
    case "Exp":
      if (!a?.mag) return NONE;
      return {
        mag: Number.isFinite(magValue(a.mag)) ? { sign: 1, log10: magValue(a.mag) * LOG10_E } : null,
        exact: null,
      };
    case "Gamma": {
      if (!a?.mag || a.mag.sign <= 0) return NONE;
      const x = magValue(a.mag);
      if (!Number.isFinite(x)) {
        state.huge = true;
        return NONE;
      }
      return { mag: x >= 22 ? { sign: 1, log10: logFactorial(x - 1) } : null, exact: null };
    }
    case "Sinh":
    case "Cosh": {
      if (!a?.mag) return NONE;
      const x = magValue(a.mag);
      if (!Number.isFinite(x)) {
        state.huge = true;
        return NONE;
      }
      const sign = op === "Sinh" ? (x < 0 ? -1 : x > 0 ? 1 : 0) : 1;
      return {
        mag: Math.abs(x) > 50 ? { sign: sign as Mag["sign"], log10: Math.abs(x) * LOG10_E - Math.log10(2) } : null,
        exact: null,
      };
    }
    case "Sqrt":
      if (!a?.mag || a.mag.sign < 0) return NONE;
      return { mag: a.mag.sign === 0 ? a.mag : { sign: 1, log10: a.mag.log10 / 2 }, exact: null };
    case "Root":
      if (!a?.mag || !b?.mag || a.mag.sign < 0) return NONE;
      return { mag: a.mag.sign === 0 ? a.mag : { sign: 1, log10: a.mag.log10 / magValue(b.mag) }, exact: null };
    case "Factorial":
    case "Factorial2": {
      if (!a?.mag || a.mag.sign < 0) return NONE;
      const n = magValue(a.mag);
      if (!Number.isFinite(n) || n > 1e7) {
        state.huge = true;
        return NONE;
      }
      // Stirling holds for real n too (1000000.5! overflowed the engine's floats: "equal" to 2000000.5!)
      if (!Number.isInteger(n)) return { mag: n >= 21 ? { sign: 1, log10: logFactorial(n) } : null, exact: null };
      const mag: Mag = { sign: 1, log10: op === "Factorial" ? logFactorial(n) : logFactorial(n) / 2 + 1 };
      let exact: Rat | null = null;
      if (mag.log10 <= MAX_EXACT_DIGITS && op === "Factorial") {
        let p = 1n;
        for (let k = 2n; k <= BigInt(n); k++) p *= k;
        exact = { num: p, den: 1n };
        return { mag: magOfExact(exact), exact };
      }
      return { mag, exact };
    }
    case "Binomial":
    case "Choose": {
      if (!a?.mag || !b?.mag) return NONE;
      const n = magValue(a.mag);
      if (!Number.isFinite(n) || n > 1e7) {
        state.huge = true;
        return NONE;
      }
      return { mag: n >= 0 ? { sign: 1, log10: Math.max(0, n * Math.log10(2)) } : null, exact: null };
    }
    default:
      // an unknown function of huge arguments stays huge; its own value is not known here
      return NONE;
  }
}

function magOfExact(r: Rat): Mag {
  if (r.num === 0n) return { sign: 0, log10: -Infinity };
  const l = (x: bigint): number => {
    const s = babs(x).toString();
    return Math.log10(Number(`0.${s.slice(0, 17)}`)) + s.length;
  };
  return { sign: r.num < 0n ? -1 : 1, log10: l(r.num) - l(r.den) };
}

/** The magnitude, exact value and hugeness of one MathJSON expression (parsed from `latex`, when
 *  given, to tell a written \infty from an overflow the parser folded). Never throws. */
export function analyse(json: unknown, latex?: string): Analysis {
  const state: WalkState = {
    infinityWritten: latex === undefined || /\\infty|∞|\\inf(?![a-z])/.test(latex),
    huge: false,
    depth: 0,
    env: new Map(),
  };
  try {
    const n = walk(json, state);
    return { mag: n.mag, exact: n.exact, huge: state.huge };
  } catch {
    // a RangeError from a BigInt too large to build: treat the answer as huge
    return { mag: null, exact: null, huge: true };
  }
}

/** |a - b| / max(|a|, |b|), from the exact values (1 when one is 0 and the other not). */
function relativeGap(a: Rat, b: Rat): number {
  const diff = babs(a.num * b.den - b.num * a.den);
  const scale = [babs(a.num) * b.den, babs(b.num) * a.den].reduce((m, v) => (v > m ? v : m));
  if (scale === 0n) return 0;
  // compare diff / scale against 1e-9 in integers: diff * 10^12 / scale, read as a float / 10^12
  return Number((diff * 10n ** 12n) / scale) / 1e12;
}

function ratEqual(a: Rat, b: Rat): boolean {
  return a.num === b.num && a.den === b.den;
}

/**
 * A verdict for two analysed answers that the engine must not (or need not) decide, or null to
 * let the engine compare them: exact values decide equality (and inequality of two integers, or of
 * anything huge); huge answers are otherwise told apart by sign and log-magnitude, and are never
 * handed to the engine.
 */
export function compareBounded(x: Analysis, y: Analysis): BoundedVerdict | null {
  const huge = x.huge || y.huge;
  if (x.exact && y.exact) {
    // equal values of bounded size go on to the engine, which names its method (symbolic, numeric)
    if (ratEqual(x.exact, y.exact)) return huge ? { equal: true, method: "numeric" } : null;
    const integers = x.exact.den === 1n && y.exact.den === 1n;
    // beyond the engine's relative tolerance the exact values decide; its absolute 1e-12 term
    // made 10^{-20} "equal" to 2*10^{-20}
    if (integers || huge || relativeGap(x.exact, y.exact) > 1e-9)
      return { equal: false, method: "none", reason: "not equal" };
  }
  if (!huge) {
    // the engine's isEqual and N() comparisons carry an absolute tolerance, so small numbers all
    // looked equal (e^{-40} and e^{-41}, \sqrt{2}*10^{-20} and \sqrt{3}*10^{-20}, \pi*10^{-15} and 0):
    // magnitudes that clearly differ decide; close ones go on to the engine
    if (x.mag && y.mag) {
      if (x.mag.sign !== y.mag.sign)
        return { equal: false, method: "none", reason: "not equal (signs or zero differ)" };
      if (x.mag.sign !== 0 && Math.abs(x.mag.log10 - y.mag.log10) > 1e-6)
        return { equal: false, method: "none", reason: "not equal (magnitudes differ)" };
    }
    return null;
  }
  if (x.mag && y.mag) {
    if (x.mag.sign !== y.mag.sign) return { equal: false, method: "none", reason: "not equal (signs or zero differ)" };
    const gap = Math.abs(x.mag.log10 - y.mag.log10);
    if (gap > Math.max(1e-6, 1e-12 * Math.max(Math.abs(x.mag.log10), Math.abs(y.mag.log10))))
      return { equal: false, method: "none", reason: "not equal (magnitudes differ)" };
  }
  return { equal: false, method: "none", reason: "number too large to verify" };
}
