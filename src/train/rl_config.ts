// The RL trainer's config (`recap train --config FILE`): DAPO / GRPO with or without RECAP
// prefills. Every knob documented where it is defined (meaning, default, paper value). The
// objective's own knobs (advantage, loss, dynamic sampling, overlong shaping) live in
// src/rl/config.ts and the prefill mixture's in src/recap/config.ts; this file embeds both.
import { z } from "zod";
import { objectiveConfigSchema } from "../rl/config.ts";
import { recapDataConfigSchema } from "../recap/config.ts";
import { curriculumConfigSchema } from "./curriculum.ts";

export const PREFILL_STYLES = ["weak", "strong", "mixed"] as const;

export const TrainConfigSchema = z
  .strictObject({
    /** World folder built by `recap world build` (its rl/prompts.jsonl is the training mixture).
     *  Relative paths are resolved against the config file. */
    world: z.string().min(1),
    /** Seed of the world, used only to build `world` when that folder is missing and to pick
     *  the shipped base (`base: shipped`). Absent = 1 (absent keeps older runs' fingerprints). */
    world_seed: z.number().int().nonnegative().optional(),
    /** Checkpoint of the policy to start from (the base reasoning model), or `shipped`: the
     *  committed base of the current world version and `world_seed` (models/), used only when it
     *  was trained on exactly this world's base corpus (`recap train` checks). */
    base: z.string().min(1),
    /** RECAP prefills on (the method) or off (plain DAPO/GRPO on clean prompts). Default true. */
    recap_enabled: z.boolean().default(true),
    /** The prefill mixture: alpha, l_pre, unit, aligned ablation (see src/recap/config.ts). */
    recap: recapDataConfigSchema.prefault({}),
    /** Adaptive prefill curriculum: alpha and l_pre follow the recovery rate of prefilled
     *  rollouts (src/train/curriculum.ts documents the rule and its knobs). Not in the paper,
     *  which fixes both. Absent = off (the fixed mixture above). */
    curriculum: curriculumConfigSchema.optional(),
    /** Which counter-aligned style of the world's rule-based pi_harm / pi_refuse to prefill:
     *  weak, strong, or mixed (each prompt draws one, seeded). Default mixed. */
    prefill_style: z.enum(PREFILL_STYLES).default("mixed"),
    /** Optional model sources instead of the rule-based ones: checkpoints of a helpful-only
     *  pi_harm and an over-cautious pi_refuse (the paper samples its prefills from models). */
    pi_harm_model: z.string().optional(),
    pi_refuse_model: z.string().optional(),
    /** How the world judge's score becomes the reward: `rubric` (safety and math 0 / 1,
     *  helpfulness 0 / 0.5 / 1: the paper's rubric) or `binary` (helpfulness rewarded only for a
     *  full answer). Absent = rubric (left absent so that runs made before the knob existed keep
     *  their fingerprints). Table 7's binary-reward variant in our world, where the safety reward
     *  is binary either way (an exact judge, no reward model to threshold). */
    reward: z.enum(["rubric", "binary"]).optional(),
    /** A world guard checkpoint (configs/world-guard.yaml; relative to this file): the safety
     *  reward of a harmful request's well-formed rollout becomes the guard's P(safe) = 1 - P(yes),
     *  a continuous score as the paper's Granite Guardian reward (Sec. 4.1). Absent = the exact
     *  judge's 0 / 1 (binary; the paper's Table 7 variant thresholds the guard instead). */
    guard_model: z.string().min(1).optional(),
    /** The objective: advantage estimator, policy loss (dapo | grpo), dynamic sampling, overlong. */
    objective: objectiveConfigSchema.prefault({}),
    /** Optimiser steps (each: rollouts for prompts_per_step kept groups, then updates). */
    steps: z.number().int().positive(),
    /** Prompt groups per step after dynamic sampling. Default 16 (paper: 5k prompts, batch not stated here). */
    prompts_per_step: z.number().int().positive().default(16),
    /** Rollouts per prompt G. Default 8 (paper: 16). */
    group_size: z.number().int().min(2).default(8),
    /** Generation limit per rollout. Size it from the longest reflecting trace with margin, and
     *  so that overlong shaping (which starts buffer_len tokens before it) never reaches a whole
     *  re-checked trace (world v6: the base corpus's longest re-checked answer is 301 tokens →
     *  default 352, penalty from 328 with the presets' buffer of 24); the context
     *  bounds it further per row. */
    max_new_tokens: z.number().int().positive().default(352),
    /** Sampling temperature / nucleus of rollouts. Defaults 1 / 1 (DAPO). */
    temperature: z.number().positive().default(1),
    top_p: z.number().gt(0).max(1).default(1),
    /** Passes over each rollout batch (PPO epochs). Default 1 (fully on-policy). */
    updates_per_batch: z.number().int().positive().default(1),
    /** Prompt groups per minibatch update; 0 = the whole batch in one update. Default 0. */
    minibatch_groups: z.number().int().min(0).default(0),
    /** Rollouts per micro-batch: a minibatch's rollouts, longest first, are computed in
     *  micro-batches of at most this many rows whose gradients accumulate into one step, each cut
     *  to its own longest row. Bounds memory (activations grow with rows x width, attention's
     *  with rows x width^2) whatever the group size: 16 keeps a G = 16 step of the demo under
     *  1 GiB (bench/rl_step.ts; 32 takes 1.3 GiB). Default 16 (verl: ppo_micro_batch_size_per_gpu). */
    micro_batch_rows: z.number().int().positive().default(16),
    /** Replaced by micro_batch_rows (rows = groups x group_size); kept only to say so. */
    micro_batch_groups: z.unknown().optional(),
    /** AdamW learning rate (constant after warm-up). Default 5e-5 (prototype: 5e-5; paper: 1e-6 on 8B models). */
    lr: z.number().positive().default(5e-5),
    warmup_steps: z.number().int().min(0).default(0),
    weight_decay: z.number().min(0).default(0),
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.95),
    grad_clip: z.number().min(0).default(1.0),
    /** Seed of prompt order, prefill selection and rollouts. Default 0. */
    seed: z.number().int().nonnegative().default(0),
    /** Save a resumable checkpoint every N steps (and at the end). Default 10. */
    save_every: z.number().int().positive().default(10),
    /** Kernel implementation (default: RECAP_KERNELS or the fastest available). */
    kernels: z.string().optional(),
  })
  .superRefine((c, ctx) => {
    if (!c.pi_harm_model !== !c.pi_refuse_model)
      ctx.addIssue({
        code: "custom",
        path: ["pi_refuse_model"],
        message: "set both pi_harm_model and pi_refuse_model, or neither (rule-based sources)",
      });
    if (c.objective.overlong.buffer_len >= c.max_new_tokens)
      ctx.addIssue({
        code: "custom",
        path: ["objective", "overlong", "buffer_len"],
        message: `buffer_len ${c.objective.overlong.buffer_len} must be below max_new_tokens ${c.max_new_tokens}`,
      });
    if (c.micro_batch_groups !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["micro_batch_groups"],
        message: `micro_batch_groups is replaced by micro_batch_rows (rollouts per micro-batch): set micro_batch_rows: ${typeof c.micro_batch_groups === "number" ? c.micro_batch_groups * c.group_size : "groups x group_size"} instead`,
      });
    if (c.minibatch_groups > c.prompts_per_step)
      ctx.addIssue({
        code: "custom",
        path: ["minibatch_groups"],
        message: `minibatch_groups ${c.minibatch_groups} exceeds prompts_per_step ${c.prompts_per_step}`,
      });
    for (const [p, message] of curriculumIssues(c)) ctx.addIssue({ code: "custom", path: p, message });
  });

