// Elementwise and row ops of the WebAssembly kernels, 128-bit SIMD in f32. Every export works on
// a range [s, e) of elements or rows so that two threads can split a call. Differences from the
// reference (ref.ts, ref_norm.ts), all within f32 rounding: sums are f32 lanes (the reference
// uses f64), exp is the polynomial of simd.ts, AdamW runs in f32 (the reference in f64).
import { expv, exps, hsum, logPos, rowMax, rowSumExp } from "./simd";

// @ts-ignore: decorator
@inline function f4(p: usize, i: i32): v128 {
  return v128.load(p + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function f1(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function st4(p: usize, i: i32, v: v128): void {
  v128.store(p + (<usize>i << 2), v);
}

// @ts-ignore: decorator
@inline function st1(p: usize, i: i32, v: f32): void {
  store<f32>(p + (<usize>i << 2), v);
}

/** y[i] += x[i] for i in [s, e). */
export function addInPlace(y: usize, x: usize, s: i32, e: i32): void {
  let i = s;
  for (; i + 4 <= e; i += 4) st4(y, i, f32x4.add(f4(y, i), f4(x, i)));
  for (; i < e; i++) st1(y, i, f1(y, i) + f1(x, i));
}

/** sigmoid of four lanes: 1 / (1 + exp(-g)). */
// @ts-ignore: decorator
@inline function sigv(g: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), expv(f32x4.neg(g))));
}

/** out = silu(gate) * up on [s, e); out may alias gate or up. */
export function swigluFwd(out: usize, gate: usize, up: usize, s: i32, e: i32): void {
  let i = s;
  for (; i + 4 <= e; i += 4) {
    const g = f4(gate, i);
    st4(out, i, f32x4.mul(f32x4.mul(g, sigv(g)), f4(up, i)));
  }
  for (; i < e; i++) {
    const g = f1(gate, i);
    st1(out, i, (g / (1 + exps(-g))) * f1(up, i));
  }
}

/** dUp = dOut silu(g); dGate = dOut up sig(g) (1 + g (1 - sig(g))) on [s, e). */
export function swigluBwd(dGate: usize, dUp: usize, dOut: usize, gate: usize, up: usize, s: i32, e: i32): void {
  const one = f32x4.splat(1);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    const g = f4(gate, i), d = f4(dOut, i), sg = sigv(g);
    const dg = f32x4.mul(f32x4.mul(d, f4(up, i)), f32x4.mul(sg, f32x4.add(one, f32x4.mul(g, f32x4.sub(one, sg)))));
    st4(dUp, i, f32x4.mul(d, f32x4.mul(g, sg)));
    st4(dGate, i, dg);
  }
  for (; i < e; i++) {
    const g = f1(gate, i), d = f1(dOut, i), sg: f32 = 1 / (1 + exps(-g));
    const dg = d * f1(up, i) * (sg * (1 + g * (1 - sg)));
    st1(dUp, i, d * (g * sg));
    st1(dGate, i, dg);
  }
}

/** RMSNorm forward on rows [s, e): out (N, C) = x rstd w, rstd (N) = 1 / sqrt(mean(x^2) + eps). */
export function rmsnormFwd(out: usize, rstd: usize, x: usize, w: usize, C: i32, eps: f32, s: i32, e: i32): void {
  for (let n = s; n < e; n++) {
    const xr = x + ((<usize>n * C) << 2), orow = out + ((<usize>n * C) << 2);
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const v = f4(xr, c);
      acc = f32x4.add(acc, f32x4.mul(v, v));
    }
    let ss = <f64>hsum(acc);
    for (; c < C; c++) ss += <f64>f1(xr, c) * <f64>f1(xr, c);
    const r = <f32>(1 / Math.sqrt(ss / <f64>C + <f64>eps));
    st1(rstd, n, r);
    const rv = f32x4.splat(r);
    c = 0;
    for (; c + 4 <= C; c += 4) st4(orow, c, f32x4.mul(f32x4.mul(f4(xr, c), rv), f4(w, c)));
    for (; c < C; c++) st1(orow, c, f1(xr, c) * r * f1(w, c));
  }
}

