// The objective's configuration as zod schemas: advantage estimator, policy loss, dynamic
// sampling and overlong shaping, every knob documented where it is defined (meaning, default,
// paper value). The trainer's config embeds `objectiveConfigSchema`; bad values fail at parse
// time with a RecapError naming the field and the fix (parseWithSchema, src/util/config_file.ts).
import { z } from "zod";
import { ADVANTAGE_ESTIMATORS } from "./advantages.ts";
import { AGG_MODES } from "./aggregate.ts";
import { SAMPLING_RULES } from "./dynamic_sampling.ts";
import type { Registry } from "./registry.ts";
import { parseWithSchema } from "../util/config_file.ts";

/** A string that must name an entry of `reg` (the message lists the valid names). */
function registeredName<F>(reg: Registry<F>, fallback: string) {
  return z
    .string()
    .default(fallback)
    .refine((n) => reg.has(n), {
      error: (iss) => `unknown ${reg.kind} "${String(iss.input)}": valid names are ${reg.names.join(", ")}`,
    });
}

export const advantageConfigSchema = z.strictObject({
  /** Estimator name: group_norm (GRPO/DAPO; the paper's) or dr_grpo (no std). Default group_norm. */
  estimator: registeredName(ADVANTAGE_ESTIMATORS, "group_norm"),
  /** Added to the group's sample std before dividing. Default 1e-6 (verl; TRL uses 1e-4). */
  eps: z.number().positive().default(1e-6),
});

const aggregation = z.enum(AGG_MODES);
/** Constant divisor of seq-mean-token-sum-norm (Dr.GRPO's MAX_TOKENS, e.g. max_new_tokens). No default. */
const norm_len = z.number().int().positive().optional();

const dapoSchema = z.strictObject({
  name: z.literal("dapo"),
  /** Lower clip: the ratio is clipped below at 1 - eps_low. Default 0.2 (DAPO, RECAP paper). */
  eps_low: z.number().min(0).lt(1).default(0.2),
  /** Upper clip ("clip-higher"): clipped above at 1 + eps_high. Default 0.28 (DAPO, RECAP paper). */
  eps_high: z.number().min(0).default(0.28),
  /** Dual-clip constant c > 1 bounding the loss of negative-advantage tokens, or null (off). Default null (not in DAPO; verl uses 3). */
  dual_clip_c: z.number().gt(1).nullable().default(null),
  /** Loss aggregation. Default token-mean (DAPO: all optimised tokens of the batch weigh the same). */
  aggregation: aggregation.default("token-mean"),
  norm_len,
});

const grpoSchema = z.strictObject({
  name: z.literal("grpo"),
  /** Symmetric clip: the ratio is kept in [1 - eps, 1 + eps]. Default 0.2 (GRPO / PPO). */
  eps: z.number().min(0).lt(1).default(0.2),
  /** Weight of the k3 KL penalty to the reference policy; 0 = off. Default 0 (DeepSeekMath's GRPO: 0.04). */
  kl_beta: z.number().min(0).default(0),
  /** Loss aggregation. Default seq-mean-token-mean (GRPO: each sequence weighs the same). */
  aggregation: aggregation.default("seq-mean-token-mean"),
  norm_len,
});

export const policyLossConfigSchema = z
  .discriminatedUnion("name", [dapoSchema, grpoSchema], {
    error: (iss) =>
      `unknown policy loss ${JSON.stringify((iss.input as { name?: unknown } | undefined)?.name)}: valid names are dapo, grpo`,
  })
  .superRefine((c, ctx) => {
    if (c.name === "dapo" && c.eps_high < c.eps_low)
      ctx.addIssue({
        code: "custom",
        path: ["eps_high"],
        message: `eps_high ${c.eps_high} is below eps_low ${c.eps_low}: clip-higher needs eps_high >= eps_low (paper: 0.28 and 0.2)`,
      });
    if (c.aggregation === "seq-mean-token-sum-norm" && c.norm_len === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["norm_len"],
        message: "aggregation seq-mean-token-sum-norm needs norm_len: set it to max_new_tokens (a constant)",
      });
  });

export const dynamicSamplingConfigSchema = z
  .strictObject({
    /** Rule name: recap (the paper's), std_positive (verl), range (OpenRLHF), none. Default recap. */
    rule: registeredName(SAMPLING_RULES, "recap"),
    /** recap: a group whose rewards are all > tau is dropped as uniformly good. Default 0.9 (our choice: the paper does not state tau). */
    tau: z.number().default(0.9),
    /** range: keep iff range_low < mean reward < range_high. Defaults 0 and 1 (OpenRLHF). */
    range_low: z.number().default(0),
    range_high: z.number().default(1),
    /** Generation rounds allowed to fill one batch with kept groups. Default 4 (our choice; verl's DAPO recipe: max_num_gen_batches 10). */
    max_rounds: z.number().int().min(1).default(4),
  })
  .superRefine((c, ctx) => {
    if (!(c.range_low < c.range_high))
      ctx.addIssue({
        code: "custom",
        path: ["range_high"],
        message: `range_high ${c.range_high} must be above range_low ${c.range_low}`,
      });
  });

export const overlongConfigSchema = z.strictObject({
  /** L_cache: tokens below max_new_tokens where the soft length penalty ramps from 0 to -1; 0 = off. Default 0 (DAPO: 4096 of a 20480 limit). */
  buffer_len: z.number().int().min(0).default(0),
  /** Scale of the penalty. Default 1 (DAPO; verl's penalty_factor). */
  factor: z.number().min(0).default(1),
});

export const objectiveConfigSchema = z.strictObject({
  advantage: advantageConfigSchema.prefault({}),
  loss: policyLossConfigSchema.prefault({ name: "dapo" }),
  dynamic_sampling: dynamicSamplingConfigSchema.prefault({}),
  overlong: overlongConfigSchema.prefault({}),
});

export type ObjectiveConfig = z.infer<typeof objectiveConfigSchema>;
export type ObjectiveConfigInput = z.input<typeof objectiveConfigSchema>;

export function parseObjectiveConfig(raw: unknown): ObjectiveConfig {
  return parseWithSchema(objectiveConfigSchema, raw, "objective config");
}
