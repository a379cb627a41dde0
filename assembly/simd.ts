// Shared SIMD helpers of the WebAssembly kernels: multiply-add (relaxed FMA when the build enables
// relaxed SIMD), horizontal sums, a vector exp and a scalar log that use no lookup tables (the
// module keeps no static data in the shared memory), and row reductions.

/** acc + a * b, fused when the build has relaxed SIMD. */
// @ts-ignore: decorator
@inline export function fma(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** Lane-wise min / max and truncation to i32: relaxed forms (one instruction each) in the relaxed
 *  build, where every use here has finite inputs, so they give the strict forms' values. */
// @ts-ignore: decorator
@inline export function vmin(a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_min(a, b);
  return f32x4.min(a, b);
}
// @ts-ignore: decorator
@inline export function vmax(a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_max(a, b);
  return f32x4.max(a, b);
}
// @ts-ignore: decorator
@inline function vtrunc(a: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_trunc_f32x4_s(a);
  return i32x4.trunc_sat_f32x4_s(a);
}

/** Sum of the four lanes. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

/** Max of the four lanes. */
// @ts-ignore: decorator
@inline export function hmax(v: v128): f32 {
  const s = vmax(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return max(f32x4.extract_lane(s, 0), f32x4.extract_lane(s, 1));
}

/** Horizontal sums of four vectors: lane l of the result is the sum of the lanes of v_l. */
// @ts-ignore: decorator
@inline export function hsum4(v0: v128, v1: v128, v2: v128, v3: v128): v128 {
  // s01 = (v0[0]+v0[2], v1[0]+v1[2], v0[1]+v0[3], v1[1]+v1[3]); likewise s23.
  const s01 = f32x4.add(v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), v128.shuffle<f32>(v0, v1, 2, 6, 3, 7));
  const s23 = f32x4.add(v128.shuffle<f32>(v2, v3, 0, 4, 1, 5), v128.shuffle<f32>(v2, v3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(s01, s23, 0, 1, 4, 5), v128.shuffle<f32>(s01, s23, 2, 3, 6, 7));
}

/** exp of four lanes: 2^n * p(r) with x = n ln2 + r, |r| <= ln2/2, and the degree-7 Cephes-style
 *  polynomial for exp(r) (relative error about 2e-7). Inputs are clamped to [-88, 88]; below
 *  about -87.3 the result is 0 (no denormals). */
// @ts-ignore: decorator
@inline export function expv(x: v128): v128 {
  x = vmin(vmax(x, f32x4.splat(-88.0)), f32x4.splat(88.0));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  // Horner steps p r + c (fused in the relaxed build; in the plain one c + p r, the same sum).
  let p = f32x4.splat(1.9875691500e-4);
  p = fma(f32x4.splat(1.3981999507e-3), p, r);
  p = fma(f32x4.splat(8.3334519073e-3), p, r);
  p = fma(f32x4.splat(4.1665795894e-2), p, r);
  p = fma(f32x4.splat(1.6666665459e-1), p, r);
  p = fma(f32x4.splat(5.0000001201e-1), p, r);
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1.0));
  // 2^n from the exponent bits; n + 127 = 0 (x near -88) gives exactly 0.
  const e = i32x4.shl(i32x4.add(vtrunc(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, e);
}

/** exp of one value, through the vector path (so scalar tails round like the vector body). */
// @ts-ignore: decorator
@inline export function exps(x: f32): f32 {
  return f32x4.extract_lane(expv(f32x4.splat(x)), 0);
}

/** Natural log of a positive finite normal f64: exponent + 2 atanh((m-1)/(m+1)) series,
 *  |z| <= 0.172, 9 terms (error below 1e-15 relative). */
export function logPos(x: f64): f64 {
  const bits = reinterpret<u64>(x);
  let e = <i32>((bits >> 52) & 0x7ff) - 1023;
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000); // [1, 2)
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e += 1;
  }
  const z = (m - 1) / (m + 1);
  const z2 = z * z;
  let s: f64 = 1.0 / 17.0;
  s = s * z2 + 1.0 / 15.0;
  s = s * z2 + 1.0 / 13.0;
  s = s * z2 + 1.0 / 11.0;
  s = s * z2 + 1.0 / 9.0;
  s = s * z2 + 1.0 / 7.0;
  s = s * z2 + 1.0 / 5.0;
  s = s * z2 + 1.0 / 3.0;
  s = s * z2 + 1.0;
  return <f64>e * 0.6931471805599453 + 2 * z * s;
}

/** Max of n f32 at p. */
export function rowMax(p: usize, n: i32): f32 {
  let m = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) m = vmax(m, v128.load(p + (<usize>i << 2)));
  let s = hmax(m);
  for (; i < n; i++) s = max(s, load<f32>(p + (<usize>i << 2)));
  return s;
}

/** sum exp(x - shift) over n f32 at p, accumulated in four f32 lanes, returned as f64. */
export function rowSumExp(p: usize, n: i32, shift: f32): f64 {
  const sh = f32x4.splat(shift);
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, expv(f32x4.sub(v128.load(p + (<usize>i << 2)), sh)));
  let s: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1);
  s += <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
  for (; i < n; i++) s += <f64>exps(load<f32>(p + (<usize>i << 2)) - shift);
  return s;
}

/** Sets n f32 at p to zero. */
export function zeroF32(p: usize, n: i32): void {
  if (n > 0) memory.fill(p, 0, <usize>n << 2);
}
