// Reference causal grouped-query attention and rotary position embedding (RoPE) for the kernel
// contract. Layouts: q/out (B, Tq, Hq, D), k/v (B, kvStride, Hkv, D), att (B, Hq, Tq, Tk).
import type { AttnDims } from "./kernels.ts";

/** cos/sin tables (P, D/2) for RoPE: entry [p * (D/2) + i] is cos/sin(p * theta^(-2i/D)),
 *  with inv_freq computed in float64 as 1 / theta^((2i)/D). */
export function ropeTables(P: number, D: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  if (D % 2 !== 0) throw new RangeError(`ropeTables: head dim D must be even, got ${D}`);
  const half = D / 2;
  const cos = new Float32Array(P * half); // (P, D/2)
  const sin = new Float32Array(P * half); // (P, D/2)
  for (let i = 0; i < half; i++) {
    const invFreq = 1 / theta ** ((2 * i) / D);
    for (let p = 0; p < P; p++) {
      const angle = p * invFreq;
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** Rotate every (pair i, i + D/2) of x (N, H, D) in place by angle sign * a(pos[n], i). */
function ropeRotate(
  x: Float32Array,
  pos: Int32Array,
  cos: Float32Array,
  sin: Float32Array,
  N: number,
  H: number,
  D: number,
  sign: 1 | -1,
): void {
  if (D % 2 !== 0) throw new RangeError(`rope: head dim D must be even, got ${D}`);
  const half = D / 2;
  for (let n = 0; n < N; n++) {
    const p = pos[n] as number;
    const tab = p * half; // row of the (P, D/2) tables
    if (p < 0 || tab + half > cos.length || tab + half > sin.length) {
      throw new RangeError(`rope: position ${p} outside the cos/sin tables`);
    }
    for (let h = 0; h < H; h++) {
      const base = (n * H + h) * D;
      for (let i = 0; i < half; i++) {
        const c = cos[tab + i] as number;
        const s = sign * (sin[tab + i] as number);
        const x0 = x[base + i] as number;
        const x1 = x[base + i + half] as number;
        x[base + i] = x0 * c - x1 * s;
        x[base + i + half] = x1 * c + x0 * s;
      }
    }
  }
}

/** In-place RoPE forward on x (N, H, D), HF rotate_half convention. */
export function ropeForward(
  x: Float32Array,
  pos: Int32Array,
  cos: Float32Array,
  sin: Float32Array,
  N: number,
  H: number,
  D: number,
): void {
  ropeRotate(x, pos, cos, sin, N, H, D, 1);
}

/** In-place RoPE backward on dx (N, H, D): the inverse (transpose) rotation, by -a. */
export function ropeBackward(
  dx: Float32Array,
  pos: Int32Array,
  cos: Float32Array,
  sin: Float32Array,
  N: number,
  H: number,
  D: number,
): void {
  ropeRotate(dx, pos, cos, sin, N, H, D, -1);
}

/** Validate attention dims; returns Tk (keys in use per row) and the query-per-kv-head group size. */
function attnShape(d: AttnDims): { Tk: number; group: number } {
  if (d.Hkv <= 0 || d.Hq % d.Hkv !== 0)
    throw new RangeError(`attention: Hq (${d.Hq}) must be a multiple of Hkv (${d.Hkv})`);
  const Tk = d.qOffset + d.Tq;
  if (d.qOffset < 0 || Tk > d.kvStride)
    throw new RangeError(`attention: qOffset + Tq (${Tk}) exceeds kvStride (${d.kvStride})`);
  return { Tk, group: d.Hq / d.Hkv };
}

/** Causal GQA forward: out (B, Tq, Hq, D), att (B, Hq, Tq, Tk) softmax probs (exact 0 where masked). */
export function attentionForward(
  out: Float32Array,
  att: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  dims: AttnDims,
  keyStart?: Int32Array,
): void {
  const { B, Tq, qOffset, kvStride, Hq, Hkv, D } = dims;
  const { Tk, group } = attnShape(dims);
  const scale = 1 / Math.sqrt(D);
  const scores = new Float64Array(Tk); // (Tk) one row of scores, then of exp(scores - max)
  const acc = new Float64Array(D); // (D) one output row
  for (let b = 0; b < B; b++) {
    const ks = Math.max(0, keyStart ? (keyStart[b] as number) : 0);
    for (let h = 0; h < Hq; h++) {
      const kvh = Math.floor(h / group);
      for (let t = 0; t < Tq; t++) {
        const qBase = ((b * Tq + t) * Hq + h) * D;
        const attBase = ((b * Hq + h) * Tq + t) * Tk;
        const last = qOffset + t; // last visible key (inclusive)
        att.fill(0, attBase, attBase + Tk);
        acc.fill(0);
        if (ks <= last) {
          // Scores and their max over the visible keys ks..last.
          let max = -Infinity;
          for (let j = ks; j <= last; j++) {
            const kBase = ((b * kvStride + j) * Hkv + kvh) * D;
            let s = 0;
            for (let e = 0; e < D; e++) s += (q[qBase + e] as number) * (k[kBase + e] as number);
            s *= scale;
            scores[j] = s;
            if (s > max) max = s;
          }
          let sum = 0;
          for (let j = ks; j <= last; j++) {
            const ex = Math.exp((scores[j] as number) - max);
            scores[j] = ex;
            sum += ex;
          }
          // Probabilities, and out = sum_j p_j v_j.
          for (let j = ks; j <= last; j++) {
            const p = (scores[j] as number) / sum;
            att[attBase + j] = p;
            const vBase = ((b * kvStride + j) * Hkv + kvh) * D;
            for (let e = 0; e < D; e++) acc[e] = (acc[e] as number) + p * (v[vBase + e] as number);
          }
        }
        for (let e = 0; e < D; e++) out[qBase + e] = acc[e] as number;
      }
    }
  }
}

/** Causal GQA backward: dq written; dk, dv written for the first Tk positions of each row,
 *  summing the contributions of every query head that shares a kv head. */
export function attentionBackward(
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
  dOut: Float32Array,
  att: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  dims: AttnDims,
): void {
  const { B, Tq, kvStride, Hq, Hkv, D } = dims;
  const { Tk, group } = attnShape(dims);
  const scale = 1 / Math.sqrt(D);
  const rowLen = Hkv * D; // one position of k/v
  const dkAcc = new Float64Array(Tk * rowLen); // (Tk, Hkv, D) for the current b
  const dvAcc = new Float64Array(Tk * rowLen); // (Tk, Hkv, D) for the current b
  const dS = new Float64Array(Tk); // (Tk) gradient of the scaled scores
  const dqAcc = new Float64Array(D); // (D)
  for (let b = 0; b < B; b++) {
    dkAcc.fill(0);
    dvAcc.fill(0);
    const kvRow0 = b * kvStride * rowLen;
    for (let h = 0; h < Hq; h++) {
      const kvh = Math.floor(h / group);
      for (let t = 0; t < Tq; t++) {
        const qBase = ((b * Tq + t) * Hq + h) * D;
        const attBase = ((b * Hq + h) * Tq + t) * Tk;
        // dP_j = dOut . v_j ; dv_j += p_j dOut ; rowDot = sum_j p_j dP_j.
        let rowDot = 0;
        for (let j = 0; j < Tk; j++) {
          const p = att[attBase + j] as number;
          if (p === 0) {
            dS[j] = 0;
            continue;
          } // masked (or underflowed): no gradient flows
          const kvOff = j * rowLen + kvh * D;
          let dP = 0;
          for (let e = 0; e < D; e++) {
            const g = dOut[qBase + e] as number;
            dP += g * (v[kvRow0 + kvOff + e] as number);
            dvAcc[kvOff + e] = (dvAcc[kvOff + e] as number) + p * g;
          }
          dS[j] = dP;
          rowDot += p * dP;
        }
        // dS_j = p_j (dP_j - rowDot) * scale ; dq = sum_j dS_j k_j ; dk_j += dS_j q.
        dqAcc.fill(0);
        for (let j = 0; j < Tk; j++) {
          const p = att[attBase + j] as number;
          if (p === 0) continue;
          const ds = p * ((dS[j] as number) - rowDot) * scale;
          const kvOff = j * rowLen + kvh * D;
          for (let e = 0; e < D; e++) {
            dqAcc[e] = (dqAcc[e] as number) + ds * (k[kvRow0 + kvOff + e] as number);
            dkAcc[kvOff + e] = (dkAcc[kvOff + e] as number) + ds * (q[qBase + e] as number);
          }
        }
        for (let e = 0; e < D; e++) dq[qBase + e] = dqAcc[e] as number;
      }
    }
    // Write (not accumulate) the first Tk positions of this row of dk/dv.
    for (let i = 0; i < Tk * rowLen; i++) {
      dk[kvRow0 + i] = dkAcc[i] as number;
      dv[kvRow0 + i] = dvAcc[i] as number;
    }
  }
}
