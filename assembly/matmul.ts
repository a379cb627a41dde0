// Matrix products for the WebAssembly kernels, f32 with 128-bit SIMD.
//   mmNN: C (+)= A' B with B rows contiguous along the output columns (the NN and TN cases):
//         a register-blocked 4x8 outer-product micro-kernel (8 f32x4 accumulators; A entries are
//         broadcast with load32_splat, so A may have any row and column stride).
//   packB + mmPk: the same micro-kernels on B' packed into panels of 8 columns (each panel K
//         rows of 8 contiguous floats), so the kernel streams B' instead of striding over it.
//         Any B' packs (B, or B^T for the NT case); for NN/TN the sums run in mmNN's order
//         (same K blocks, same row tiles), so the result is mmNN's, bit for bit.
//   mmNT: C (+)= A B^T with A and B rows contiguous along K (the forward's y = x W^T):
//         a 2x4 block of dot products over K, 8 f32x4 accumulators, reduced by shuffles.
// Every kernel works on a sub-block [r0, r1) x [c0, c1) of C, so two threads can split a call by
// rows (or by columns when M is small). Leading dimensions are explicit so attention can run the
// same kernels on per-head strided views. Accumulation is f32 (the reference uses f64): the
// relative error grows like sqrt(K) * 6e-8.
// Pointers are byte addresses in linear memory; strides and sizes count f32 elements.

import { fma, hsum4 } from "./simd";

/** K-block: a block of B rows stays in L2 while every row block of A passes over it. */
const KC: i32 = 256;

/** Stores v into C at p (4 lanes), adding what is there when acc. */
// @ts-ignore: decorator
@inline function put4(p: usize, v: v128, acc: bool): void {
  if (acc) v = f32x4.add(v, v128.load(p));
  v128.store(p, v);
}

/** One scalar entry of C for the edge tiles of mmNN: sum_k A(i,k) B(k,j). */
function dotStrided(a: usize, aks: usize, b: usize, bks: usize, K: i32): f32 {
  let s: f32 = 0;
  for (let k = 0; k < K; k++) {
    s += load<f32>(a) * load<f32>(b);
    a += aks;
    b += bks;
  }
  return s;
}

/** C[i, j] (+)= sum_k A(i, k) B(k, j) for i in [r0, r1), j in [c0, c1).
 *  A(i, k) at a + 4 (i ars + k aks); B(k, j) at b + 4 (k ldb + j); C(i, j) at c + 4 (i ldc + j). */
export function mmNN(
  c: usize, a: usize, b: usize, K: i32, ars: i32, aks: i32, ldb: i32, ldc: i32, acc: bool,
  r0: i32, r1: i32, c0: i32, c1: i32,
): void {
  const aks4 = <usize>aks << 2, ars4 = <usize>ars << 2, ldb4 = <usize>ldb << 2;
  const cEnd8 = c0 + ((c1 - c0) & ~7);
  if (K <= 0 && !acc) {
    for (let i = r0; i < r1; i++) memory.fill(c + ((<usize>i * ldc + c0) << 2), 0, <usize>(c1 - c0) << 2);
    return;
  }
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kn = min(KC, K - k0);
    const ak = a + <usize>k0 * aks4, bk = b + <usize>k0 * ldb4, accK = acc || k0 > 0;
    let i = r0;
    for (; i + 4 <= r1; i += 4) {
      for (let j = c0; j < cEnd8; j += 8) {
        micro4x8(c + ((<usize>i * ldc + j) << 2), ak + <usize>i * ars4, bk + (<usize>j << 2), kn, ars4, aks4, ldb4, <usize>ldc << 2, accK);
      }
    }
    if (i + 2 <= r1) {
      for (let j = c0; j < cEnd8; j += 8) {
        micro2x8(c + ((<usize>i * ldc + j) << 2), ak + <usize>i * ars4, bk + (<usize>j << 2), kn, ars4, aks4, ldb4, <usize>ldc << 2, accK);
      }
      i += 2;
    }
    for (; i < r1; i++) {
      for (let j = c0; j < cEnd8; j += 8) {
        micro1x8(c + ((<usize>i * ldc + j) << 2), ak + <usize>i * ars4, bk + (<usize>j << 2), kn, aks4, ldb4, accK);
      }
    }
  }
  // Column edge (< 8 columns): scalar dot products.
  for (let ii = r0; ii < r1; ii++) {
    for (let j = cEnd8; j < c1; j++) {
      const p = c + ((<usize>ii * ldc + j) << 2);
      const s = dotStrided(a + <usize>ii * ars4, aks4, b + (<usize>j << 2), ldb4, K);
      store<f32>(p, acc ? load<f32>(p) + s : s);
    }
  }
}

