// Full-batch next-token training on a handful of token sequences: the small trained models of
// the export, server and reward tests are fitted this way (seeded by their init; about a second).
import type { Llama } from "../../src/model/llama.ts";
import { decayedParamNames } from "../../src/model/config.ts";
import { AdamW } from "../../src/model/optim.ts";
import { lmTrainStep } from "../../src/model/train_step.ts";

/** Trains `steps` AdamW steps at lr 1e-2 on `seqs` padded to one batch; `weight(t, len)` weighs the
 *  target at position t + 1 of a sequence of length len (default 1). */
export function fitSequences(
  model: Llama,
  seqs: number[][],
  steps: number,
  weight: (t: number, len: number) => number = () => 1,
): void {
  const T = Math.max(...seqs.map((s) => s.length)) - 1,
    B = seqs.length;
  const ids = new Int32Array(B * T),
    targets = new Int32Array(B * T),
    weights = new Float32Array(B * T); // (B, T) each
  seqs.forEach((s, b) => {
    for (let t = 0; t + 1 < s.length; t++) {
      ids[b * T + t] = s[t]!;
      targets[b * T + t] = s[t + 1]!;
      weights[b * T + t] = weight(t, s.length);
    }
  });
  const opt = new AdamW(model.params, model.kernels, decayedParamNames(model.config));
  for (let i = 0; i < steps; i++) lmTrainStep(model, opt, { B, T, ids, targets, weights }, { lr: 1e-2 });
}