/** RMSNorm backward on rows [s, e): dx written; dw (C) accumulates sum_n dOut x rstd.
 *  With g = dOut w: dx = rstd g - x rstd^3 mean(g x). */
export function rmsnormBwd(dx: usize, dw: usize, dOut: usize, x: usize, w: usize, rstd: usize, C: i32, s: i32, e: i32): void {
  for (let n = s; n < e; n++) {
    const off = (<usize>n * C) << 2;
    const xr = x + off, gr = dOut + off, dr = dx + off;
    const r = f1(rstd, n), rv = f32x4.splat(r);
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const g = f4(gr, c), xv = f4(xr, c);
      acc = f32x4.add(acc, f32x4.mul(f32x4.mul(g, f4(w, c)), xv));
      st4(dw, c, f32x4.add(f4(dw, c), f32x4.mul(f32x4.mul(g, xv), rv)));
    }
    let dot = hsum(acc);
    for (; c < C; c++) {
      const g = f1(gr, c), xv = f1(xr, c);
      dot += g * f1(w, c) * xv;
      st1(dw, c, f1(dw, c) + g * xv * r);
    }
    const coef = (r * r * r * dot) / <f32>C, cv = f32x4.splat(coef);
    c = 0;
    for (; c + 4 <= C; c += 4) st4(dr, c, f32x4.sub(f32x4.mul(rv, f32x4.mul(f4(gr, c), f4(w, c))), f32x4.mul(cv, f4(xr, c))));
    for (; c < C; c++) st1(dr, c, r * f1(gr, c) * f1(w, c) - coef * f1(xr, c));
  }
}

/** In-place RoPE on rows [s, e) of x (N, H, D) at positions pos (N, i32), by angle sign * a.
 *  cos/sin (P, D/2); positions are checked by the caller. */
export function rope(x: usize, pos: usize, cos: usize, sin: usize, H: i32, D: i32, sign: f32, s: i32, e: i32): void {
  const half = D >> 1;
  const sg = f32x4.splat(sign);
  for (let n = s; n < e; n++) {
    const p = load<i32>(pos + (<usize>n << 2));
    const ct = cos + ((<usize>p * half) << 2), stab = sin + ((<usize>p * half) << 2);
    for (let h = 0; h < H; h++) {
      const b = x + ((<usize>(n * H + h) * D) << 2), b2 = b + (<usize>half << 2);
      let i = 0;
      for (; i + 4 <= half; i += 4) {
        const c = f4(ct, i), sn = f32x4.mul(sg, f4(stab, i));
        const x0 = f4(b, i), x1 = f4(b2, i);
        st4(b, i, f32x4.sub(f32x4.mul(x0, c), f32x4.mul(x1, sn)));
        st4(b2, i, f32x4.add(f32x4.mul(x1, c), f32x4.mul(x0, sn)));
      }
      for (; i < half; i++) {
        const c = f1(ct, i), sn = sign * f1(stab, i);
        const x0 = f1(b, i), x1 = f1(b2, i);
        st1(b, i, x0 * c - x1 * sn);
        st1(b2, i, x1 * c + x0 * sn);
      }
    }
  }
}

/** Per-token log-prob on rows [s, e): out (N) = logits[n, t] - lse, lse (N) = logsumexp(logits[n]).
 *  targets are checked by the caller. */
export function tokenLogprobFwd(out: usize, lse: usize, logits: usize, targets: usize, V: i32, s: i32, e: i32): void {
  for (let n = s; n < e; n++) {
    const row = logits + ((<usize>n * V) << 2);
    const m = rowMax(row, V);
    const l = <f32>(<f64>m + logPos(rowSumExp(row, V, m)));
    st1(lse, n, l);
    st1(out, n, f1(row, load<i32>(targets + (<usize>n << 2))) - l);
  }
}