/** Packs the full 8-column panels [p0, p1) of B' (K, N): B'(k, j) at b + 4 (k bks + j bns), into
 *  dst: panel p holds rows k = 0..K-1 of columns 8p..8p+7, 8 contiguous floats each. */
export function packB(dst: usize, b: usize, K: i32, bks: i32, bns: i32, p0: i32, p1: i32): void {
  const bks4 = <usize>bks << 2, bns4 = <usize>bns << 2;
  for (let p = p0; p < p1; p++) {
    let d = dst + ((<usize>p * K) << 5);
    const col = b + <usize>(p << 3) * bns4;
    if (bns == 1) {
      for (let k = 0; k < K; k++) {
        const src = col + <usize>k * bks4;
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
        d += 32;
      }
    } else {
      for (let k = 0; k < K; k++) {
        const src = col + <usize>k * bks4;
        for (let j = 0; j < 8; j++) store<f32>(d + (<usize>j << 2), load<f32>(src + <usize>j * bns4));
        d += 32;
      }
    }
  }
}

/** C[i, 0..8 np) (+)= sum_k A(i, k) B'(k, j) for i in [r0, r1), with B' packed by packB (np full
 *  panels). A(i, k) at a + 4 (i ars + k aks); C(i, j) at c + 4 (i ldc + j). */
export function mmPk(
  c: usize, a: usize, bp: usize, K: i32, ars: i32, aks: i32, ldc: i32, acc: bool, np: i32, r0: i32, r1: i32,
): void {
  const aks4 = <usize>aks << 2, ars4 = <usize>ars << 2, ldc4 = <usize>ldc << 2, panel = <usize>K << 5;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kn = min(KC, K - k0);
    const ak = a + <usize>k0 * aks4, bk = bp + (<usize>k0 << 5), accK = acc || k0 > 0;
    let i = r0;
    for (; i + 4 <= r1; i += 4) {
      for (let p = 0; p < np; p++) {
        micro4x8(c + ((<usize>i * ldc + (p << 3)) << 2), ak + <usize>i * ars4, bk + <usize>p * panel, kn, ars4, aks4, 32, ldc4, accK);
      }
    }
    if (i + 2 <= r1) {
      for (let p = 0; p < np; p++) {
        micro2x8(c + ((<usize>i * ldc + (p << 3)) << 2), ak + <usize>i * ars4, bk + <usize>p * panel, kn, ars4, aks4, 32, ldc4, accK);
      }
      i += 2;
    }
    for (; i < r1; i++) {
      for (let p = 0; p < np; p++) {
        micro1x8(c + ((<usize>i * ldc + (p << 3)) << 2), ak + <usize>i * ars4, bk + <usize>p * panel, kn, aks4, 32, accK);
      }
    }
  }
}

/** 4 rows x 8 columns of C from K steps of broadcast-A times B-row. */
// @ts-ignore: decorator
@inline function micro4x8(
  cp: usize, ap: usize, bp: usize, K: i32, ars4: usize, aks4: usize, ldb4: usize, ldc4: usize, acc: bool,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const a1 = ars4, a2 = ars4 << 1, a3 = ars4 * 3;
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let x = v128.load32_splat(ap);
    c00 = fma(c00, x, b0); c01 = fma(c01, x, b1);
    x = v128.load32_splat(ap + a1);
    c10 = fma(c10, x, b0); c11 = fma(c11, x, b1);
    x = v128.load32_splat(ap + a2);
    c20 = fma(c20, x, b0); c21 = fma(c21, x, b1);
    x = v128.load32_splat(ap + a3);
    c30 = fma(c30, x, b0); c31 = fma(c31, x, b1);
    ap += aks4;
    bp += ldb4;
  }
  put4(cp, c00, acc); put4(cp + 16, c01, acc); cp += ldc4;
  put4(cp, c10, acc); put4(cp + 16, c11, acc); cp += ldc4;
  put4(cp, c20, acc); put4(cp + 16, c21, acc); cp += ldc4;
  put4(cp, c30, acc); put4(cp + 16, c31, acc);
}

