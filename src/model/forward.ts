// Teacher-forced forward and backward of the whole model over a (B, T) batch of token ids.
// The forward returns per-token log-probs of given targets; the backward takes any per-token
// gradient dLoss/dlogp (a cross-entropy, a policy-gradient loss, a masked mixture of both) and
// accumulates parameter gradients into model.grads. Activations needed by the backward are kept
// in the returned cache (llm.c style: every op is an explicit forward/backward pair). Every
// activation buffer is written whole by the op that produces it, so it is taken uninitialised.
import { RecapError } from "../util/errors.ts";
import type { AttnDims, Kernels } from "../engine/kernels.ts";
import { headDim } from "./config.ts";
import type { Llama, LayerWeights } from "./llama.ts";

/** Activations of one block, saved for its backward. */
interface LayerActs {
  hIn: Float32Array; // (N, C) residual stream entering the block
  xn1: Float32Array; // (N, C) input_layernorm output
  rstd1: Float32Array; // (N)
  q: Float32Array; // (B, T, Hq, D) after RoPE
  k: Float32Array; // (B, T, Hkv, D) after RoPE
  v: Float32Array; // (B, T, Hkv, D)
  att: Float32Array; // (B, Hq, T, T) softmax probabilities
  y: Float32Array; // (B, T, Hq, D) attention output before o_proj
  hMid: Float32Array; // (N, C) residual stream after attention
  xn2: Float32Array; // (N, C) post_attention_layernorm output
  rstd2: Float32Array; // (N)
  gate: Float32Array; // (N, F)
  up: Float32Array; // (N, F)
  act: Float32Array; // (N, F) silu(gate) * up
}

export interface ForwardCache {
  B: number;
  T: number;
  ids: Int32Array; // (B*T)
  targets: Int32Array; // (B*T)
  pos: Int32Array; // (B*T)
  layers: LayerActs[];
  hOut: Float32Array; // (N, C) residual stream after the last block
  xnF: Float32Array; // (N, C) final norm output
  rstdF: Float32Array; // (N)
  logits: Float32Array; // (N, V)
  lse: Float32Array; // (N) logsumexp per row
}

export interface ForwardResult {
  logprobs: Float32Array; // (B*T) log p(targets[n] | ids[..n])
  cache: ForwardCache;
}

/** A buffer the next op overwrites entirely: uninitialised when the kernels can (no zeroing). */
function out(k: Kernels, n: number): Float32Array {
  return k.allocUninit ? k.allocUninit(n) : k.alloc(n);
}

function attnDims(m: Llama, B: number, T: number): AttnDims {
  const c = m.config;
  return { B, Tq: T, qOffset: 0, kvStride: T, Hq: c.num_attention_heads, Hkv: c.num_key_value_heads, D: headDim(c) };
}

/** Forward over ids (B*T, row-major (B, T)); targets (B*T) are the tokens whose log-probs are
 *  returned (usually ids shifted left by one; any valid id at positions the loss ignores). */
export function forward(m: Llama, ids: Int32Array, targets: Int32Array, B: number, T: number): ForwardResult {
  const c = m.config,
    k = m.kernels;
  const N = B * T,
    C = c.hidden_size,
    V = c.vocab_size;
  if (ids.length !== N || targets.length !== N) throw new Error(`forward: ids/targets must have B*T = ${N} entries`);
  if (T > c.max_position_embeddings)
    throw new RecapError(
      `sequence length ${T} exceeds max_position_embeddings ${c.max_position_embeddings}`,
      "shorten the rows, or train a model with a longer context",
    );
  checkIds(ids, V, "input");
  checkIds(targets, V, "target");
  const pos = new Int32Array(N); // (B*T)
  for (let n = 0; n < N; n++) pos[n] = n % T;

  let h: Float32Array = out(k, N * C); // (N, C)
  k.embeddingForward(h, m.w.embed, ids, N, C);
  const layers: LayerActs[] = [];
  for (const lw of m.w.layers) {
    const acts = blockForward(m, lw, h, pos, B, T);
    layers.push(acts);
    h = mlpForward(m, lw, acts);
  }
  const xnF = out(k, N * C); // (N, C)
  const rstdF = out(k, N); // (N)
  k.rmsnormForward(xnF, rstdF, h, m.w.finalNorm, N, C, c.rms_norm_eps);
  const logits = out(k, N * V); // (N, V)
  k.matmul(logits, xnF, m.w.lmHead, N, C, V, false, true, false);
  const logprobs = out(k, N); // (N)
  const lse = out(k, N); // (N)
  k.tokenLogprobForward(logprobs, lse, logits, targets, N, V);
  checkFinite(m, lse, "log-sum-exp of the logits");
  return { logprobs, cache: { B, T, ids, targets, pos, layers, hOut: h, xnF, rstdF, logits, lse } };
}

