// One supervised step: masked next-token cross-entropy (mean over the tokens whose weight is
// non-zero), backward, AdamW. The same forward/backward serves policy-gradient losses, which
// supply their own dLoss/dlogp instead of the cross-entropy's.
import { withScope } from "../engine/kernels.ts";
import { backward, forward } from "./forward.ts";
import type { Llama } from "./llama.ts";
import type { AdamW, AdamWOptions, StepStats } from "./optim.ts";

export interface LmBatch {
  B: number;
  T: number;
  ids: Int32Array; // (B, T) inputs
  targets: Int32Array; // (B, T) next tokens
  weights: Float32Array; // (B, T) 1 where the target counts, 0 for padding / prompt tokens
}

export interface LmStepStats extends StepStats {
  loss: number; // mean cross-entropy over weighted tokens (nats)
  tokens: number; // weighted tokens
}

/** dLoss/dlogp for loss = -sum(w * logp) / norm, norm = sum(w) unless given (a micro-batch of a
 *  larger batch passes the whole batch's sum). Returns the loss, and -sum(w * logp) as `sum`. */
export function crossEntropyGrad(
  logprobs: Float32Array,
  weights: Float32Array,
  norm?: number,
): { loss: number; dLogp: Float32Array; tokens: number; sum: number } {
  let wsum = 0,
    lsum = 0;
  for (let i = 0; i < weights.length; i++) {
    wsum += weights[i]!;
    lsum -= weights[i]! * logprobs[i]!;
  }
  const total = norm ?? wsum;
  const dLogp = new Float32Array(weights.length); // (B*T)
  if (total > 0) for (let i = 0; i < weights.length; i++) dLogp[i] = -weights[i]! / total;
  return { loss: total > 0 ? lsum / total : 0, dLogp, tokens: wsum, sum: lsum };
}

/** Splits a right-padded batch into up to `k` micro-batches of rows of similar length, each
 *  trimmed to its longest row. A row's length is one past its last weighted target: causal
 *  attention means later positions never reach earlier ones, so trimming changes no logit that
 *  carries loss. Rows with no weighted target are dropped (they carry no gradient). */
export function lengthBuckets(batch: LmBatch, k: number): LmBatch[] {
  const { B, T } = batch;
  const len = Array.from({ length: B }, (_, b) => {
    for (let t = T - 1; t >= 0; t--) if (batch.weights[b * T + t] !== 0) return t + 1;
    return 0;
  });
  const order = len
    .map((_, b) => b)
    .filter((b) => len[b]! > 0)
    .sort((x, y) => len[x]! - len[y]! || x - y);
  const per = Math.ceil(order.length / Math.max(1, k));
  const parts: LmBatch[] = [];
  for (let s = 0; s < order.length; s += per) {
    const rows = order.slice(s, s + per);
    const Tg = len[rows[rows.length - 1]!]!;
    const ids = new Int32Array(rows.length * Tg),
      targets = new Int32Array(rows.length * Tg); // (Bg, Tg)
    const weights = new Float32Array(rows.length * Tg); // (Bg, Tg)
    rows.forEach((b, r) => {
      ids.set(batch.ids.subarray(b * T, b * T + Tg), r * Tg);
      targets.set(batch.targets.subarray(b * T, b * T + Tg), r * Tg);
      weights.set(batch.weights.subarray(b * T, b * T + Tg), r * Tg);
    });
    parts.push({ B: rows.length, T: Tg, ids, targets, weights });
  }
  return parts;
}

/** Forward + backward + AdamW update on one batch (activations freed at the end). With
 *  `buckets` > 1 the batch is computed in length-sorted micro-batches (`lengthBuckets`) whose
 *  gradients accumulate before the one update: the same mean over the batch's weighted tokens,
 *  less padding computed, equal to the one-batch step up to float rounding. */
export function lmTrainStep(model: Llama, opt: AdamW, batch: LmBatch, o: AdamWOptions, buckets = 1): LmStepStats {
  if (buckets <= 1) return oneBatchStep(model, opt, batch, o);
  model.zeroGrads();
  let wsum = 0;
  for (let i = 0; i < batch.weights.length; i++) wsum += batch.weights[i]!;
  let lsum = 0;
  for (const part of lengthBuckets(batch, buckets)) {
    withScope(model.kernels, () => {
      const { logprobs, cache } = forward(model, part.ids, part.targets, part.B, part.T); // (Bg*Tg)
      const { dLogp, sum } = crossEntropyGrad(logprobs, part.weights, wsum);
      lsum += sum;
      backward(model, cache, dLogp);
    });
  }
  const stats = withScope(model.kernels, () => opt.update(model.params, model.grads, o));
  return { ...stats, loss: wsum > 0 ? lsum / wsum : 0, tokens: wsum };
}

function oneBatchStep(model: Llama, opt: AdamW, batch: LmBatch, o: AdamWOptions): LmStepStats {
  model.zeroGrads();
  return withScope(model.kernels, () => {
    const { logprobs, cache } = forward(model, batch.ids, batch.targets, batch.B, batch.T);
    const { loss, dLogp, tokens } = crossEntropyGrad(logprobs, batch.weights);
    backward(model, cache, dLogp);
    const stats = opt.update(model.params, model.grads, o);
    return { ...stats, loss, tokens };
  });
}
