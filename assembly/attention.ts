// Causal grouped-query attention for the WebAssembly kernels, built on the matmul micro-kernels
// of matmul.ts run on per-head strided views (rows of q/k/v sit Hq*D or Hkv*D floats apart).
// Layouts as the contract: q/out (B, Tq, Hq, D), k/v (B, kvStride, Hkv, D), att (B, Hq, Tq, Tk).
// The causal mask is applied per block of query rows: scores are only computed for keys up to
// the block's last visible position, and products with P only run over the keys (or queries)
// a block can see, so training does about half the work of a dense T x T product. A decoding
// step (Tq = 1) has its own entry, attnDec, which treats the query heads of a kv group as rows.
// Differences from the reference: f32 sums, the polynomial exp of simd.ts. The backward has no
// keyStart (as the contract): keys masked by left padding have P = 0 and so get no gradient.
// The relaxed-SIMD build computes the D-long dot products of the scores (forward) and of dP
// (backward) as an NN product against a transposed copy of the head's keys (values): 4x8 tiles
// with D steps each, instead of 2x4 dot products of D/4 steps and a horizontal sum; the plain
// build keeps the dot products and so the sums (and bits) the shipped base was trained with.
import { mmNN, mmNT, transpose } from "./matmul";

/** Scores (or dP) rows [t, t1) of a head against keys [ks, kEnd): C (ldc Tk) = X rows (ldx) times
 *  the rows of Y (ldy) as dot products over D; xT scratch holds D x Tk floats for the NN form. */
// @ts-ignore: decorator
@inline function rowDots(
  c: usize, x: usize, y: usize, yT: usize, D: i32, ldx: i32, ldy: i32, Tk: i32, t: i32, t1: i32, ks: i32, kEnd: i32,
): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    // Whole 8-key tiles up to the block's last visible key (entries past a row's last key are
    // overwritten by the softmax / dS pass, which zeroes them).
    const c1 = min(Tk, ks + (((kEnd - ks) + 7) & ~7));
    mmNN(c, x, yT, D, ldx, 1, Tk, Tk, false, t, t1, ks, c1);
  } else {
    mmNT(c, x, y, D, ldx, ldy, Tk, false, t, t1, ks, kEnd);
  }
}
import { expv, exps, rowMax, zeroF32 } from "./simd";

/** Softmax of scale * row[ks..last] written in place as probabilities; zeros elsewhere in [0, Tk). */
function softmaxRow(row: usize, ks: i32, last: i32, Tk: i32, scale: f32): void {
  zeroF32(row, ks);
  zeroF32(row + (<usize>(last + 1) << 2), Tk - last - 1);
  const p = row + (<usize>ks << 2), n = last - ks + 1;
  const m = rowMax(p, n) * scale;
  const sv = f32x4.splat(scale), mv = f32x4.splat(m);
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const q = p + (<usize>i << 2);
    const ex = expv(f32x4.sub(f32x4.mul(v128.load(q), sv), mv));
    v128.store(q, ex);
    acc = f32x4.add(acc, ex);
  }
  let sum: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1);
  sum += <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
  for (; i < n; i++) {
    const q = p + (<usize>i << 2);
    const ex = exps(load<f32>(q) * scale - m);
    store<f32>(q, ex);
    sum += <f64>ex;
  }
  const inv = f32x4.splat(<f32>(1 / sum));
  i = 0;
  for (; i + 4 <= n; i += 4) {
    const q = p + (<usize>i << 2);
    v128.store(q, f32x4.mul(v128.load(q), inv));
  }
  const invs = <f32>(1 / sum);
  for (; i < n; i++) {
    const q = p + (<usize>i << 2);
    store<f32>(q, load<f32>(q) * invs);
  }
}

/** Forward for the (b, h) pairs with index w = b * Hq + h in [s, e). keyStart: pointer to B i32,
 *  or 0 for none. scratch: D * Tk f32 per thread (tid 0 or 1), used by the relaxed build. */
