// Dynamic sampling: which prompt groups (G rollouts of one prompt) are kept for the update, as
// rules registered by name over the group's rewards, and a pure batch-filling helper that keeps
// drawing generation rounds until enough groups pass.
//
//   recap         RECAP (paper Sec. 3.1): drop the group when every reward is 0 (uniformly bad)
//                 or every reward is > tau (uniformly good); keep it otherwise. The paper does not
//                 give tau (in our summary); we default to 0.9, so with rewards in [0, 1] a group
//                 of all-1 (or all-near-1 continuous guard scores) is dropped. Note that a group
//                 with equal rewards strictly between 0 and tau (e.g. all helpfulness 0.5) is
//                 KEPT by this rule although its advantages are all 0: that is the paper's rule.
//   std_positive  verl (DAPO recipe): keep iff the group's reward std > 0 (not all equal).
//   range         OpenRLHF (--dynamic_filtering_reward_range lo hi, default 0 1): keep iff
//                 lo < mean reward < hi, with lo / hi configured bounds (not the group's own min
//                 and max: with those, min < mean < max would just be std_positive again).
//   none          keep every group (plain GRPO).
// Filling (as verl's DAPO loop): kept groups accumulate over rounds until `targetGroups` are in
// hand, then the batch is cut to exactly that many (the overflow is counted as `surplus`); after
// `max_rounds` rounds the state is done even if not full, and the caller decides what to do.
import { RecapError } from "../util/errors.ts";
import { makeRegistry } from "./registry.ts";

export interface SamplingRuleConfig {
  /** recap: the "uniformly good" threshold; a group with every reward > tau is dropped. Default 0.9 (our choice; the paper does not state it). */
  tau: number;
  /** range: exclusive lower bound of the kept mean reward. Default 0 (OpenRLHF). */
  range_low: number;
  /** range: exclusive upper bound of the kept mean reward. Default 1 (OpenRLHF). */
  range_high: number;
}

/** true = keep the group. */
export type SamplingRule = (rewards: readonly number[], cfg: SamplingRuleConfig) => boolean;

function mean(r: readonly number[]): number {
  return r.reduce((a, x) => a + x, 0) / r.length;
}

export const SAMPLING_RULES = makeRegistry<SamplingRule>("dynamic sampling rule", {
  recap: (r, cfg) => !(r.every((x) => x === 0) || r.every((x) => x > cfg.tau)),
  std_positive: (r) => r.some((x) => x !== r[0]),
  range: (r, cfg) => {
    const m = mean(r);
    return cfg.range_low < m && m < cfg.range_high;
  },
  none: () => true,
});

/** Anything that carries its group's rewards (the trainer's group of rollouts). */
export interface RewardGroup {
  rewards: readonly number[];
}

export interface FillOptions {
  /** Name of a registered sampling rule. */
  rule: string;
  ruleConfig: SamplingRuleConfig;
  /** Groups wanted in the batch. */
  targetGroups: number;
  /** Generation rounds allowed before giving up (>= 1). */
  max_rounds: number;
}

export interface FillState<G extends RewardGroup> {
  /** Kept groups, in arrival order, at most targetGroups. */
  groups: readonly G[];
  rounds: number;
  /** Groups that passed the rule (including surplus). */
  kept: number;
  /** Groups the rule rejected. */
  dropped: number;
  /** Groups that passed after the batch was already full (discarded). */
  surplus: number;
  /** No more rounds are needed (full) or allowed (max_rounds). */
  done: boolean;
  full: boolean;
}

export function emptyFill<G extends RewardGroup>(): FillState<G> {
  return { groups: [], rounds: 0, kept: 0, dropped: 0, surplus: 0, done: false, full: false };
}

function checkFill(opts: FillOptions): void {
  if (!Number.isInteger(opts.targetGroups) || opts.targetGroups < 1)
    throw new RecapError(`dynamic sampling: targetGroups must be an integer >= 1, got ${opts.targetGroups}`);
  if (!Number.isInteger(opts.max_rounds) || opts.max_rounds < 1)
    throw new RecapError(`dynamic sampling: max_rounds must be an integer >= 1, got ${opts.max_rounds}`);
}

/** The state after one more generation round (a new object; `state` is not modified). */
export function fillStep<G extends RewardGroup>(
  state: FillState<G>,
  round: readonly G[],
  opts: FillOptions,
): FillState<G> {
  checkFill(opts);
  if (state.done) throw new Error("fillStep: the batch is already done; start a new one with emptyFill()");
  const rule = SAMPLING_RULES.get(opts.rule);
  const groups = [...state.groups];
  let { kept, dropped, surplus } = state;
  for (const g of round) {
    if (g.rewards.length === 0) throw new RecapError("dynamic sampling: a group has no rewards");
    if (!rule(g.rewards, opts.ruleConfig)) {
      dropped++;
      continue;
    }
    kept++;
    if (groups.length < opts.targetGroups) groups.push(g);
    else surplus++;
  }
  const rounds = state.rounds + 1;
  const full = groups.length >= opts.targetGroups;
  return { groups, rounds, kept, dropped, surplus, full, done: full || rounds >= opts.max_rounds };
}
