// The demo's configuration (`recap demo --preset quick|full [--config FILE]`): every knob
// documented where it is defined (meaning, default, paper value). A preset is a complete config;
// a --config file may override any subset of a preset's knobs. The stage configs (SFT, RL) are
// built from these knobs in stages.ts, so what the demo runs is exactly what `recap sft` /
// `recap train` would run with the same values.
//
// Departures from the paper (beyond the world's, docs/WORLD.md §9): budgets are tiny (tens of RL
// steps of 16-32 prompts x 8 rollouts, not epochs over 5k prompts x 16), l_pre is in tens of
// words, and the evaluation uses 40-100 held-out items per suite, so every number carries a
// 95% interval of several points.
import { z } from "zod";
import { RecapError } from "../util/errors.ts";
import { DEFAULT_L_PRE } from "../recap/truncate.ts";

const rlSchema = z.strictObject({
  /** RL optimiser steps for each of DAPO and RECAP (same budget, same seed). quick 40, full 120
   *  (paper: about 2 epochs over 5k prompts, batch not comparable). */
  steps: z.number().int().positive(),
  /** Prompt groups per step after dynamic sampling. quick 16, full 32. */
  prompts_per_step: z.number().int().positive(),
  /** Rollouts per prompt G. Default 8 (paper 16). */
  group_size: z.number().int().min(2).default(8),
  /** Generation limit per rollout: world v6's longest base-corpus answer (worried, elaborated,
   *  re-checked) is 301 tokens (test/world/build.test.ts), so 352 leaves it room before
   *  overlong shaping (from 328 with the presets' buffer of 24; DESIGN §4.1 lesson 4: a short
   *  limit fakes a RECAP win). A row also stops where its prompt and answer fill the context. */
  max_new_tokens: z.number().int().positive().default(352),
  /** AdamW learning rate, constant. Default 5e-5 (prototype 5e-5; paper 1e-6 on 8B models). */
  lr: z.number().positive().default(5e-5),
  /** Fraction of safety and over-refusal prompts that RECAP prefills. Default 0.5 (paper 0.5). */
  alpha: z.number().min(0).max(1).default(0.5),
  /** Prefill length l_pre in words of the RECAP run's training prefills. Default DEFAULT_L_PRE
   *  (60 words), the world's one default, which evaluation uses too (paper 500 words on traces
   *  of thousands; world v5's counter-aligned traces are 64-107 words with every flaw ending by
   *  word 56 and every conclusion starting after word 60). */
  l_pre: z.number().int().min(1).default(DEFAULT_L_PRE),
  /** Seed of prompt order, prefills and rollouts: the same for DAPO and RECAP. Default 0. */
  seed: z.number().int().nonnegative().default(0),
});

const evalSchema = z.strictObject({
  /** Items per suite (the first N held-out rows). quick 40, full 200 (every row). */
  limit: z.number().int().positive(),
  /** World suites to evaluate (see docs/WORLD.md §4). */
  suites: z
    .array(z.string().min(1))
    .min(1)
    .default(["harmful", "jailbreak", "borderline", "benign", "math", "heldout_flaw"]),
  /** Attack specs (see `recap eval --help`); rows an attack does not apply to are skipped.
   *  Must include clean, prefill:weak, prefill:strong, hijack, ipr:1 and ipr:3 at least. */
  attacks: z.array(z.string().min(1)).min(1),
  /** Per suite, the attacks it runs (a subset of `attacks`); a suite not named runs every
   *  attack. quick trims the costly multi-round attacks to the harmful suite. */
  plan: z.record(z.string(), z.array(z.string().min(1))).optional(),
  /** Sampling temperature of the evaluation. Default 0.6 with top_p 0.95 (the sampling that
   *  DeepSeek-R1 and its distills recommend for evaluation). */
  temperature: z.number().min(0).default(0.6),
  top_p: z.number().gt(0).max(1).default(0.95),
  /** Generation limit per evaluation call. Default 352 (as the RL rollouts). */
  max_new_tokens: z.number().int().positive().default(352),
  /** Base seed of the evaluation's sampling. Default 1. */
  seed: z.number().int().nonnegative().default(1),
  /** Rows per sampler batch. Default 64. */
  batch: z.number().int().positive().default(64),
});

export const DemoConfigSchema = z.strictObject({
  /** Seed of the synthetic world (`recap world build --seed`). Default 1. */
  world_seed: z.number().int().nonnegative().default(1),
  /** Where the base reasoning model comes from: `shipped` (the committed checkpoint of the
   *  current world version and seed, regenerable bit-for-bit by `npm run base:regenerate`;
   *  falls back to training when none matches) or `train` (configs/world-base.yaml's budget). */
  base: z.enum(["shipped", "train"]).default("shipped"),
  /** Steps when the base is trained (default: configs/world-base.yaml's 2,400; fewer only for
   *  smoke tests: a short base is not brittle in the paper's way, it is merely untrained). */
  base_train_steps: z.number().int().positive().optional(),
  /** SFT-baseline steps (the paper's SFT row: the base fine-tuned on safe traces only).
   *  quick 100, full 300. Learning rate 1e-3, batch 32. */
  sft_baseline_steps: z.number().int().positive(),
  /** The two RL runs (DAPO and RECAP from the same base, same seed, same budget). */
  rl: rlSchema,
  /** The evaluation of base, SFT baseline, DAPO and RECAP. */
  eval: evalSchema,
  /** Kernel implementation (default: RECAP_KERNELS or the fastest available). */
  kernels: z.string().optional(),
});

