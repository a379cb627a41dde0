// One JSONL line of metrics per RL step: rewards per source and for clean vs prefilled prompts,
// dynamic sampling counts, the actor's loss metrics (clip fraction, approx KL, ...), rollout
// lengths, truncation, and self-reflection on prefilled and clean rollouts.
import type { Fill, UpdateStats } from "./rl.ts";

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

export function stepMetrics(
  step: number, fill: Fill, upd: UpdateStats | null, t: { lr: number; rolloutS: number; updateS: number },
): Record<string, number> {
  const all = fill.all.flatMap((g) => g.rollouts);
  const pre = all.filter((r) => r.prompt.prefillIds.length > 0);
  const clean = all.filter((r) => r.prompt.prefillIds.length === 0);
  const line: Record<string, number> = {
    step,
    lr: t.lr,
    "reward/mean": mean(all.map((r) => r.rawReward)),
    "reward/clean": mean(clean.map((r) => r.rawReward)),
    "reward/prefilled": mean(pre.map((r) => r.rawReward)),
  };
  for (const src of ["harmful", "jailbreak", "borderline", "benign", "math"]) {
    const xs = all.filter((r) => r.prompt.item.source === src).map((r) => r.rawReward);
    if (xs.length) line[`reward/${src}`] = mean(xs);
  }
  Object.assign(line, {
    "sampling/kept_groups": fill.kept.length,
    "sampling/dropped_groups": fill.dropped,
    "sampling/rounds": fill.rounds,
    "rollout/gen_tokens": mean(all.map((r) => r.generated.length)),
    "rollout/tokens_after_prefill": mean(pre.map((r) => r.generated.length)),
    "rollout/truncation_rate": mean(all.map((r) => (r.finishReason === "length" ? 1 : 0))),
    "rollout/reflection_rate_prefilled": mean(pre.map((r) => (r.judgement.reflections > 0 ? 1 : 0))),
    "rollout/reflection_rate_clean": mean(clean.map((r) => (r.judgement.reflections > 0 ? 1 : 0))),
    "rollout/neg_logp": -mean(all.flatMap((r) => r.logprobs)),
    "time/rollout_s": t.rolloutS,
    "time/update_s": t.updateS,
  });
  if (upd) Object.assign(line, upd.metrics, { "actor/grad_norm": upd.gradNorm, "actor/updates": upd.updates });
  for (const [k, v] of Object.entries(line)) if (Number.isNaN(v)) delete line[k];
  return line;
}