/** Throws a RecapError naming the model's checkpoint when `values` (activations or logits of a
 *  forward pass) hold NaN or Infinity: the weights are corrupt or too large for float32. */
export function checkFinite(m: Llama, values: Float32Array, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x - x !== 0) {
      const where = m.source ?? "the model";
      throw new RecapError(
        `the forward pass of ${where} is not finite (${what} holds ${x} at index ${i})`,
        "its weights are corrupt or too large for float32 (or a run diverged): restore the checkpoint, or resume from an earlier one with a lower learning rate",
      );
    }
  }
}

function checkIds(ids: Int32Array, V: number, what: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= V) throw new Error(`${what} token id ${id} at index ${i} is outside the vocabulary [0, ${V})`);
  }
}

/** Attention half of a block; returns its activations with hMid = hIn + attention. */
function blockForward(m: Llama, lw: LayerWeights, hIn: Float32Array, pos: Int32Array, B: number, T: number): LayerActs {
  const c = m.config,
    k = m.kernels;
  const N = B * T,
    C = c.hidden_size,
    F = c.intermediate_size;
  const D = headDim(c),
    Hq = c.num_attention_heads,
    Hkv = c.num_key_value_heads;
  const qC = Hq * D,
    kvC = Hkv * D;
  const xn1 = out(k, N * C); // (N, C)
  const rstd1 = out(k, N); // (N)
  k.rmsnormForward(xn1, rstd1, hIn, lw.inputNorm, N, C, c.rms_norm_eps);
  const q = out(k, N * qC); // (B, T, Hq, D)
  const kk = out(k, N * kvC); // (B, T, Hkv, D)
  const v = out(k, N * kvC); // (B, T, Hkv, D)
  k.matmul(q, xn1, lw.wq, N, C, qC, false, true, false);
  k.matmul(kk, xn1, lw.wk, N, C, kvC, false, true, false);
  k.matmul(v, xn1, lw.wv, N, C, kvC, false, true, false);
  k.ropeForward(q, pos, m.ropeCos, m.ropeSin, N, Hq, D);
  k.ropeForward(kk, pos, m.ropeCos, m.ropeSin, N, Hkv, D);
  const y = out(k, N * qC); // (B, T, Hq, D)
  const att = out(k, B * Hq * T * T); // (B, Hq, T, T)
  k.attentionForward(y, att, q, kk, v, attnDims(m, B, T));
  const hMid = out(k, N * C); // (N, C)
  k.matmul(hMid, y, lw.wo, N, qC, C, false, true, false);
  k.addInPlace(hMid, hIn, N * C);
  return {
    hIn,
    xn1,
    rstd1,
    q,
    k: kk,
    v,
    att,
    y,
    hMid,
    xn2: out(k, N * C),
    rstd2: out(k, N),
    gate: out(k, N * F),
    up: out(k, N * F),
    act: out(k, N * F),
  };
}

/** MLP half of a block (fills acts.xn2..act); returns the block's output residual stream. */
function mlpForward(m: Llama, lw: LayerWeights, a: LayerActs): Float32Array {
  const c = m.config,
    k = m.kernels;
  const C = c.hidden_size,
    F = c.intermediate_size,
    N = a.rstd1.length;
  k.rmsnormForward(a.xn2, a.rstd2, a.hMid, lw.postNorm, N, C, c.rms_norm_eps);
  k.matmul(a.gate, a.xn2, lw.wGate, N, C, F, false, true, false);
  k.matmul(a.up, a.xn2, lw.wUp, N, C, F, false, true, false);
  k.swigluForward(a.act, a.gate, a.up, N * F);
  const hOut = out(k, N * C); // (N, C)
  k.matmul(hOut, a.act, lw.wDown, N, F, C, false, true, false);
  k.addInPlace(hOut, a.hMid, N * C);
  return hOut;
}