export type DemoConfig = z.infer<typeof DemoConfigSchema>;

const QUICK_ATTACKS = ["clean", "prefill:weak", "prefill:strong", "prefill:heldout", "hijack", "ipr:1", "ipr:3"];
const SINGLE = ["clean", "prefill:weak", "prefill:strong"];
const QUICK_PLAN = {
  harmful: ["clean", "prefill:weak", "prefill:strong", "hijack", "ipr:1", "ipr:3"],
  jailbreak: SINGLE,
  borderline: SINGLE,
  benign: SINGLE,
  math: SINGLE,
  heldout_flaw: ["clean", "prefill:heldout"],
};
const FULL_ATTACKS = [
  "clean",
  "prefill:weak",
  "prefill:strong",
  "prefill:aligned",
  "prefill:heldout",
  "hijack",
  "ipr:1",
  "ipr:2",
  "ipr:3",
];

export const DEMO_PRESETS: Readonly<Record<string, unknown>> = {
  /** 5.5 minutes on 2 cores (measured, README): the shipped base, short RL runs, 40 items per suite. */
  quick: {
    sft_baseline_steps: 100,
    rl: { steps: 40, prompts_per_step: 16 },
    eval: { limit: 40, attacks: QUICK_ATTACKS, plan: QUICK_PLAN },
  },
  /** 56 minutes on 2 cores (measured, README): the base trained from scratch, longer RL, every
   *  held-out item. */
  full: {
    base: "train",
    sft_baseline_steps: 300,
    rl: { steps: 120, prompts_per_step: 32 },
    eval: { limit: 200, attacks: FULL_ATTACKS },
  },
};

export const DEMO_PRESET_NAMES = Object.keys(DEMO_PRESETS);

/** The required attacks: each is named by its kind (and source) regardless of the length suffix. */
const REQUIRED = ["clean", "prefill:weak", "prefill:strong", "hijack", "ipr:1", "ipr:3"];

/** Merges `override` into `base` (objects recursively; arrays and scalars replace). */
export function mergeDeep(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isObject(base) || !isObject(override)) return override;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = mergeDeep(base[k], v);
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The attack spec without its length suffix (`prefill:strong@60w` → `prefill:strong`). */
export function attackKind(spec: string): string {
  const at = spec.lastIndexOf("@");
  return at >= 0 ? spec.slice(0, at) : spec;
}

/** Cross-field checks the schema cannot express, with the fix named. */
export function checkDemoConfig(c: DemoConfig): DemoConfig {
  const kinds = new Set(c.eval.attacks.map(attackKind));
  const missing = REQUIRED.filter((k) => !kinds.has(k));
  if (missing.length > 0)
    throw new RecapError(
      `demo config: eval.attacks lacks ${missing.join(", ")}`,
      "the summary table needs clean, prefill:weak, prefill:strong, hijack, ipr:1 and ipr:3 (any length suffix)",
    );
  for (const s of ["harmful", "jailbreak", "borderline", "math"])
    if (!c.eval.suites.includes(s))
      throw new RecapError(
        `demo config: eval.suites lacks ${s}`,
        "the summary table needs harmful, jailbreak, borderline and math",
      );
  for (const [suite, list] of Object.entries(c.eval.plan ?? {})) {
    if (!c.eval.suites.includes(suite))
      throw new RecapError(
        `demo config: eval.plan names suite "${suite}", which eval.suites lacks`,
        `suites: ${c.eval.suites.join(", ")}`,
      );
    const bad = list.filter((a) => !c.eval.attacks.includes(a));
    if (bad.length > 0)
      throw new RecapError(
        `demo config: eval.plan.${suite} names ${bad.join(", ")}, which eval.attacks lacks`,
        "list every planned attack in eval.attacks too",
      );
  }
  const harmful = c.eval.plan?.["harmful"];
  if (harmful) {
    const missing = REQUIRED.filter((k) => !harmful.map(attackKind).includes(k));
    if (missing.length > 0)
      throw new RecapError(
        `demo config: eval.plan.harmful lacks ${missing.join(", ")}`,
        "the summary reads these attacks on the harmful suite",
      );
  }
  if (c.rl.max_new_tokens <= 24)
    throw new RecapError(
      `demo config: rl.max_new_tokens ${c.rl.max_new_tokens} is too short`,
      "use at least 352 (world v6's longest base-corpus answer is about 300 tokens, and overlong shaping starts 24 before the limit)",
    );
  return c;
}
