// Rollouts for the RL trainer: G samples per prompt from the current policy, continuing the
// rendered prompt and (for prefilled prompts) the prefilled thinking, scored by the reward.
// Clean and prefilled prompts are sampled in separate batches, so that a long prefill in one row
// does not shorten the generation limit of the others (the limit is bounded by the context).
// The training reward comes from the reward routes of src/reward/routes.ts (the ones `recap
// reward serve` serves), chosen per prompt by the trainer (`route`): the world judge, or the
// world guard's P(safe) for harmful requests. `rawReward` is always the exact judge's score.
import type { Llama } from "../model/llama.ts";
import { type FinishReason, sample } from "../model/sampler.ts";
import type { Tokenizer } from "../model/tokenizer.ts";
import type { JudgeItem, Judgement } from "../world/judge.ts";
import type { ParsedLabel } from "../reward/labels.ts";
import { type RewardRoute, type RouteInput, scoreWith, worldRoute } from "../reward/routes.ts";
import { worldReward } from "../reward/world.ts";

/** One prompt of the training mixture, tokenised once. */
export interface PolicyPrompt {
  index: number; // row index in the mixture
  item: JudgeItem & { id: string; source: string; prompt: string };
  promptIds: number[]; // (P) chat up to and including <|assistant|>
  prefillIds: number[]; // (F) the opener ("<think>") and the cut prefill; [] when clean
  /** The prefilled thinking (after the opener); null when clean. */
  prefillThinking: string | null;
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
  /** The reward route of a prompt's item. Default: the world judge for every item. */
  route?: (item: PolicyPrompt["item"]) => RewardRoute;
  /** Reward shaping by generated length (DAPO overlong); identity when absent. */
  shape?: (reward: number, genLen: number) => number;
}

/** Training rewards of scored rollouts: each route scores its own rollouts in one call, in order. */
async function routeRewards(
  route: (item: PolicyPrompt["item"]) => RewardRoute,
  items: readonly { prompt: PolicyPrompt; generated: string; response: string }[],
): Promise<number[]> {
  const byRoute = new Map<RewardRoute, number[]>();
  items.forEach((x, i) => {
    const r = route(x.prompt.item);
    const idx = byRoute.get(r);
    if (idx) idx.push(i);
    else byRoute.set(r, [i]);
  });
  const rewards = new Array<number>(items.length);
  for (const [r, idx] of byRoute) {
    const inputs: RouteInput[] = idx.map((i) => {
      const { prompt, generated, response } = items[i]!;
      const label: ParsedLabel = { route: r.name, datasource: prompt.item.source, fields: { ...prompt.item } };
      return { label, response, generated, userPrompt: prompt.item.prompt };
    });
    const out = await scoreWith(r, inputs);
    idx.forEach((i, k) => {
      rewards[i] = out[k]!.reward;
    });
  }
  return rewards;
}

/** G rollouts for each prompt, grouped per prompt in input order. Groups are keyed by position,
 *  so a row drawn twice in one round (at an epoch boundary of the prompt stream) gets two groups of
 *  G rollouts of its own. */
export async function generateGroups(
  model: Llama,
  tok: Tokenizer,
  prompts: PolicyPrompt[],
  o: RolloutOptions,
): Promise<RolloutGroup[]> {
  const slots: Rollout[][] = prompts.map(() => []);
  const positions = prompts.map((_, i) => i);
  const parts = [
    positions.filter((i) => prompts[i]!.prefillIds.length === 0),
    positions.filter((i) => prompts[i]!.prefillIds.length > 0),
  ];
  for (const [k, part] of parts.entries()) {
    if (part.length === 0) continue;
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
    // What the judge reads: the turn as the policy wrote it, its prefilled start included.
    const texts = results.map((r, j) => tok.decode([...prompts[rows[j]!]!.prefillIds, ...r.tokens]));
    const scored = results.map((_, j) => worldReward(prompts[rows[j]!]!.item, texts[j]!)); // the judge, for diagnostics
    const trained = await routeRewards(
      o.route ?? (() => worldRoute),
      results.map((_, j) => ({
        prompt: prompts[rows[j]!]!,
        generated: texts[j]!,
        response: scored[j]!.judgement.response,
      })),
    );
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
  }
  return prompts.map((p, i) => {
    const rollouts = slots[i]!;
    return { prompt: p, rollouts, rewards: rollouts.map((r) => r.reward) };
  });
}
