// The reproduction study's configuration (`recap study --config FILE`): a demo preset that fixes
// the world, the base, the RL budget and the evaluation, a list of seeds, and named arms — each
// an RL run from the same base (a trainer preset from configs/ plus overrides) repeated over
// every seed and evaluated like the demo's models. Sweeps name arms as points on an x-axis, for
// the plots (Fig. 3 of the paper: alpha, l_pre). Every knob documented where it is defined.
//
// Departure from the paper: each arm is a short run of the demo's budget (quick: 40 steps of 16
// prompt groups x 8 rollouts), and the intervals are over 3 RL seeds (Student-t), not over the
// evaluation sample alone — the spread of training is the larger one at this scale.
import { z } from "zod";
import {
  DEMO_PRESETS,
  DEMO_PRESET_NAMES,
  DemoConfigSchema,
  checkDemoConfig,
  mergeDeep,
  type DemoConfig,
} from "../demo/config.ts";
import { validateConfig } from "../util/config_file.ts";
import { STUDY_METRICS } from "./aggregate.ts";
import { RecapError } from "../util/errors.ts";

/** Trainer presets an arm may start from (files in configs/). */
export const ARM_PRESETS = {
  dapo: "world-dapo.yaml",
  recap: "world-recap.yaml",
  grpo: "world-grpo.yaml",
  "recap-grpo": "world-recap-grpo.yaml",
} as const;

const armSchema = z.strictObject({
  /** The trainer preset: dapo | recap | grpo | recap-grpo (configs/world-*.yaml). */
  preset: z.enum(Object.keys(ARM_PRESETS) as [keyof typeof ARM_PRESETS, ...(keyof typeof ARM_PRESETS)[]]),
  /** Demo rl knobs to change for this arm (alpha, l_pre, group_size, steps, lr, …; see
   *  src/demo/config.ts). The seed is the study's. */
  rl: z.record(z.string(), z.unknown()).default({}),
  /** Any train-config fields (src/train/rl_config.ts), merged last: e.g. `recap: { aligned: true }`
   *  for the aligned-prefill ablation, `objective: { dynamic_sampling: { rule: std_positive } }`. */
  train: z.record(z.string(), z.unknown()).default({}),
  /** One line on what the arm is for (printed in the report). */
  note: z.string().default(""),
  /** The bases (names from `bases`) this arm runs from; default every base. The paper's main
   *  arms run from every base; ablations may take one. */
  bases: z.array(z.string().min(1)).min(1).optional(),
  /** The safety reward: `continuous` (the world guard's P(safe), as the paper's Granite
   *  Guardian) or `binary` (the exact judge's 0 / 1; Table 7's variant). Default: the study's. */
  safety_reward: z.enum(["binary", "continuous"]).optional(),
});

const baseSchema = z.strictObject({
  /** Folder-safe name (runs go to OUT/bases/NAME and OUT/arms/ARM/NAME/seedK). */
  name: z.string().min(1),
  /** Seed of the world build; each base has its own world, guard and reference columns. */
  world_seed: z.number().int().nonnegative(),
  /** `shipped` (the committed base of this world version and seed; trained when there is none)
   *  or `train` (configs/world-base.yaml from scratch, with the world's seed as init seed). */
  base: z.enum(["shipped", "train"]).default("shipped"),
});

const sweepSchema = z.strictObject({
  /** Title of the plot. */
  title: z.string().min(1),
  /** Label of the x-axis (e.g. "alpha"). */
  x_label: z.string().min(1),
  /** The points: an arm and its x value. */
  points: z.array(z.strictObject({ arm: z.string().min(1), x: z.number() })).min(2),
  /** Metrics drawn as lines (keys of the demo summary, e.g. safety_prefill). */
  metrics: z.array(z.string().min(1)).min(1),
});

const tableSchema = z.strictObject({
  /** Heading of the table. */
  title: z.string().min(1),
  /** Columns: arms, `base` (the base model) and `sft` (the SFT baseline), each of those two one run. */
  columns: z.array(z.string().min(1)).min(1),
  /** Rows: summary metric keys (default: every metric of the study tables). */
  metrics: z.array(z.string().min(1)).optional(),
  /** A sentence printed under the heading. */
  note: z.string().default(""),
});