/** dLogits[n, v] = dLogp[n] (1[v == t] - exp(logits[n, v] - lse[n])) on rows [s, e). */
export function tokenLogprobBwd(dLogits: usize, dLogp: usize, logits: usize, lse: usize, targets: usize, V: i32, s: i32, e: i32): void {
  for (let n = s; n < e; n++) {
    const off = (<usize>n * V) << 2;
    const row = logits + off, drow = dLogits + off;
    const g = f1(dLogp, n), l = f1(lse, n);
    const gv = f32x4.splat(-g), lv = f32x4.splat(l);
    let i = 0;
    for (; i + 4 <= V; i += 4) st4(drow, i, f32x4.mul(gv, expv(f32x4.sub(f4(row, i), lv))));
    for (; i < V; i++) st1(drow, i, -g * exps(f1(row, i) - l));
    const t = load<i32>(targets + (<usize>n << 2));
    st1(drow, t, f1(drow, t) + g);
  }
}

/** One AdamW step on [s, e) (PyTorch semantics, decoupled decay), in f32:
 *  p = p decay - lr (m / bc1) / (sqrt(v / bc2) + eps) with m, v updated from g gradScale. */
export function adamw(
  p: usize, g: usize, m: usize, v: usize, lr: f32, b1: f32, b2: f32, eps: f32, decay: f32,
  bc1: f32, bc2: f32, gradScale: f32, s: i32, e: i32,
): void {
  const vb1 = f32x4.splat(b1), vb2 = f32x4.splat(b2), ob1 = f32x4.splat(1 - b1), ob2 = f32x4.splat(1 - b2);
  const vlr = f32x4.splat(lr / bc1), vbc2 = f32x4.splat(1 / bc2), veps = f32x4.splat(eps);
  const vdec = f32x4.splat(decay), vgs = f32x4.splat(gradScale);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    const gi = f32x4.mul(f4(g, i), vgs);
    const mi = f32x4.add(f32x4.mul(vb1, f4(m, i)), f32x4.mul(ob1, gi));
    const vi = f32x4.add(f32x4.mul(vb2, f4(v, i)), f32x4.mul(f32x4.mul(ob2, gi), gi));
    st4(m, i, mi);
    st4(v, i, vi);
    const den = f32x4.add(f32x4.sqrt(f32x4.mul(vi, vbc2)), veps);
    st4(p, i, f32x4.sub(f32x4.mul(f4(p, i), vdec), f32x4.div(f32x4.mul(vlr, mi), den)));
  }
  for (; i < e; i++) {
    const gi = f1(g, i) * gradScale;
    const mi = b1 * f1(m, i) + (1 - b1) * gi;
    const vi = b2 * f1(v, i) + (1 - b2) * gi * gi;
    st1(m, i, mi);
    st1(v, i, vi);
    st1(p, i, f1(p, i) * decay - ((lr / bc1) * mi) / (Mathf.sqrt(vi / bc2) + eps));
  }
}

/** Softmax of rows [s, e) of x (N, V) into out (N, V); out may alias x. */
export function softmaxFwd(out: usize, x: usize, V: i32, s: i32, e: i32): void {
  for (let n = s; n < e; n++) {
    const off = (<usize>n * V) << 2;
    const xr = x + off, orow = out + off;
    const m = rowMax(xr, V), mv = f32x4.splat(m);
    let acc = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= V; i += 4) {
      const ex = expv(f32x4.sub(f4(xr, i), mv));
      st4(orow, i, ex);
      acc = f32x4.add(acc, ex);
    }
    let sum: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1);
    sum += <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
    for (; i < V; i++) {
      const ex = exps(f1(xr, i) - m);
      st1(orow, i, ex);
      sum += <f64>ex;
    }
    const inv = <f32>(1 / sum), iv = f32x4.splat(inv);
    i = 0;
    for (; i + 4 <= V; i += 4) st4(orow, i, f32x4.mul(f4(orow, i), iv));
    for (; i < V; i++) st1(orow, i, f1(orow, i) * inv);
  }
}