/** The curriculum's checks against the rest of the config (its own are in its schema). */
function curriculumIssues(c: TrainConfig): [string[], string][] {
  const cur = c.curriculum;
  if (!cur) return [];
  const out: [string[], string][] = [];
  const issue = (p: string[], message: string) => out.push([p, message]);
  if (!c.recap_enabled)
    issue(["curriculum"], "the curriculum schedules RECAP prefills: set recap_enabled: true, or remove curriculum");
  if (c.recap.aligned)
    issue(
      ["curriculum"],
      "the curriculum is driven by recovery from counter-aligned prefills; aligned prefills have nothing to recover from: set recap.aligned: false, or remove curriculum",
    );
  if (c.recap.math_alpha !== 0)
    issue(
      ["recap", "math_alpha"],
      "the curriculum schedules only the safety / over-refusal prefills, and fixed-rate math prefills would mix into the recovery rate it is driven by: set recap.math_alpha to 0 with curriculum",
    );
  if (c.recap.alpha < cur.alpha_min || c.recap.alpha > cur.alpha_max)
    issue(
      ["recap", "alpha"],
      `the curriculum starts at recap.alpha ${c.recap.alpha}, outside [alpha_min ${cur.alpha_min}, alpha_max ${cur.alpha_max}]: move recap.alpha into the range or widen it`,
    );
  return out;
}

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