/** Backward from dLogp (B*T) = dLoss/dlogprobs; accumulates into m.grads (zero them first). */
export function backward(m: Llama, cache: ForwardCache, dLogp: Float32Array): void {
  const c = m.config,
    k = m.kernels,
    g = m.g;
  const { B, T } = cache;
  const N = B * T,
    C = c.hidden_size,
    V = c.vocab_size;
  if (dLogp.length !== N) throw new Error(`backward: dLogp must have B*T = ${N} entries`);
  const dLogits = out(k, N * V); // (N, V)
  k.tokenLogprobBackward(dLogits, dLogp, cache.logits, cache.lse, cache.targets, N, V);
  const dXnF = out(k, N * C); // (N, C)
  k.matmul(dXnF, dLogits, m.w.lmHead, N, V, C, false, false, false);
  k.matmul(g.lmHead, dLogits, cache.xnF, V, N, C, true, false, true);
  let dh: Float32Array = out(k, N * C); // (N, C) gradient of the residual stream
  k.rmsnormBackward(dh, g.finalNorm, dXnF, cache.hOut, m.w.finalNorm, cache.rstdF, N, C);
  for (let l = c.num_hidden_layers - 1; l >= 0; l--) {
    dh = blockBackward(m, l, cache.layers[l]!, dh, cache);
  }
  k.embeddingBackward(g.embed, dh, cache.ids, N, C);
}

/** Backward through block l given dOut (N, C); returns dIn (N, C). */
function blockBackward(m: Llama, l: number, a: LayerActs, dOut: Float32Array, cache: ForwardCache): Float32Array {
  const c = m.config,
    k = m.kernels;
  const lw = m.w.layers[l]!,
    lg = m.g.layers[l]!;
  const { B, T } = cache;
  const N = B * T,
    C = c.hidden_size,
    F = c.intermediate_size;
  const D = headDim(c),
    Hq = c.num_attention_heads,
    Hkv = c.num_key_value_heads;
  const qC = Hq * D,
    kvC = Hkv * D;
  // MLP: hOut = hMid + down(silu(gate(xn2)) * up(xn2))
  const dAct = out(k, N * F); // (N, F)
  k.matmul(dAct, dOut, lw.wDown, N, C, F, false, false, false);
  k.matmul(lg.wDown, dOut, a.act, C, N, F, true, false, true);
  const dGate = out(k, N * F); // (N, F)
  const dUp = out(k, N * F); // (N, F)
  k.swigluBackward(dGate, dUp, dAct, a.gate, a.up, N * F);
  const dXn2 = out(k, N * C); // (N, C)
  k.matmul(dXn2, dGate, lw.wGate, N, F, C, false, false, false);
  k.matmul(dXn2, dUp, lw.wUp, N, F, C, false, false, true);
  k.matmul(lg.wGate, dGate, a.xn2, F, N, C, true, false, true);
  k.matmul(lg.wUp, dUp, a.xn2, F, N, C, true, false, true);
  const dMid = out(k, N * C); // (N, C)
  k.rmsnormBackward(dMid, lg.postNorm, dXn2, a.hMid, lw.postNorm, a.rstd2, N, C);
  k.addInPlace(dMid, dOut, N * C);
  // Attention: hMid = hIn + o(attn(rope(q(xn1)), rope(k(xn1)), v(xn1)))
  const dY = out(k, N * qC); // (B, T, Hq, D)
  k.matmul(dY, dMid, lw.wo, N, C, qC, false, false, false);
  k.matmul(lg.wo, dMid, a.y, C, N, qC, true, false, true);
  const dq = out(k, N * qC); // (B, T, Hq, D)
  const dk = out(k, N * kvC); // (B, T, Hkv, D)
  const dv = out(k, N * kvC); // (B, T, Hkv, D)
  k.attentionBackward(dq, dk, dv, dY, a.att, a.q, a.k, a.v, attnDims(m, B, T));
  k.ropeBackward(dq, cache.pos, m.ropeCos, m.ropeSin, N, Hq, D);
  k.ropeBackward(dk, cache.pos, m.ropeCos, m.ropeSin, N, Hkv, D);
  const dXn1 = out(k, N * C); // (N, C)
  k.matmul(dXn1, dq, lw.wq, N, qC, C, false, false, false);
  k.matmul(dXn1, dk, lw.wk, N, kvC, C, false, false, true);
  k.matmul(dXn1, dv, lw.wv, N, kvC, C, false, false, true);
  k.matmul(lg.wq, dq, a.xn1, qC, N, C, true, false, true);
  k.matmul(lg.wk, dk, a.xn1, kvC, N, C, true, false, true);
  k.matmul(lg.wv, dv, a.xn1, kvC, N, C, true, false, true);
  const dIn = out(k, N * C); // (N, C)
  k.rmsnormBackward(dIn, lg.inputNorm, dXn1, a.hIn, lw.inputNorm, a.rstd1, N, C);
  k.addInPlace(dIn, dMid, N * C);
  return dIn;
}