export function attnFwd(
  out: usize, att: usize, q: usize, k: usize, v: usize, keyStart: usize, scratch: usize,
  Tq: i32, qOffset: i32, kvStride: i32, Hq: i32, Hkv: i32, D: i32, s: i32, e: i32, tid: i32,
): void {
  const Tk = qOffset + Tq, group = Hq / Hkv, scale = <f32>(1 / Math.sqrt(<f64>D));
  const ldq = Hq * D, ldk = Hkv * D;
  const kT = scratch + ((<usize>tid * D * Tk) << 2); // (D, Tk) this thread's transposed keys
  for (let w = s; w < e; w++) {
    const b = w / Hq, h = w % Hq, kvh = h / group;
    const ks = keyStart ? max(0, load<i32>(keyStart + (<usize>b << 2))) : 0;
    const qb = q + ((<usize>(b * Tq * Hq + h) * D) << 2);
    const ob = out + ((<usize>(b * Tq * Hq + h) * D) << 2);
    const kb = k + ((<usize>(b * kvStride * Hkv + kvh) * D) << 2);
    const vb = v + ((<usize>(b * kvStride * Hkv + kvh) * D) << 2);
    const ab = att + ((<usize>(b * Hq + h) * Tq * Tk) << 2);
    // Scores for blocks of query rows (pairs; 4 in the relaxed build), keys ks .. (last visible
    // key of the block).
    const rowsPer = ASC_FEATURE_RELAXED_SIMD ? 4 : 2;
    if (ASC_FEATURE_RELAXED_SIMD) transpose(kT, kb, Tk, D, ldk); // (D, Tk)
    for (let t = 0; t < Tq; t += rowsPer) {
      const t1 = min(Tq, t + rowsPer), kEnd = min(Tk, qOffset + t1);
      if (kEnd > ks) rowDots(ab, qb, kb, kT, D, ldq, ldk, Tk, t, t1, ks, kEnd);
    }
    for (let t = 0; t < Tq; t++) {
      const last = qOffset + t, row = ab + ((<usize>t * Tk) << 2);
      if (ks <= last) softmaxRow(row, ks, last, Tk, scale);
      else zeroF32(row, Tk);
    }
    // out rows = P V over the keys each block of 4 rows can see.
    for (let t = 0; t < Tq; t += 4) {
      const t1 = min(Tq, t + 4), kEnd = min(Tk, qOffset + t1);
      const orow = ob + ((<usize>t * ldq) << 2);
      if (kEnd > ks) {
        mmNN(orow, ab + ((<usize>t * Tk + ks) << 2), vb + ((<usize>ks * ldk) << 2), kEnd - ks, Tk, 1, ldk, ldq, false, 0, t1 - t, 0, D);
      } else {
        for (let r = t; r < t1; r++) zeroF32(ob + ((<usize>r * ldq) << 2), D);
      }
    }
  }
}

/** Forward of one decoding step (Tq = 1) for the (b, kvh) pairs with index w = b * Hkv + kvh in
 *  [s, e): the query heads of a group are rows D floats apart in q (B, 1, Hq, D), so each key and
 *  value row is read once for the whole group. keyStart: pointer to B i32, or 0. */
export function attnDec(
  out: usize, att: usize, q: usize, k: usize, v: usize, keyStart: usize,
  qOffset: i32, kvStride: i32, Hq: i32, Hkv: i32, D: i32, s: i32, e: i32,
): void {
  const Tk = qOffset + 1, G = Hq / Hkv, scale = <f32>(1 / Math.sqrt(<f64>D)), ldk = Hkv * D;
  for (let w = s; w < e; w++) {
    const b = w / Hkv, g = w % Hkv, h0 = g * G;
    const ks = keyStart ? max(0, load<i32>(keyStart + (<usize>b << 2))) : 0;
    const qb = q + ((<usize>(b * Hq + h0) * D) << 2), ob = out + ((<usize>(b * Hq + h0) * D) << 2);
    const kvOff = (<usize>(b * kvStride * Hkv + g) * D) << 2;
    const ab = att + ((<usize>(b * Hq + h0) * Tk) << 2);
    if (ks > qOffset) {
      zeroF32(ab, G * Tk);
      zeroF32(ob, G * D);
      continue;
    }
    mmNT(ab, qb, k + kvOff, D, D, ldk, Tk, false, 0, G, ks, Tk);
    for (let r = 0; r < G; r++) softmaxRow(ab + ((<usize>r * Tk) << 2), ks, qOffset, Tk, scale);
    mmNN(ob, ab + (<usize>ks << 2), v + kvOff + ((<usize>ks * ldk) << 2), Tk - ks, Tk, 1, ldk, D, false, 0, G, 0, D);
  }
}

/** Backward for the (b, kvh) pairs with index w = b * Hkv + kvh in [s, e): dq of the query heads
 *  of the group written, dk/dv of the kv head written for the first Tk positions. scratch holds
 *  (Tq + D) * Tk f32 per thread (tid 0 or 1): the gradient of the scores of one head, then the
 *  transposed values. */
