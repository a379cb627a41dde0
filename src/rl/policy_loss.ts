// Policy losses (to be minimised), registered by name. Each takes per-token log-probs of the
// current policy, of the behaviour ("old") policy and optionally of a reference policy, the
// per-token advantages and the loss mask, all (B, T), and returns the aggregated loss, its exact
// derivative dLogp = dLoss/dlogp (B, T) — what src/model/forward.ts backward() consumes — and
// metrics. Positions outside the mask are never read, and their dLogp is exactly 0.
//
// Per optimised token, with ratio = exp(logp - oldLogp):
//   pg1 = -A * ratio,   pg2 = -A * clip(ratio, 1 - eps_low, 1 + eps_high),   pg = max(pg1, pg2)
//   dual clip (dapo, optional c > 1, verl's clip_ratio_c): for A < 0, pg = min(pg, -A * c)
//   KL (grpo, optional beta > 0): + beta * k3,  k3 = exp(ref - logp) - (ref - logp) - 1
// Derivatives: d pg1 / d logp = -A * ratio; pg2 is flat (0) where the clip is active; the max
// takes pg1's derivative when pg1 >= pg2 (inside the clip range both are equal); the dual-clip
// constant is flat; d k3 / d logp = 1 - exp(ref - logp).
//
//   dapo: clip-higher [1 - 0.2, 1 + 0.28] (DAPO paper), token-mean aggregation, no KL term.
//   grpo: symmetric clip [1 - eps, 1 + eps] with eps 0.2, seq-mean-token-mean aggregation,
//         optional k3 KL penalty to a reference policy (DeepSeekMath: beta 0.04; off by default).
// Departures from verl: the k3 term is not clamped to [-10, 10] (verl's low_var_kl clamps it,
// which zeroes its gradient far from the reference); here the derivative stays exact. The KL is
// added per token before aggregation (TRL's way); verl aggregates it separately with the same
// mode, which is the same number because aggregation is linear.
import { RecapError } from "../util/errors.ts";
import { type AggMode, aggregate, maskedMean } from "./aggregate.ts";
import { makeRegistry } from "./registry.ts";

export interface PolicyLossInput {
  logp: ArrayLike<number>; // (B, T) current policy log-probs of the targets
  oldLogp: ArrayLike<number>; // (B, T) behaviour policy log-probs (the rollout's)
  advantages: ArrayLike<number>; // (B, T)
  mask: ArrayLike<number>; // (B, T) loss mask (src/rl/layout.ts lossMask)
  refLogp?: ArrayLike<number>; // (B, T) reference policy log-probs (grpo with kl_beta > 0)
  B: number;
  T: number;
}

export interface DapoLossConfig {
  name: "dapo";
  eps_low: number;
  eps_high: number;
  /** Dual-clip constant c > 1 for negative advantages, or null (off). */
  dual_clip_c: number | null;
  aggregation: AggMode;
  norm_len?: number;
}

export interface GrpoLossConfig {
  name: "grpo";
  eps: number;
  kl_beta: number;
  aggregation: AggMode;
  norm_len?: number;
}

export type PolicyLossConfig = DapoLossConfig | GrpoLossConfig;

export interface LossResult {
  loss: number;
  dLogp: Float32Array; // (B, T) d loss / d logp; 0 outside the mask
  metrics: Record<string, number>;
}

export type PolicyLossFn = (input: PolicyLossInput, cfg: PolicyLossConfig) => LossResult;

interface SurrogateParams {
  lo: number; // lower ratio bound 1 - eps_low
  hi: number; // upper ratio bound 1 + eps_high
  dualC: number | null;
  kl_beta: number;
}

/** Per-token clipped surrogate (+ KL): loss matrix, its derivative, and token-level flags. */
function surrogate(input: PolicyLossInput, p: SurrogateParams) {
  const { logp, oldLogp, advantages: adv, mask, refLogp, B, T } = input;
  const N = B * T;
  for (const [name, a] of [
    ["logp", logp],
    ["oldLogp", oldLogp],
    ["advantages", adv],
    ["mask", mask],
  ] as const)
    if (a.length !== N) throw new RecapError(`policy loss: ${name} has ${a.length} entries, expected B*T = ${N}`);
  if (p.kl_beta > 0 && (refLogp === undefined || refLogp.length !== N))
    throw new RecapError(
      "policy loss: kl_beta > 0 needs refLogp with B*T entries",
      "pass the reference policy's log-probs or set kl_beta to 0",
    );
  const pg = new Float64Array(N); // (B, T) policy-gradient loss per token
  const kl = new Float64Array(N); // (B, T) k3 per token
  const dTok = new Float64Array(N); // (B, T) d (pg + beta kl) / d logp
  const clipped = new Float64Array(N); // (B, T) 1 where the clipped branch is the max
  const dual = new Float64Array(N); // (B, T) 1 where the dual clip is active
  const ratios = new Float64Array(N); // (B, T)
  const k3Old = new Float64Array(N); // (B, T) k3 between old and new (approx KL metric)
  for (let i = 0; i < N; i++) {
    if (mask[i] === 0) continue; // context or pad: never read
    const a = adv[i]!,
      delta = logp[i]! - oldLogp[i]!;
    if (!Number.isFinite(delta) || !Number.isFinite(a))
      throw new RecapError(
        `policy loss: non-finite input at optimised position ${i} (logp - oldLogp = ${delta}, advantage ${a})`,
        "check the log-probs and the loss mask",
      );
    const ratio = Math.exp(delta);
    const pg1 = -a * ratio;
    const pg2 = -a * Math.min(Math.max(ratio, p.lo), p.hi);
    let loss = pg1 >= pg2 ? pg1 : pg2;
    let d = pg1 >= pg2 ? -a * ratio : 0;
    if (pg2 > pg1) clipped[i] = 1;
    if (p.dualC !== null && a < 0 && -a * p.dualC < loss) {
      loss = -a * p.dualC;
      d = 0;
      dual[i] = 1;
    }
    pg[i] = loss;
    if (p.kl_beta > 0) {
      const r = refLogp![i]! - logp[i]!;
      kl[i] = Math.exp(r) - r - 1;
      d += p.kl_beta * (1 - Math.exp(r));
    }
    dTok[i] = d;
    ratios[i] = ratio;
    k3Old[i] = ratio - 1 - delta;
  }
  return { pg, kl, dTok, clipped, dual, ratios, k3Old };
}