const betaCurveSchema = z.strictObject({
  /** Title of the plot. */
  title: z.string().min(1),
  /** Arms drawn (one line each). */
  arms: z.array(z.string().min(1)).min(1),
  /** The clean reward J_clean and the attacked one J_attack (summary metric keys): the curve is
   *  J(beta) = (1 - beta) J_clean + beta J_attack, Theorem 1's mixture of clean and prefilled starts. */
  clean: z.string().min(1),
  attacked: z.string().min(1),
});

const trainingCurveSchema = z.strictObject({
  /** Title of the plot. */
  title: z.string().min(1),
  /** Arms drawn (one line each: the mean over the arm's runs at each step). */
  arms: z.array(z.string().min(1)).min(1),
  /** A per-step key of the runs' metrics.jsonl: "reward/clean" (the reward of clean prompts, DAPO's
   *  clean metric), "reward/prefilled", "reward/mean", "rollout/gen_tokens", ... */
  metric: z.string().min(1),
  /** Steps in the trailing moving mean drawn (1: the raw steps). Default 5. */
  window: z.number().int().positive().default(5),
});

export const StudyConfigSchema = z.strictObject({
  /** The demo preset whose world, base, RL budget and evaluation every arm shares. Default quick. */
  demo: z.string().default("quick"),
  /** Overrides of that preset's knobs (as `recap demo --config`), shared by every arm. */
  demo_overrides: z.record(z.string(), z.unknown()).default({}),
  /** Base models (each with its own world seed): every arm runs from each of its bases over every
   *  seed, so base-to-base variance is measured beside RL-seed variance. Default: one base, the
   *  demo preset's world seed and base. */
  bases: z.array(baseSchema).min(1).optional(),
  /** The arms' safety reward unless an arm sets its own: binary (exact judge) or continuous
   *  (the world guard, trained per base by configs/world-guard.yaml). Default binary. */
  safety_reward: z.enum(["binary", "continuous"]).default("binary"),
  /** The world guard of each base (when an arm is continuous): `limit` prompt rows per split of
   *  its pairs (default all), `sft` overrides of configs/world-guard.yaml (e.g. steps). */
  guard: z
    .strictObject({
      limit: z.number().int().positive().optional(),
      /** Generation limit of the sampled responses; default the arms' RL limit (rl.max_new_tokens). */
      max_new_tokens: z.number().int().positive().optional(),
      sft: z.record(z.string(), z.unknown()).default({}),
    })
    .prefault({}),
  /** Paired differences [A, B]: A - B per (base, seed), mean and 95% t-interval over the pairs. */
  comparisons: z.array(z.tuple([z.string().min(1), z.string().min(1)])).default([]),
  /** RL seeds: each arm runs once per seed. Default [0, 1, 2] (the 3 seeds). */
  seeds: z.array(z.number().int().nonnegative()).min(1).default([0, 1, 2]),
  /** The arms, in this order at each seed (every arm's seed k before any arm's seed k + 1, so a
   *  study cut short has paired runs across its arms). */
  arms: z.record(z.string(), armSchema),
  /** Plots: arms as points on an x-axis. */
  sweeps: z.array(sweepSchema).default([]),
  /** Tables of chosen arms and metrics (the paper's tables); default one table of every arm. */
  tables: z.array(tableSchema).default([]),
  /** Plots: J(beta) per arm, computed per seed, then aggregated over seeds. */
  beta_curves: z.array(betaCurveSchema).default([]),
  /** Plots and tables of training metrics over the RL steps (has the budget levelled off?). */
  training_curves: z.array(trainingCurveSchema).default([]),
});

export type StudyConfig = z.infer<typeof StudyConfigSchema>;
export type StudyArm = z.infer<typeof armSchema>;
export type StudyBase = z.infer<typeof baseSchema>;

/** The study's bases: the configured ones, or the demo preset's one. */
export function studyBases(s: StudyConfig): StudyBase[] {
  if (s.bases) return s.bases;
  const demo = studyDemoConfig(s);
  return [
    { name: `s${demo.world_seed}`, world_seed: demo.world_seed, base: demo.base === "train" ? "train" : "shipped" },
  ];
}

/** The bases an arm runs from. */
export function armBases(s: StudyConfig, arm: StudyArm): StudyBase[] {
  const all = studyBases(s);
  return arm.bases ? all.filter((b) => arm.bases!.includes(b.name)) : all;
}