export function attnBwd(
  dq: usize, dk: usize, dv: usize, dOut: usize, att: usize, q: usize, k: usize, v: usize, scratch: usize,
  Tq: i32, qOffset: i32, kvStride: i32, Hq: i32, Hkv: i32, D: i32, s: i32, e: i32, tid: i32,
): void {
  const Tk = qOffset + Tq, group = Hq / Hkv, scale = <f32>(1 / Math.sqrt(<f64>D));
  const ldq = Hq * D, ldk = Hkv * D;
  const dS = scratch + ((<usize>tid * (Tq + D) * Tk) << 2); // (Tq, Tk)
  const vT = dS + ((<usize>Tq * Tk) << 2); // (D, Tk) the relaxed build's transposed values
  for (let w = s; w < e; w++) {
    const b = w / Hkv, kvh = w % Hkv;
    const kvOff = (<usize>(b * kvStride * Hkv + kvh) * D) << 2;
    const kb = k + kvOff, vb = v + kvOff, dkb = dk + kvOff, dvb = dv + kvOff;
    if (ASC_FEATURE_RELAXED_SIMD) transpose(vT, vb, Tk, D, ldk); // (D, Tk)
    for (let j = 0; j < Tk; j++) {
      zeroF32(dkb + ((<usize>j * ldk) << 2), D);
      zeroF32(dvb + ((<usize>j * ldk) << 2), D);
    }
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      const qOff = (<usize>(b * Tq * Hq + h) * D) << 2;
      const ab = att + ((<usize>(b * Hq + h) * Tq * Tk) << 2);
      headBackward(dq + qOff, dkb, dvb, dOut + qOff, ab, q + qOff, kb, vb, dS, vT, Tq, qOffset, ldq, ldk, D, scale);
    }
  }
}

/** One query head: dP = dOut V^T, dS = P (dP - rowsum(P dP)) scale, dq = dS K, dk += dS^T Q,
 *  dv += P^T dOut, each product restricted to the causal blocks. */
function headBackward(
  dqb: usize, dkb: usize, dvb: usize, gb: usize, ab: usize, qb: usize, kb: usize, vb: usize, dS: usize,
  vT: usize, Tq: i32, qOffset: i32, ldq: i32, ldk: i32, D: i32, scale: f32,
): void {
  const Tk = qOffset + Tq, rowsPer = ASC_FEATURE_RELAXED_SIMD ? 4 : 2;
  for (let t = 0; t < Tq; t += rowsPer) {
    const t1 = min(Tq, t + rowsPer);
    rowDots(dS, gb, vb, vT, D, ldq, ldk, Tk, t, t1, 0, min(Tk, qOffset + t1));
  }
  for (let t = 0; t < Tq; t++) {
    const last = qOffset + t, pr = ab + ((<usize>t * Tk) << 2), dr = dS + ((<usize>t * Tk) << 2);
    dsRow(dr, pr, last + 1, scale);
    zeroF32(dr + (<usize>(last + 1) << 2), Tk - last - 1);
  }
  // dq rows (4 at a time) over the keys they see.
  for (let t = 0; t < Tq; t += 4) {
    const t1 = min(Tq, t + 4), kEnd = min(Tk, qOffset + t1);
    mmNN(dqb + ((<usize>t * ldq) << 2), dS + ((<usize>t * Tk) << 2), kb, kEnd, Tk, 1, ldk, ldq, false, 0, t1 - t, 0, D);
  }
  // dk, dv rows j (4 at a time) over the queries that see them: t >= j - qOffset.
  for (let j = 0; j < Tk; j += 4) {
    const j1 = min(Tk, j + 4), t0 = max(0, j - qOffset);
    if (t0 >= Tq) continue;
    const n = Tq - t0, aOff = (<usize>t0 * Tk + j) << 2;
    mmNN(dkb + ((<usize>j * ldk) << 2), dS + aOff, qb + ((<usize>t0 * ldq) << 2), n, 1, Tk, ldq, ldk, true, 0, j1 - j, 0, D);
    mmNN(dvb + ((<usize>j * ldk) << 2), ab + aOff, gb + ((<usize>t0 * ldq) << 2), n, 1, Tk, ldq, ldk, true, 0, j1 - j, 0, D);
  }
}

/** In place over the first n entries: dS = P (dP - sum(P dP)) scale, with dP in dr and P in pr. */
function dsRow(dr: usize, pr: usize, n: i32, scale: f32): void {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    acc = f32x4.add(acc, f32x4.mul(v128.load(pr + o), v128.load(dr + o)));
  }
  let dot = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; i < n; i++) dot += load<f32>(pr + (<usize>i << 2)) * load<f32>(dr + (<usize>i << 2));
  const dv = f32x4.splat(dot), sv = f32x4.splat(scale);
  i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dr + o, f32x4.mul(f32x4.mul(v128.load(pr + o), f32x4.sub(v128.load(dr + o), dv)), sv));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dr + o, load<f32>(pr + o) * (load<f32>(dr + o) - dot) * scale);
  }
}