/** 2 rows x 8 columns of C (row edge of mmNN), two k at a time to break the dependency chains. */
// @ts-ignore: decorator
@inline function micro2x8(
  cp: usize, ap: usize, bp: usize, K: i32, ars4: usize, aks4: usize, ldb4: usize, ldc4: usize, acc: bool,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let d00 = f32x4.splat(0), d01 = f32x4.splat(0), d10 = f32x4.splat(0), d11 = f32x4.splat(0);
  let k = 0;
  for (; k + 2 <= K; k += 2) {
    let b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let x = v128.load32_splat(ap), y = v128.load32_splat(ap + ars4);
    c00 = fma(c00, x, b0); c01 = fma(c01, x, b1);
    c10 = fma(c10, y, b0); c11 = fma(c11, y, b1);
    b0 = v128.load(bp + ldb4); b1 = v128.load(bp + ldb4, 16);
    x = v128.load32_splat(ap + aks4); y = v128.load32_splat(ap + aks4 + ars4);
    d00 = fma(d00, x, b0); d01 = fma(d01, x, b1);
    d10 = fma(d10, y, b0); d11 = fma(d11, y, b1);
    ap += aks4 << 1;
    bp += ldb4 << 1;
  }
  if (k < K) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    const x = v128.load32_splat(ap), y = v128.load32_splat(ap + ars4);
    c00 = fma(c00, x, b0); c01 = fma(c01, x, b1);
    c10 = fma(c10, y, b0); c11 = fma(c11, y, b1);
  }
  put4(cp, f32x4.add(c00, d00), acc); put4(cp + 16, f32x4.add(c01, d01), acc);
  put4(cp + ldc4, f32x4.add(c10, d10), acc); put4(cp + ldc4 + 16, f32x4.add(c11, d11), acc);
}

/** 1 row x 8 columns of C (row edge of mmNN), two k at a time to break the dependency chain. */
// @ts-ignore: decorator
@inline function micro1x8(cp: usize, ap: usize, bp: usize, K: i32, aks4: usize, ldb4: usize, acc: bool): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
  let k = 0;
  for (; k + 2 <= K; k += 2) {
    const x = v128.load32_splat(ap), y = v128.load32_splat(ap + aks4);
    c0 = fma(c0, x, v128.load(bp)); c1 = fma(c1, x, v128.load(bp, 16));
    d0 = fma(d0, y, v128.load(bp + ldb4)); d1 = fma(d1, y, v128.load(bp + ldb4, 16));
    ap += aks4 << 1;
    bp += ldb4 << 1;
  }
  if (k < K) {
    const x = v128.load32_splat(ap);
    c0 = fma(c0, x, v128.load(bp)); c1 = fma(c1, x, v128.load(bp, 16));
  }
  put4(cp, f32x4.add(c0, d0), acc);
  put4(cp + 16, f32x4.add(c1, d1), acc);
}

/** Scalar dot product of two contiguous f32 runs of length n. */
function dotScalar(a: usize, b: usize, n: i32): f32 {
  let s: f32 = 0;
  for (let k = 0; k < n; k++) s += load<f32>(a + (<usize>k << 2)) * load<f32>(b + (<usize>k << 2));
  return s;
}

/** C[i, j] (+)= sum_k A[i, k] B[j, k] for i in [r0, r1), j in [c0, c1).
 *  A row i at a + 4 i lda, B row j at b + 4 j ldb (both contiguous along k), C(i, j) at c + 4 (i ldc + j). */
export function mmNT(
  c: usize, a: usize, b: usize, K: i32, lda: i32, ldb: i32, ldc: i32, acc: bool,
  r0: i32, r1: i32, c0: i32, c1: i32,
): void {
  const lda4 = <usize>lda << 2, ldb4 = <usize>ldb << 2, ldc4 = <usize>ldc << 2;
  const K4 = K & ~3;
  const cEnd4 = c0 + ((c1 - c0) & ~3);
  let i = r0;
  for (; i + 2 <= r1; i += 2) {
    const ap = a + <usize>i * lda4;
    for (let j = c0; j < cEnd4; j += 4) {
      dot2x4(c + <usize>i * ldc4 + (<usize>j << 2), ap, b + <usize>j * ldb4, K, K4, lda4, ldb4, ldc4, acc);
    }
  }
  for (; i < r1; i++) {
    const ap = a + <usize>i * lda4;
    for (let j = c0; j < cEnd4; j += 4) {
      dot1x4(c + <usize>i * ldc4 + (<usize>j << 2), ap, b + <usize>j * ldb4, K, K4, ldb4, acc);
    }
  }
  for (let ii = r0; ii < r1; ii++) {
    for (let j = cEnd4; j < c1; j++) {
      const p = c + <usize>ii * ldc4 + (<usize>j << 2);
      const s = dotScalar(a + <usize>ii * lda4, b + <usize>j * ldb4, K);
      store<f32>(p, acc ? load<f32>(p) + s : s);
    }
  }
}

