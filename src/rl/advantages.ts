// Outcome advantage estimators over prompt groups, registered by name. Each rollout b has one
// scalar reward r_b; rollouts of the same prompt form a group; the advantage of rollout b is
// broadcast to its optimised tokens (the loss mask), zero elsewhere.
//
//   group_norm (GRPO / DAPO):  A_b = (r_b - mean_g) / (std_g + eps)
//   dr_grpo    (Dr.GRPO):      A_b =  r_b - mean_g            (no division by the std)
//
// std_g is the SAMPLE standard deviation (divisor n - 1, Bessel's correction), because that is
// what verl's compute_grpo_outcome_advantage (torch.std) and TRL's GRPOTrainer (.std(dim=1)) use;
// eps defaults to verl's 1e-6 (TRL uses 1e-4). With G = 2 rewards {0, 1} the sample std is 0.707,
// so advantages are +-0.707 (the population std would give +-1).
// Departure from verl: a group of one rollout is an error here (verl silently uses mean 0 and
// std 1, i.e. A = r): a single rollout has no baseline, and G < 2 is a configuration mistake.
import { RecapError } from "../util/errors.ts";
import { makeRegistry } from "./registry.ts";

export interface AdvantageInput {
  rewards: ArrayLike<number>; // (B) one scalar reward per rollout
  /** Rows g*G .. g*G+G-1 form group g (B must be a multiple of G). Give this or groupIds. */
  groupSize?: number;
  /** (B) rows with equal ids form a group (any order). Give this or groupSize. */
  groupIds?: ArrayLike<number | string>;
  mask: ArrayLike<number>; // (B, T) loss mask: where each rollout's advantage is placed
  T: number;
}

export interface AdvantageConfig {
  /** Added to the std before dividing (group_norm only). Default 1e-6 (verl). */
  eps: number;
}

export interface AdvantageResult {
  seqAdvantages: Float64Array; // (B) one advantage per rollout
  advantages: Float32Array; // (B, T) seqAdvantages[b] at the masked positions of row b, else 0
  metrics: Record<string, number>;
}

export type AdvantageFn = (input: AdvantageInput, cfg: AdvantageConfig) => AdvantageResult;

/** The groups as lists of row indices, in order of first appearance. */
export function groupRows(B: number, groupSize?: number, groupIds?: ArrayLike<number | string>): number[][] {
  if ((groupSize === undefined) === (groupIds === undefined))
    throw new RecapError("advantages: give exactly one of groupSize and groupIds");
  if (groupSize !== undefined) {
    if (!Number.isInteger(groupSize) || groupSize < 1 || B % groupSize !== 0)
      throw new RecapError(
        `advantages: groupSize ${groupSize} does not divide the batch of ${B} rollouts`,
        "B must be a multiple of the group size G",
      );
    return Array.from({ length: B / groupSize }, (_, g) =>
      Array.from({ length: groupSize }, (_, i) => g * groupSize + i),
    );
  }
  if (groupIds!.length !== B) throw new RecapError(`advantages: ${groupIds!.length} group ids for ${B} rollouts`);
  const byId = new Map<number | string, number[]>();
  for (let b = 0; b < B; b++) {
    const id = groupIds![b]!;
    const list = byId.get(id);
    if (list) list.push(b);
    else byId.set(id, [b]);
  }
  return [...byId.values()];
}

/** Shared body: per-group baseline (and optional std scaling), broadcast, metrics. */
function groupAdvantages(input: AdvantageInput, cfg: AdvantageConfig, divideByStd: boolean): AdvantageResult {
  const { rewards, mask, T } = input;
  const B = rewards.length;
  if (mask.length !== B * T)
    throw new RecapError(`advantages: mask has ${mask.length} entries, expected B*T = ${B * T}`);
  for (let b = 0; b < B; b++)
    if (!Number.isFinite(rewards[b]!))
      throw new RecapError(
        `advantages: reward of rollout ${b} is ${rewards[b]}, not a finite number`,
        "check the reward function",
      );
  const seq = new Float64Array(B); // (B)
  for (const rows of groupRows(B, input.groupSize, input.groupIds)) {
    const n = rows.length;
    if (n < 2)
      throw new RecapError(
        `advantages: a group has ${n} rollout`,
        "use at least 2 rollouts per prompt (G >= 2): one rollout has no baseline",
      );
    const mean = rows.reduce((s, b) => s + rewards[b]!, 0) / n;
    const std = Math.sqrt(rows.reduce((s, b) => s + (rewards[b]! - mean) ** 2, 0) / (n - 1)); // sample std
    for (const b of rows) seq[b] = divideByStd ? (rewards[b]! - mean) / (std + cfg.eps) : rewards[b]! - mean;
  }
  const advantages = new Float32Array(B * T); // (B, T)
  let sum = 0,
    n = 0,
    max = -Infinity,
    min = Infinity;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (mask[i] === 0) continue;
      advantages[i] = seq[b]!;
      sum += seq[b]!;
      n++;
      max = Math.max(max, seq[b]!);
      min = Math.min(min, seq[b]!);
    }
  let rsum = 0;
  for (let b = 0; b < B; b++) rsum += rewards[b]!;
  return {
    seqAdvantages: seq,
    advantages,
    metrics: {
      "critic/rewards/mean": B > 0 ? rsum / B : 0,
      "critic/advantages/mean": n > 0 ? sum / n : 0,
      "critic/advantages/max": n > 0 ? max : 0,
      "critic/advantages/min": n > 0 ? min : 0,
    },
  };
}

export const groupNorm: AdvantageFn = (input, cfg) => groupAdvantages(input, cfg, true);
export const drGrpo: AdvantageFn = (input, cfg) => groupAdvantages(input, cfg, false);

export const ADVANTAGE_ESTIMATORS = makeRegistry<AdvantageFn>("advantage estimator", {
  group_norm: groupNorm,
  dr_grpo: drGrpo,
});
