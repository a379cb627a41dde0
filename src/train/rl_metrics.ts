// One JSONL line of metrics per RL step: rewards per source and for clean vs prefilled prompts,
// dynamic sampling counts, the actor's loss metrics (clip fraction, approx KL, ...), rollout
// lengths, truncation, and self-reflection on prefilled and clean rollouts; with the adaptive
// curriculum on, its level, l_pre, alpha and the recovery rate it observed.
import type { CurriculumConfig, CurriculumState } from "./curriculum.ts";
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

/** The step's recovery rate: the mean judge reward of the rollouts that continued a prefill, over
 *  every generated group (those dynamic sampling dropped included: an all-zero prefilled group is
 *  exactly the signal the curriculum reacts to); null when no rollout started from a prefill. */
export function recoveryRate(fill: Pick<Fill, "all">): number | null {
  const pre = fill.all.filter((g) => g.prompt.prefillIds.length > 0).flatMap((g) => g.rollouts);
  return pre.length ? mean(pre.map((r) => r.rawReward)) : null;
}

/** The curriculum's metrics for a step: the level, l_pre and alpha its prompts were drawn with,
 *  and the recovery rate observed (absent when no rollout started from a prefill). */
export function curriculumMetrics(s: CurriculumState, rate: number | null, cfg: CurriculumConfig): Record<string, number> {
  const line: Record<string, number> = { "curriculum/level": s.level, "curriculum/l_pre": cfg.levels[s.level]!, "curriculum/alpha": s.alpha };
  if (rate !== null) line["curriculum/recovery"] = rate;
  return line;
}
