// One JSONL line of metrics per RL step: rewards per source and for clean vs prefilled prompts,
// dynamic sampling counts, the actor's loss metrics (clip fraction, approx KL, ...), rollout
// lengths, truncation, and self-reflection on prefilled and clean rollouts; with the adaptive
// curriculum on, its level, l_pre, alpha and the recovery rate it observed. Per (prompt kind,
// prefill style), e.g. `harmful/strong`: groups generated and kept, and the rollouts of kept
// groups whose reward is above their group's mean (positive advantage: what the update pushes up).
import type { CurriculumConfig, CurriculumState } from "./curriculum.ts";
import type { Fill, UpdateStats } from "./rl.ts";
import type { PolicyPrompt, RolloutGroup } from "./rollout.ts";
import { prefillOf } from "../recap/prefill_kinds.ts";

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

export function stepMetrics(
  step: number,
  fill: Fill,
  upd: UpdateStats | null,
  t: { lr: number; rolloutS: number; updateS: number },
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
  // The reward trained on (after shaping): with a guard model, its P(safe) on harmful requests.
  const harmful = all.filter((r) => r.prompt.item.label === "harmful");
  if (harmful.length) line["reward/harmful_trained"] = mean(harmful.map((r) => r.reward));
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
  Object.assign(line, groupMetrics(fill));
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
export function curriculumMetrics(
  s: CurriculumState,
  rate: number | null,
  cfg: CurriculumConfig,
): Record<string, number> {
  const line: Record<string, number> = {
    "curriculum/level": s.level,
    "curriculum/l_pre": cfg.levels[s.level]!,
    "curriculum/alpha": s.alpha,
  };
  if (rate !== null) line["curriculum/recovery"] = rate;
  return line;
}

/** The prefill style of a prompt: clean, or which of the world row's materials its prefill was
 *  cut from (weak, strong, aligned); `model` for a prefill sampled from a model source. */
export function prefillStyle(p: PolicyPrompt): string {
  if (p.prefillThinking === null) return "clean";
  const body = p.prefillThinking;
  const material = (p.item as { prefills?: unknown }).prefills;
  for (const kind of ["weak", "strong", "aligned"] as const)
    if (prefillOf(material, kind)?.startsWith(body)) return kind;
  return "model";
}

/** Rollouts of a group whose reward is above the group's mean. */
export function positiveAdvantage(g: Pick<RolloutGroup, "rewards">): number {
  const m = mean(g.rewards);
  return g.rewards.filter((r) => r > m + 1e-12).length;
}

/** Per (kind, style): `groups/K/S` generated, `kept/K/S` kept, `pos_adv/K/S` positive-advantage
 *  rollouts of kept groups; `pos_adv/prefilled` in all. */
export function groupMetrics(fill: Pick<Fill, "all" | "kept">): Record<string, number> {
  const kept = new Set(fill.kept);
  const line: Record<string, number> = { "pos_adv/prefilled": 0 };
  const add = (k: string, v: number) => (line[k] = (line[k] ?? 0) + v);
  for (const g of fill.all) {
    const style = prefillStyle(g.prompt),
      key = `${g.prompt.item.source}/${style}`;
    add(`groups/${key}`, 1);
    add(`kept/${key}`, kept.has(g) ? 1 : 0);
    const pos = kept.has(g) ? positiveAdvantage(g) : 0;
    add(`pos_adv/${key}`, pos);
    if (style !== "clean") add("pos_adv/prefilled", pos);
  }
  return line;
}