/** C[i..i+2, j..j+4] from dot products of 2 A rows with 4 B rows. */
// @ts-ignore: decorator
@inline function dot2x4(
  cp: usize, ap: usize, bp: usize, K: i32, K4: i32, lda4: usize, ldb4: usize, ldc4: usize, acc: bool,
): void {
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
  let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
  const b1 = ldb4, b2 = ldb4 << 1, b3 = ldb4 * 3;
  for (let k = 0; k < K4; k += 4) {
    const o = <usize>k << 2;
    const x0 = v128.load(ap + o), x1 = v128.load(ap + lda4 + o);
    let y = v128.load(bp + o);
    s00 = fma(s00, x0, y); s10 = fma(s10, x1, y);
    y = v128.load(bp + b1 + o);
    s01 = fma(s01, x0, y); s11 = fma(s11, x1, y);
    y = v128.load(bp + b2 + o);
    s02 = fma(s02, x0, y); s12 = fma(s12, x1, y);
    y = v128.load(bp + b3 + o);
    s03 = fma(s03, x0, y); s13 = fma(s13, x1, y);
  }
  let r0 = hsum4(s00, s01, s02, s03), r1 = hsum4(s10, s11, s12, s13);
  if (K4 < K) {
    const n = K - K4, o = <usize>K4 << 2;
    r0 = f32x4.add(r0, tail4(ap + o, bp + o, ldb4, n));
    r1 = f32x4.add(r1, tail4(ap + lda4 + o, bp + o, ldb4, n));
  }
  put4(cp, r0, acc);
  put4(cp + ldc4, r1, acc);
}

/** C[i, j..j+4] from dot products of 1 A row with 4 B rows. */
// @ts-ignore: decorator
@inline function dot1x4(cp: usize, ap: usize, bp: usize, K: i32, K4: i32, ldb4: usize, acc: bool): void {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  const b1 = ldb4, b2 = ldb4 << 1, b3 = ldb4 * 3;
  for (let k = 0; k < K4; k += 4) {
    const o = <usize>k << 2;
    const x = v128.load(ap + o);
    s0 = fma(s0, x, v128.load(bp + o));
    s1 = fma(s1, x, v128.load(bp + b1 + o));
    s2 = fma(s2, x, v128.load(bp + b2 + o));
    s3 = fma(s3, x, v128.load(bp + b3 + o));
  }
  let r = hsum4(s0, s1, s2, s3);
  if (K4 < K) {
    const o = <usize>K4 << 2;
    r = f32x4.add(r, tail4(ap + o, bp + o, ldb4, K - K4));
  }
  put4(cp, r, acc);
}

/** The K-tail (n < 4 entries) of the dot products of one A row with 4 B rows, as 4 lanes. */
function tail4(ap: usize, bp: usize, ldb4: usize, n: i32): v128 {
  let r = f32x4.splat(dotScalar(ap, bp, n));
  r = f32x4.replace_lane(r, 1, dotScalar(ap, bp + ldb4, n));
  r = f32x4.replace_lane(r, 2, dotScalar(ap, bp + (ldb4 << 1), n));
  return f32x4.replace_lane(r, 3, dotScalar(ap, bp + ldb4 * 3, n));
}

/** dst (cols, rows) = transpose of src (rows, cols) with row stride lds; dst is dense. */
export function transpose(dst: usize, src: usize, rows: i32, cols: i32, lds: i32): void {
  for (let i = 0; i < rows; i++) {
    const s = src + ((<usize>i * lds) << 2);
    for (let j = 0; j < cols; j++) store<f32>(dst + ((<usize>j * rows + i) << 2), load<f32>(s + (<usize>j << 2)));
  }
}
