// The reference implementation of the kernel contract (`kernels.ts`) in plain TypeScript: the
// oracle that fast kernels are tested against. Readable loops, float64 accumulators for sums,
// inner loops over contiguous memory. The larger ops live in ref_matmul.ts (matmul),
// ref_attention.ts (attention, RoPE) and ref_norm.ts (RMSNorm, softmax family, token log-probs).
import type { Kernels } from "./kernels.ts";
import { matmul } from "./ref_matmul.ts";
import { attentionBackward, attentionForward, ropeBackward, ropeForward } from "./ref_attention.ts";
import {
  logSoftmaxBackward,
  logSoftmaxForward,
  rmsnormBackward,
  rmsnormForward,
  softmaxBackward,
  softmaxForward,
  tokenLogprobBackward,
  tokenLogprobForward,
} from "./ref_norm.ts";

export { ropeTables } from "./ref_attention.ts";

/** Embedding lookup: out (N, C) = table (V, C) rows at ids (N). */
function embeddingForward(out: Float32Array, table: Float32Array, ids: Int32Array, N: number, C: number): void {
  const V = Math.floor(table.length / C);
  for (let n = 0; n < N; n++) {
    const id = ids[n] as number;
    if (id < 0 || id >= V) throw new RangeError(`embedding: id ${id} at row ${n} outside [0, ${V})`);
    out.set(table.subarray(id * C, id * C + C), n * C);
  }
}

/** Embedding backward: dTable (V, C) accumulates dOut (N, C) rows at ids (N); repeated ids add up. */
function embeddingBackward(dTable: Float32Array, dOut: Float32Array, ids: Int32Array, N: number, C: number): void {
  const V = Math.floor(dTable.length / C);
  for (let n = 0; n < N; n++) {
    const id = ids[n] as number;
    if (id < 0 || id >= V) throw new RangeError(`embedding: id ${id} at row ${n} outside [0, ${V})`);
    const src = n * C;
    const dst = id * C;
    for (let c = 0; c < C; c++) dTable[dst + c] = (dTable[dst + c] as number) + (dOut[src + c] as number);
  }
}

/** sigmoid(g) = 1 / (1 + exp(-g)); exp overflow for very negative g gives 0, as it should. */
function sigmoid(g: number): number {
  return 1 / (1 + Math.exp(-g));
}

/** SwiGLU forward: out (N) = silu(gate) * up. */
function swigluForward(out: Float32Array, gate: Float32Array, up: Float32Array, N: number): void {
  for (let i = 0; i < N; i++) {
    const g = gate[i] as number;
    out[i] = g * sigmoid(g) * (up[i] as number);
  }
}

/** SwiGLU backward: dUp = dOut * silu(g), dGate = dOut * up * sig(g) * (1 + g * (1 - sig(g))). */
function swigluBackward(
  dGate: Float32Array,
  dUp: Float32Array,
  dOut: Float32Array,
  gate: Float32Array,
  up: Float32Array,
  N: number,
): void {
  for (let i = 0; i < N; i++) {
    const g = gate[i] as number;
    const s = sigmoid(g);
    const d = dOut[i] as number;
    dUp[i] = d * g * s;
    dGate[i] = d * (up[i] as number) * s * (1 + g * (1 - s));
  }
}

/** y (N) += x (N). */
function addInPlace(y: Float32Array, x: Float32Array, N: number): void {
  for (let i = 0; i < N; i++) y[i] = (y[i] as number) + (x[i] as number);
}

/** One AdamW step (PyTorch semantics, decoupled weight decay) on p, m, v (N); g (N) is read only.
 *  Each element is computed in float64 and stored back as float32. `step` is 1-based. */
function adamw(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  N: number,
  opts: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number; gradScale: number },
): void {
  const { lr, beta1, beta2, eps, weightDecay, step, gradScale } = opts;
  if (!(step >= 1)) throw new RangeError(`adamw: step must be >= 1, got ${step}`);
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  const decay = 1 - lr * weightDecay;
  for (let i = 0; i < N; i++) {
    const gi = (g[i] as number) * gradScale;
    const mi = beta1 * (m[i] as number) + (1 - beta1) * gi;
    const vi = beta2 * (v[i] as number) + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = (p[i] as number) * decay - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
  }
}

export const refKernels: Kernels = {
  name: "ref",
  // Plain JS arrays: the garbage collector frees them, so the allocation stack is a no-op.
  alloc: (n: number) => new Float32Array(n),
  mark: () => 0,
  release: () => {},
  matmul,
  embeddingForward,
  embeddingBackward,
  rmsnormForward,
  rmsnormBackward,
  ropeForward,
  ropeBackward,
  attentionForward,
  attentionBackward,
  swigluForward,
  swigluBackward,
  softmaxForward,
  softmaxBackward,
  logSoftmaxForward,
  logSoftmaxBackward,
  tokenLogprobForward,
  tokenLogprobBackward,
  addInPlace,
  adamw,
};
