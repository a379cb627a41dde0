// Inference forward with a key/value cache: feed a block of Tq new positions for every row of a
// batch (the whole left-padded prompt first, then one token at a time) and get next-token logits.
// Rows are left-padded to a common length; keyStart[b] marks row b's first real position, keys
// before it are masked, and RoPE positions count from it, so a padded row computes exactly what
// it would compute alone.
import { checkFinite } from "./forward.ts";
import { headDim } from "./config.ts";
import type { Llama, LayerWeights } from "./llama.ts";
import { RecapError } from "../util/errors.ts";

export class KVCache {
  /** Rows in use (compact() lowers it; the buffers keep their allocated size). */
  B: number;
  readonly capacity: number; // S: positions per row
  readonly k: Float32Array[]; // per layer (B, S, Hkv, D)
  readonly v: Float32Array[]; // per layer (B, S, Hkv, D)
  keyStart: Int32Array; // (B)
  length = 0; // positions filled (the same for every row)
  private readonly rowSize: number; // Hkv * D floats per position

  constructor(m: Llama, B: number, capacity: number, keyStart?: Int32Array) {
    const c = m.config;
    // Row b's positions run from 0 to capacity - 1 - keyStart[b]: a left-padded row may take more
    // slots than the context as long as its own positions fit (the sampler stops each row at its
    // own limit), but at least the most padded row must fit.
    const reach = capacity - (keyStart && keyStart.length > 0 ? Math.max(...keyStart) : 0);
    if (reach > c.max_position_embeddings)
      throw new RecapError(
        `sequence of ${reach} positions exceeds the model's max_position_embeddings ${c.max_position_embeddings}: shorten the prompt or max new tokens`,
      );
    const size = B * capacity * c.num_key_value_heads * headDim(c);
    this.B = B;
    this.capacity = capacity;
    this.k = Array.from({ length: c.num_hidden_layers }, () => m.kernels.alloc(size));
    this.v = Array.from({ length: c.num_hidden_layers }, () => m.kernels.alloc(size));
    this.keyStart = keyStart ?? new Int32Array(B);
    this.rowSize = c.num_key_value_heads * headDim(c);
  }

  /** A view of rows [r0, r1) sharing this cache's memory (at this cache's length): a forward on
   *  the view fills those rows. The view's length moves on its own; the caller advances this one. */
  rows(r0: number, r1: number): KVCache {
    if (!(Number.isInteger(r0) && Number.isInteger(r1) && 0 <= r0 && r0 < r1 && r1 <= this.B))
      throw new Error(`KVCache.rows: [${r0}, ${r1}) is not a row range of ${this.B} rows`);
    const per = this.capacity * this.rowSize;
    const view = Object.create(KVCache.prototype) as KVCache;
    Object.assign(view, {
      B: r1 - r0,
      capacity: this.capacity,
      rowSize: this.rowSize,
      length: this.length,
      k: this.k.map((a) => a.subarray(r0 * per, r1 * per)),
      v: this.v.map((a) => a.subarray(r0 * per, r1 * per)),
      keyStart: this.keyStart.subarray(r0, r1),
    });
    return view;
  }

  /** Keeps only the rows `keep` (ascending indices): row i becomes old row keep[i]. Moves the
   *  filled positions of each kept row; later steps then compute only the kept rows. */
  compact(keep: readonly number[]): void {
    const S = this.capacity,
      n = this.length * this.rowSize,
      row = S * this.rowSize;
    keep.forEach((b, i) => {
      if (!(Number.isInteger(b) && b >= i && b < this.B && (i === 0 || b > keep[i - 1]!)))
        throw new Error(`KVCache.compact: rows must be ascending indices below ${this.B}`);
      if (b === i) return;
      for (const a of [...this.k, ...this.v]) a.copyWithin(i * row, b * row, b * row + n);
    });
    this.keyStart = Int32Array.from(keep, (b) => this.keyStart[b]!);
    this.B = keep.length;
  }
}

/** Feeds ids (B, Tq) at positions cache.length .. cache.length+Tq-1 and appends their keys and
 *  values. Returns logits (B, V) of each row's last new position, or (B, Tq, V) if allPositions. */