/** The shared demo config of one base: the study's, with the base's world seed and base. */
export function baseDemoConfig(demo: DemoConfig, b: StudyBase): DemoConfig {
  return validateConfig(
    mergeDeep(demo, { world_seed: b.world_seed, base: b.base }),
    DemoConfigSchema,
    `study base ${b.name}`,
  );
}

/** The demo config every arm shares: the preset with the study's overrides. */
export function studyDemoConfig(s: StudyConfig): DemoConfig {
  const base = DEMO_PRESETS[s.demo];
  if (base === undefined)
    throw new RecapError(`study config: unknown demo preset "${s.demo}"`, `presets: ${DEMO_PRESET_NAMES.join(", ")}`);
  return checkDemoConfig(validateConfig(mergeDeep(base, s.demo_overrides), DemoConfigSchema, "study demo_overrides"));
}

/** Cross-field checks, with the fix named: arm knobs that exist, sweeps over known arms. */
export function checkStudyConfig(s: StudyConfig): StudyConfig {
  const demo = studyDemoConfig(s);
  if (Object.keys(s.arms).length === 0)
    throw new RecapError("study config: no arms", "add at least one arm, e.g. `arms: { recap: { preset: recap } }`");
  if (new Set(s.seeds).size !== s.seeds.length)
    throw new RecapError(`study config: seeds repeat (${s.seeds.join(", ")})`, "list each seed once");
  for (const [name, arm] of Object.entries(s.arms)) {
    if (name === "base" || name === "sft")
      throw new RecapError(
        `study config: an arm is named "${name}"`,
        "base and sft name the shared reference models; choose another name",
      );
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(name))
      throw new RecapError(
        `study config: arm name "${name}" is not a folder-safe name`,
        "arm names: lower-case letters, digits, _ . - (it names the arm's folder)",
      );
    if ("seed" in arm.rl)
      throw new RecapError(
        `study config: arms.${name}.rl.seed is set`,
        "seeds come from the study's `seeds` list; remove it",
      );
    validateConfig(mergeDeep(demo, { rl: arm.rl }), DemoConfigSchema, `study arm ${name} (rl)`);
  }
  const bases = studyBases(s).map((b) => b.name);
  for (const b of bases) {
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(b))
      throw new RecapError(
        `study config: base name "${b}" is not a folder-safe name`,
        "base names: lower-case letters, digits, _ . -",
      );
  }
  if (new Set(bases).size !== bases.length)
    throw new RecapError(`study config: base names repeat (${bases.join(", ")})`, "name each base once");
  for (const [name, arm] of Object.entries(s.arms)) {
    const bad = (arm.bases ?? []).filter((b) => !bases.includes(b));
    if (bad.length > 0)
      throw new RecapError(
        `study config: arms.${name}.bases names unknown bases ${bad.join(", ")}`,
        `bases: ${bases.join(", ")}`,
      );
  }
  const arms = (where: string, names: readonly string[], also: readonly string[] = []) => {
    const unknown = names.filter((n) => !also.includes(n) && !(n in s.arms));
    if (unknown.length > 0)
      throw new RecapError(
        `study config: ${where} names unknown arms ${unknown.join(", ")}`,
        `${also.length ? "columns" : "arms"}: ${[...also, ...Object.keys(s.arms)].join(", ")}`,
      );
  };
  for (const [a, b] of s.comparisons) arms(`comparison ${a} - ${b}`, [a, b]);
  for (const sw of s.sweeps)
    arms(
      `sweep "${sw.title}"`,
      sw.points.map((p) => p.arm),
    );
  for (const t of s.tables) {
    arms(`table "${t.title}"`, t.columns, ["base", "sft"]);
    const known = new Set(STUDY_METRICS.map(([k]) => k));
    const bad = (t.metrics ?? []).filter((m) => !known.has(m));
    if (bad.length > 0)
      throw new RecapError(
        `study config: table "${t.title}" names unknown metrics ${bad.join(", ")}`,
        `metrics: ${[...known].join(", ")}`,
      );
  }
  for (const t of s.training_curves) arms(`training curve "${t.title}"`, t.arms);
  for (const b of s.beta_curves) arms(`beta curve "${b.title}"`, b.arms);
  return s;
}

/** The arm's demo config for one seed (its rl knobs over the shared demo config). */
export function armDemoConfig(demo: DemoConfig, arm: StudyArm, seed: number): DemoConfig {
  return validateConfig(mergeDeep(demo, { rl: { ...arm.rl, seed } }), DemoConfigSchema, "study arm");
}
