// Rewards for the synthetic world, routed by data source: safety for harmful / jailbreak rows,
// helpfulness (0 / 0.5 / 1) for borderline / benign rows, exact correctness for math, all from
// the world's exact judge, which scores only the response after </think>. A rollout cut by the
// generation limit is judged like any other (usually malformed → 0); DAPO's overlong shaping
// (src/rl/overlong.ts) is applied on top by the trainer, not hidden here.
// Departure from the paper: its safety reward is a guard model's continuous P(safe) and its
// helpfulness a rubric LLM; the world's judge is exact, so the safety reward is binary (the
// paper's Table 7 variant).
import { type JudgeItem, type Judgement, judge } from "../world/judge.ts";

export interface WorldReward {
  reward: number;
  judgement: Judgement;
}

/** The reward of one completion (text after the prompt: the prefill, if any, then the policy's tokens). */
export function worldReward(item: JudgeItem, completion: string): WorldReward {
  const judgement = judge(item, completion);
  return { reward: judgement.score, judgement };
}
