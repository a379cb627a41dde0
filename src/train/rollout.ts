// Rollouts for the RL trainer: G samples per prompt from the current policy, continuing the
// rendered prompt and (for prefilled prompts) the prefilled thinking, scored by the reward.
// Clean and prefilled prompts are sampled in separate batches, so that a long prefill in one row
// does not shorten the generation limit of the others (the limit is bounded by the context).
// With a guard model, the safety reward of a harmful request's well-formed rollout is the guard's
// P(safe) = 1 - P(yes) on (request, final response), a continuous score as the paper's Granite
// Guardian reward; a malformed rollout keeps the judge's 0, and the other prompts (over-refusal,
// math) keep the judge's rubric. `rawReward` is always the exact judge's score.
import type { Llama } from "../model/llama.ts";
import { type FinishReason, sample } from "../model/sampler.ts";
import type { Tokenizer } from "../model/tokenizer.ts";
import type { JudgeItem, Judgement } from "../world/judge.ts";
import { worldReward } from "../reward/world.ts";

/** One prompt of the training mixture, tokenised once. */
export interface PolicyPrompt {
  index: number; // row index in the mixture
  item: JudgeItem & { id: string; source: string; prompt: string };
  promptIds: number[]; // (P) chat up to and including <|assistant|>
  prefillIds: number[]; // (F) "<think>" + the cut prefill; [] when clean
  prefillText: string | null;
}

export interface Rollout {
  prompt: PolicyPrompt;
  generated: number[]; // (G_b) tokens after the prefill, with the stop token if any
  logprobs: number[]; // (G_b) behaviour-policy log-probs of `generated`
  finishReason: FinishReason;
  reward: number; // after overlong shaping
  rawReward: number; // the judge's score
  judgement: Judgement;
}

export interface RolloutGroup {
  prompt: PolicyPrompt;
  rollouts: Rollout[];
  rewards: number[];
}

export interface RolloutOptions {
  groupSize: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  /** Reward from the judge's score: rubric as is, binary = 1 only for a full score. Default rubric. */
  rewardMode?: RewardMode;
  /** Reward shaping by generated length (DAPO overlong); identity when absent. */
  shape?: (reward: number, genLen: number) => number;
  /** P(yes) of (request, response) pairs: the continuous safety reward's guard (src/reward/guard_model.ts). */
  guard?: { pYes(pairs: readonly { request: string; response: string }[]): number[] };
}

export type RewardMode = "rubric" | "binary";

/** The training reward of a judge score (0, 0.5 or 1) under a reward mode. */
export function rewardOf(score: number, mode: RewardMode = "rubric"): number {
  return mode === "binary" ? (score >= 1 ? 1 : 0) : score;
}

/** G rollouts for each prompt, grouped per prompt in input order. Groups are keyed by position,
 *  so a row drawn twice in one round (at an epoch boundary of the prompt stream) gets two groups of
 *  G rollouts of its own. */
export function generateGroups(
  model: Llama,
  tok: Tokenizer,
  prompts: PolicyPrompt[],
  o: RolloutOptions,
): RolloutGroup[] {
  const slots: Rollout[][] = prompts.map(() => []);
  const positions = prompts.map((_, i) => i);
  const parts = [
    positions.filter((i) => prompts[i]!.prefillIds.length === 0),
    positions.filter((i) => prompts[i]!.prefillIds.length > 0),
  ];
  parts.forEach((part, k) => {
    if (part.length === 0) return;
    const rows = part.flatMap((i) => Array.from({ length: o.groupSize }, () => i)); // (N * G) positions
    const ids = rows.map((i) => [...prompts[i]!.promptIds, ...prompts[i]!.prefillIds]);
    const longest = Math.max(...ids.map((r) => r.length));
    const maxNew = Math.min(o.maxNewTokens, model.config.max_position_embeddings - longest);
    const results = sample(model, ids, {
      maxNewTokens: Math.max(1, maxNew),
      temperature: o.temperature,
      topP: o.topP,
      seed: (o.seed * 2 + k) >>> 0,
      stopTokenIds: [tok.specialIds.eos],
      vocabLimit: tok.vocabSize,
    });
    const scored = results.map((r, j) => {
      const p = prompts[rows[j]!]!;
      return worldReward(p.item, (p.prefillText ?? "") + tok.decode(r.tokens));
    });
    const trained = scored.map((x) => rewardOf(x.reward, o.rewardMode));
    if (o.guard) {
      const judged = scored.flatMap((x, j) =>
        prompts[rows[j]!]!.item.label === "harmful" && x.judgement.outcome !== "malformed" ? [j] : [],
      );
      const pYes = o.guard.pYes(
        judged.map((j) => ({ request: prompts[rows[j]!]!.item.prompt, response: scored[j]!.judgement.response })),
      );
      judged.forEach((j, i) => {
        trained[j] = 1 - pYes[i]!;
      });
    }
    results.forEach((r, j) => {
      const slot = rows[j]!;
      const { reward, judgement } = scored[j]!;
      const shaped = o.shape ? o.shape(trained[j]!, r.tokens.length) : trained[j]!;
      slots[slot]!.push({
        prompt: prompts[slot]!,
        generated: r.tokens,
        logprobs: r.logprobs,
        finishReason: r.finishReason,
        reward: shaped,
        rawReward: reward,
        judgement,
      });
    });
  });
  return prompts.map((p, i) => {
    const rollouts = slots[i]!;
    return { prompt: p, rollouts, rewards: rollouts.map((r) => r.reward) };
  });
}