export function inferStep(m: Llama, cache: KVCache, ids: Int32Array, Tq: number, allPositions = false): Float32Array {
  const c = m.config,
    k = m.kernels;
  const B = cache.B,
    N = B * Tq,
    C = c.hidden_size,
    V = c.vocab_size;
  if (ids.length !== N) throw new Error(`inferStep: ids must have B*Tq = ${N} entries`);
  if (cache.length + Tq > cache.capacity) throw new Error(`KV cache full: ${cache.length} + ${Tq} > ${cache.capacity}`);
  for (let i = 0; i < N; i++)
    if (ids[i]! < 0 || ids[i]! >= V) throw new Error(`token id ${ids[i]} is outside the vocabulary [0, ${V})`);
  // A row the sampler has finished stays in the cache until compaction and may run past the
  // context; its outputs are discarded, and its position is held at the last one (never past the
  // RoPE tables). A live row never gets here: the sampler stops it at its own limit.
  const maxPos = c.max_position_embeddings - 1;
  const pos = new Int32Array(N); // (B*Tq)
  for (let b = 0; b < B; b++)
    for (let t = 0; t < Tq; t++) pos[b * Tq + t] = Math.min(maxPos, Math.max(0, cache.length + t - cache.keyStart[b]!));

  let h: Float32Array = k.alloc(N * C); // (N, C)
  k.embeddingForward(h, m.w.embed, ids, N, C);
  for (let l = 0; l < c.num_hidden_layers; l++) h = blockInfer(m, m.w.layers[l]!, l, cache, h, pos, Tq);
  cache.length += Tq;

  const rows = allPositions ? N : B;
  const hLast: Float32Array = allPositions ? h : k.alloc(B * C); // (rows, C)
  if (!allPositions) for (let b = 0; b < B; b++) hLast.set(h.subarray((b * Tq + Tq - 1) * C, (b * Tq + Tq) * C), b * C);
  const xn = k.alloc(rows * C); // (rows, C)
  k.rmsnormForward(xn, k.alloc(rows), hLast, m.w.finalNorm, rows, C, c.rms_norm_eps);
  const logits = k.alloc(rows * V); // (rows, V)
  k.matmul(logits, xn, m.w.lmHead, rows, C, V, false, true, false);
  checkFinite(m, logits, "the logits");
  return logits;
}

/** One block on the new positions, reading and extending layer l's cache. */
function blockInfer(
  m: Llama,
  lw: LayerWeights,
  l: number,
  cache: KVCache,
  hIn: Float32Array,
  pos: Int32Array,
  Tq: number,
): Float32Array {
  const c = m.config,
    k = m.kernels;
  const B = cache.B,
    N = B * Tq,
    C = c.hidden_size,
    F = c.intermediate_size;
  const D = headDim(c),
    Hq = c.num_attention_heads,
    Hkv = c.num_key_value_heads;
  const qC = Hq * D,
    kvC = Hkv * D,
    S = cache.capacity,
    t0 = cache.length;
  const xn = k.alloc(N * C); // (N, C)
  const rstd = k.alloc(N); // (N)
  k.rmsnormForward(xn, rstd, hIn, lw.inputNorm, N, C, c.rms_norm_eps);
  const q = k.alloc(N * qC); // (B, Tq, Hq, D)
  const kNew = k.alloc(N * kvC); // (B, Tq, Hkv, D)
  const vNew = k.alloc(N * kvC); // (B, Tq, Hkv, D)
  k.matmul(q, xn, lw.wq, N, C, qC, false, true, false);
  k.matmul(kNew, xn, lw.wk, N, C, kvC, false, true, false);
  k.matmul(vNew, xn, lw.wv, N, C, kvC, false, true, false);
  k.ropeForward(q, pos, m.ropeCos, m.ropeSin, N, Hq, D);
  k.ropeForward(kNew, pos, m.ropeCos, m.ropeSin, N, Hkv, D);
  const kc = cache.k[l]!,
    vc = cache.v[l]!; // (B, S, Hkv, D)
  for (let b = 0; b < B; b++) {
    kc.set(kNew.subarray(b * Tq * kvC, (b + 1) * Tq * kvC), (b * S + t0) * kvC);
    vc.set(vNew.subarray(b * Tq * kvC, (b + 1) * Tq * kvC), (b * S + t0) * kvC);
  }
  const y = k.alloc(N * qC); // (B, Tq, Hq, D)
  const att = k.alloc(B * Hq * Tq * (t0 + Tq)); // (B, Hq, Tq, Tk)
  k.attentionForward(y, att, q, kc, vc, { B, Tq, qOffset: t0, kvStride: S, Hq, Hkv, D }, cache.keyStart);
  const hMid = k.alloc(N * C); // (N, C)
  k.matmul(hMid, y, lw.wo, N, qC, C, false, true, false);
  k.addInPlace(hMid, hIn, N * C);
  const xn2 = k.alloc(N * C); // (N, C)
  k.rmsnormForward(xn2, rstd, hMid, lw.postNorm, N, C, c.rms_norm_eps);
  const gate = k.alloc(N * F); // (N, F)
  const up = k.alloc(N * F); // (N, F)
  k.matmul(gate, xn2, lw.wGate, N, C, F, false, true, false);
  k.matmul(up, xn2, lw.wUp, N, C, F, false, true, false);
  k.swigluForward(gate, gate, up, N * F);
  const hOut = k.alloc(N * C); // (N, C)
  k.matmul(hOut, gate, lw.wDown, N, F, C, false, true, false);
  k.addInPlace(hOut, hMid, N * C);
  return hOut;
}