/** Aggregates the surrogate and assembles dLogp and the metrics. */
function finish(
  input: PolicyLossInput,
  p: SurrogateParams,
  aggregation: string,
  norm_len: number | undefined,
): LossResult {
  const s = surrogate(input, p);
  const { B, T, mask, logp, oldLogp } = input;
  const N = B * T;
  const total = new Float64Array(N); // (B, T) pg + beta * kl
  for (let i = 0; i < N; i++) total[i] = s.pg[i]! + p.kl_beta * s.kl[i]!;
  const { value, weights } = aggregate(total, mask, aggregation, { B, T, norm_len });
  const dLogp = new Float32Array(N); // (B, T)
  let pgAgg = 0,
    klAgg = 0,
    tokens = 0;
  for (let i = 0; i < N; i++) {
    if (mask[i] === 0) continue;
    tokens++;
    dLogp[i] = weights[i]! * s.dTok[i]!;
    pgAgg += weights[i]! * s.pg[i]!;
    klAgg += weights[i]! * s.kl[i]!;
  }
  const oldMinusNew = new Float64Array(N); // (B, T)
  for (let i = 0; i < N; i++) if (mask[i] !== 0) oldMinusNew[i] = oldLogp[i]! - logp[i]!;
  const metrics: Record<string, number> = {
    "actor/pg_loss": pgAgg,
    "actor/clipfrac": maskedMean(s.clipped, mask),
    "actor/approx_kl": maskedMean(s.k3Old, mask),
    "actor/ppo_kl": maskedMean(oldMinusNew, mask),
    "actor/ratio_mean": maskedMean(s.ratios, mask),
    "actor/tokens": tokens,
  };
  if (p.dualC !== null) metrics["actor/clipfrac_lower"] = maskedMean(s.dual, mask);
  if (p.kl_beta > 0) {
    metrics["actor/kl_loss"] = klAgg;
    metrics["actor/kl_coef"] = p.kl_beta;
  }
  return { loss: value, dLogp, metrics };
}

/** DAPO: clip-higher surrogate, optional dual clip, no KL. */
export function dapoLoss(input: PolicyLossInput, cfg: DapoLossConfig): LossResult {
  if (!(cfg.eps_low >= 0 && cfg.eps_low < 1) || !(cfg.eps_high >= cfg.eps_low))
    throw new RecapError(
      `dapo: need 0 <= eps_low < 1 and eps_high >= eps_low, got ${cfg.eps_low} / ${cfg.eps_high}`,
      "the paper uses eps_low 0.2, eps_high 0.28",
    );
  if (cfg.dual_clip_c !== null && !(cfg.dual_clip_c > 1))
    throw new RecapError(`dapo: dual_clip_c must be > 1 or null, got ${cfg.dual_clip_c}`, "verl's default is 3");
  return finish(
    input,
    { lo: 1 - cfg.eps_low, hi: 1 + cfg.eps_high, dualC: cfg.dual_clip_c, kl_beta: 0 },
    cfg.aggregation,
    cfg.norm_len,
  );
}

/** GRPO: symmetric clip, optional k3 KL penalty to the reference policy. */
export function grpoLoss(input: PolicyLossInput, cfg: GrpoLossConfig): LossResult {
  if (!(cfg.eps >= 0 && cfg.eps < 1))
    throw new RecapError(`grpo: eps must be in [0, 1), got ${cfg.eps}`, "the usual value is 0.2");
  if (!(cfg.kl_beta >= 0)) throw new RecapError(`grpo: kl_beta must be >= 0, got ${cfg.kl_beta}`);
  return finish(
    input,
    { lo: 1 - cfg.eps, hi: 1 + cfg.eps, dualC: null, kl_beta: cfg.kl_beta },
    cfg.aggregation,
    cfg.norm_len,
  );
}

function expectName<N extends PolicyLossConfig["name"]>(
  cfg: PolicyLossConfig,
  name: N,
): Extract<PolicyLossConfig, { name: N }> {
  if (cfg.name !== name) throw new RecapError(`policy loss "${name}" was given a "${cfg.name}" config`);
  return cfg as Extract<PolicyLossConfig, { name: N }>;
}

export const POLICY_LOSSES = makeRegistry<PolicyLossFn>("policy loss", {
  dapo: (input, cfg) => dapoLoss(input, expectName(cfg, "dapo")),
  grpo: (input, cfg) => grpoLoss(input, expectName(cfg, "grpo")),
});
