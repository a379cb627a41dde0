// Packing kept rollout groups into the update batch: token layout and loss mask (src/rl/layout.ts,
// the one place the mask is built), behaviour log-probs at the scored positions, and per-token
// group-normalised advantages.
import { ADVANTAGE_ESTIMATORS } from "../rl/advantages.ts";
import { packBatch, scatterGenerated } from "../rl/layout.ts";
import type { TrainConfig } from "./rl_config.ts";
import type { RolloutGroup } from "./rollout.ts";

export interface PackedUpdate {
  B: number;
  T: number;
  ids: Int32Array; // (B, T)
  targets: Int32Array; // (B, T)
  mask: Float32Array; // (B, T) 1 at generated tokens' positions only
  oldLogp: Float32Array; // (B, T) behaviour log-probs at the mask
  advantages: Float32Array; // (B, T)
}

export function packUpdate(groups: RolloutGroup[], padId: number, c: TrainConfig): PackedUpdate {
  const rollouts = groups.flatMap((g) => g.rollouts);
  const packed = packBatch(rollouts.map((r) => ({ prompt: r.prompt.promptIds, prefill: r.prompt.prefillIds, generated: r.generated })), padId);
  const oldLogp = scatterGenerated(packed, rollouts.map((r) => r.logprobs));
  const adv = ADVANTAGE_ESTIMATORS.get(c.objective.advantage.estimator)(
    { rewards: rollouts.map((r) => r.reward), groupSize: c.group_size, mask: packed.mask, T: packed.T },
    { eps: c.objective.advantage.eps },
  );
  return { B: packed.B, T: packed.T, ids: packed.ids, targets: packed.targets, mask: packed.mask, oldLogp, advantages: adv.advantages };
}
