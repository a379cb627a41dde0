// Packing kept rollout groups into the update batch: token layout and loss mask (src/rl/layout.ts,
// the one place the mask is built), behaviour log-probs at the scored positions, and per-token
// group-normalised advantages; then the split of a minibatch into micro-batches of rows sorted
// by length, each cut to its own width.
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
  const packed = packBatch(
    rollouts.map((r) => ({ prompt: r.prompt.promptIds, prefill: r.prompt.prefillIds, generated: r.generated })),
    padId,
  );
  const oldLogp = scatterGenerated(
    packed,
    rollouts.map((r) => r.logprobs),
  );
  const adv = ADVANTAGE_ESTIMATORS.get(c.objective.advantage.estimator)(
    { rewards: rollouts.map((r) => r.reward), groupSize: c.group_size, mask: packed.mask, T: packed.T },
    { eps: c.objective.advantage.eps },
  );
  return {
    B: packed.B,
    T: packed.T,
    ids: packed.ids,
    targets: packed.targets,
    mask: packed.mask,
    oldLogp,
    advantages: adv.advantages,
  };
}

/** Rows `order` of `p`, cut to width T (rows are left-aligned: everything past a row's length is
 *  padding, so cutting to at least the longest chosen row loses nothing). */
function takeRows(p: PackedUpdate, order: readonly number[], T: number): PackedUpdate {
  const B = order.length;
  const ids = new Int32Array(B * T),
    targets = new Int32Array(B * T); // (B, T)
  const mask = new Float32Array(B * T),
    oldLogp = new Float32Array(B * T),
    advantages = new Float32Array(B * T); // (B, T)
  order.forEach((src, b) => {
    const from = src * p.T,
      to = from + T;
    ids.set(p.ids.subarray(from, to), b * T);
    targets.set(p.targets.subarray(from, to), b * T);
    mask.set(p.mask.subarray(from, to), b * T);
    oldLogp.set(p.oldLogp.subarray(from, to), b * T);
    advantages.set(p.advantages.subarray(from, to), b * T);
  });
  return { B, T, ids, targets, mask, oldLogp, advantages };
}

/** The micro-batches of one minibatch: advantages are computed over its whole groups first, then
 *  its rollouts, longest first (ties in batch order), go in chunks of at most `rowsPerMicro`
 *  rows, each cut to its longest row. Sorting keeps the padding small (rollout lengths vary
 *  several-fold, and attention costs grow with the square of the width); which rows share a
 *  micro-batch does not change the step, since micro-batch losses are weighted by their share
 *  of the aggregation units. */
export function packMicroBatches(
  groups: RolloutGroup[],
  padId: number,
  c: TrainConfig,
  rowsPerMicro: number,
): PackedUpdate[] {
  if (!(Number.isInteger(rowsPerMicro) && rowsPerMicro >= 1))
    throw new RangeError(`rowsPerMicro must be a positive integer, got ${rowsPerMicro}`);
  const full = packUpdate(groups, padId, c);
  const lengths = groups
    .flatMap((g) => g.rollouts)
    .map((r) => Math.max(1, r.prompt.promptIds.length + r.prompt.prefillIds.length + r.generated.length - 1));
  const order = lengths.map((_, b) => b).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const out: PackedUpdate[] = [];
  for (let i = 0; i < order.length; i += rowsPerMicro) {
    const chunk = order.slice(i, i + rowsPerMicro);
    out.push(takeRows(full, chunk, lengths[chunk[0]!]!));
  }
  return out;
}
