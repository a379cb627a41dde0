// Finite-difference gradient checks for forward/backward kernel pairs.
//
// Method: a scalar loss L(inputs) = sum(out * R) with a fixed random R (the upstream gradient),
// summed in float64. The analytic gradient is what the backward returns when given dOut = R; the
// numeric one is the central difference (L(x + eps e_i) - L(x - eps e_i)) / (2 eps), re-running
// the float32 forward on perturbed copies. Each element must satisfy
//   |analytic - numeric| <= atol + rtol * |numeric|.
// Noise budget (inputs of order 1, eps = 1e-2): outputs not touched by the perturbation round
// identically and cancel exactly, so float32 rounding contributes about (touched outputs) * 6e-8
// / (2 eps) < 1e-4; the central-difference truncation error is eps^2 / 6 * |f'''| ~ 2e-5.
// Defaults atol = 1e-3, rtol = 1e-2 sit an order of magnitude above that noise, and far below the
// O(|grad|) ~ 0.1-1 errors of a real bug (missing factor, transposed index, wrong head mapping).
// To keep atol meaningful, the caller asserts that the numeric gradient is not tiny (see
// `minScale`): an input whose whole gradient is below 10 * atol would make the check vacuous.
import assert from "node:assert/strict";
import type { Rng } from "../../src/engine/rng.ts";

/** Float32Array of n values uniform in [-scale, scale). */
export function randArray(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * rng.uniform() - 1) * scale;
  return a;
}

/** Int32Array of n values uniform in [0, hi). */
export function randInts(rng: Rng, n: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.int(hi);
  return a;
}

/** sum(out * r) in float64. */
export function dotLoss(out: Float32Array, r: Float32Array): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += (out[i] as number) * (r[i] as number);
  return s;
}

export interface GradCheckResult {
  /** Worst violation ratio |a - n| / (atol + rtol |n|); <= 1 means pass. */
  worstRatio: number;
  /** Description of the worst element. */
  worst: string;
  /** Largest |numeric gradient| per input. */
  maxAbsNumeric: Record<string, number>;
}

export interface GradCheckSpec {
  /** Inputs by name; the ones listed in `wrt` are perturbed. Never mutated. */
  inputs: Record<string, Float32Array>;
  wrt: string[];
  /** Float32 forward: returns the output (a fresh or reused array). */
  forward: (inputs: Record<string, Float32Array>) => Float32Array;
  /** Analytic gradients of sum(out * r) for every name in `wrt`. */
  backward: (inputs: Record<string, Float32Array>, r: Float32Array) => Record<string, Float32Array>;
  /** Upstream gradient R (same length as out). */
  r: Float32Array;
  eps?: number;
  atol?: number;
  rtol?: number;
}

/** Compare the analytic gradient with central differences; returns the worst ratio (no assert). */
export function gradCheck(spec: GradCheckSpec): GradCheckResult {
  const eps = spec.eps ?? 1e-2;
  const atol = spec.atol ?? 1e-3;
  const rtol = spec.rtol ?? 1e-2;
  const analytic = spec.backward(spec.inputs, spec.r);
  let worstRatio = 0;
  let worst = "";
  const maxAbsNumeric: Record<string, number> = {};
  for (const name of spec.wrt) {
    const x = spec.inputs[name];
    const a = analytic[name];
    assert.ok(x && a, `gradCheck: missing input or gradient ${name}`);
    assert.equal(a.length, x.length, `gradCheck: gradient ${name} has the wrong length`);
    let maxN = 0;
    for (let i = 0; i < x.length; i++) {
      const num = centralDiff(spec, name, i, eps);
      maxN = Math.max(maxN, Math.abs(num));
      const ai = a[i] as number;
      const ratio = Math.abs(ai - num) / (atol + rtol * Math.abs(num));
      if (!(ratio <= worstRatio)) {
        worstRatio = Number.isNaN(ratio) ? Infinity : ratio;
        worst = `${name}[${i}]: analytic ${ai}, numeric ${num}`;
      }
    }
    maxAbsNumeric[name] = maxN;
  }
  return { worstRatio, worst, maxAbsNumeric };
}

/** (L(x + eps e_i) - L(x - eps e_i)) / (2 eps) for input `name`, element i (on a copy). */
function centralDiff(spec: GradCheckSpec, name: string, i: number, eps: number): number {
  const copy = { ...spec.inputs };
  const xp = Float32Array.from(spec.inputs[name] as Float32Array);
  copy[name] = xp;
  const x0 = xp[i] as number;
  xp[i] = x0 + eps;
  const hiStep = (xp[i] as number) - x0; // the float32 step actually taken
  const lp = dotLoss(spec.forward(copy), spec.r);
  xp[i] = x0 - eps;
  const loStep = x0 - (xp[i] as number);
  const lm = dotLoss(spec.forward(copy), spec.r);
  return (lp - lm) / (hiStep + loStep);
}

/** gradCheck plus assertions: passes the tolerance and every gradient is large enough to matter. */
export function assertGradCheck(label: string, spec: GradCheckSpec, minScale?: number): GradCheckResult {
  const res = gradCheck(spec);
  const atol = spec.atol ?? 1e-3;
  const floor = minScale ?? 10 * atol;
  for (const name of spec.wrt) {
    const m = res.maxAbsNumeric[name] ?? 0;
    assert.ok(m >= floor, `${label}: gradient of ${name} is too small to test (max |numeric| ${m} < ${floor})`);
  }
  assert.ok(
    res.worstRatio <= 1,
    `${label}: gradient mismatch, worst ${res.worst} (ratio ${res.worstRatio.toFixed(2)})`,
  );
  return res;
}

/** Max |a[i] - b[i]| over the common length; asserts equal lengths. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "maxAbsDiff: length mismatch");
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Assert |a - b| <= atol + rtol |b| elementwise (b is the reference). */
export function assertClose(label: string, a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol = 0): void {
  assert.equal(a.length, b.length, `${label}: length mismatch ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const ai = a[i] as number;
    const bi = b[i] as number;
    const ok = Math.abs(ai - bi) <= atol + rtol * Math.abs(bi);
    if (!ok) assert.fail(`${label}: element ${i} differs: got ${ai}, expected ${bi} (atol ${atol}, rtol ${rtol})`);
  }
}
