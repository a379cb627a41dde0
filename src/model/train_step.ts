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

/** dLoss/dlogp for loss = -sum(w * logp) / sum(w). Returns the loss too. */
export function crossEntropyGrad(logprobs: Float32Array, weights: Float32Array): { loss: number; dLogp: Float32Array; tokens: number } {
  let wsum = 0, lsum = 0;
  for (let i = 0; i < weights.length; i++) {
    wsum += weights[i]!;
    lsum -= weights[i]! * logprobs[i]!;
  }
  const dLogp = new Float32Array(weights.length); // (B*T)
  if (wsum > 0) for (let i = 0; i < weights.length; i++) dLogp[i] = -weights[i]! / wsum;
  return { loss: wsum > 0 ? lsum / wsum : 0, dLogp, tokens: wsum };
}

/** Forward + backward + AdamW update on one batch (activations freed at the end). */
export function lmTrainStep(model: Llama, opt: AdamW, batch: LmBatch, o: AdamWOptions): LmStepStats {
  model.zeroGrads();
  return withScope(model.kernels, () => {
    const { logprobs, cache } = forward(model, batch.ids, batch.targets, batch.B, batch.T);
    const { loss, dLogp, tokens } = crossEntropyGrad(logprobs, batch.weights);
    backward(model, cache, dLogp);
    const stats = opt.update(model.params, model.grads, o);
    return { ...stats, loss, tokens };
  });
}
