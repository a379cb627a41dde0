// `recap data build` configuration (YAML or JSON): where the prompts come from, which endpoints
// write the counter-aligned prefills, how they are cut and mixed, how the policy's prompts are
// rendered, and which exports to write. Every knob: meaning, default, paper value. Cross-field
// checks run after parsing and fail with a message naming the field and the fix.
import * as path from "node:path";
import { z } from "zod";
import { BENCHMARK_LOADERS } from "../../eval/loaders/index.ts";
import { endpointFields } from "../../reward/config.ts";

export const PROMPT_KINDS = ["harmful", "over_refusal", "math"] as const;
export type PromptKind = (typeof PROMPT_KINDS)[number];

/** The reward route (and exported `datasource`) of each kind of prompt. */
export const ROUTE_OF_KIND: Readonly<Record<PromptKind, string>> = {
  harmful: "safety",
  over_refusal: "over_refusal",
  math: "math",
};

/** DeepSeek-R1's recommended instruction for math prompts (the math verifier reads \boxed{}). */
export const MATH_SUFFIX = "\nPlease reason step by step, and put your final answer within \\boxed{}.";

export const PromptSetSchema = z.strictObject({
  /** A short name for the set (ids are `<name>/<row id>`; recorded in every row). Required. */
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, "use letters, digits, _ . - only"),
  /** harmful (gets pi_harm prefills; reward route `safety`), over_refusal (benign prompts that
   *  look harmful; pi_refuse prefills; route `over_refusal`) or math (never prefilled; route `math`). */
  kind: z.enum(PROMPT_KINDS),
  /** The prompt file (JSONL / JSON / CSV / TSV, .gz too). Required. */
  file: z.string().min(1),
  /** Its loader: one of the benchmark loaders (beavertails, star1, xstest, gsm8k, math500, ...),
   *  or "prompts" (any file with `id` and `prompt`; math rows need `answer` or `gold`). Default prompts.
   *  xstest keeps by kind: over_refusal its `label == safe` rows (the 250 safe prompts), harmful its
   *  `label == unsafe` rows (the 200 contrast prompts). */
  format: z
    .string()
    .default("prompts")
    .refine((f) => f in BENCHMARK_LOADERS, {
      error: (iss) => `unknown format "${String(iss.input)}": use one of ${Object.keys(BENCHMARK_LOADERS).join(", ")}`,
    }),
  /** Use only the first N rows (after the loader and the xstest label filter). Default: all. The paper: 1k harmful
   *  (BeaverTails), 1k over-refusal (STAR-1), 3k math (GSM8K, MATH). */
  limit: z.number().int().positive().optional(),
  /** Text appended to every prompt of the set. Default: MATH_SUFFIX for math, "" otherwise. */
  suffix: z.string().optional(),
});
export type PromptSet = z.infer<typeof PromptSetSchema>;

/** An endpoint that writes prefills: connection + sampling. */
export const SourceEndpointSchema = z.strictObject({
  ...endpointFields,
  /** Extra variables for `chat_template` (api completions), e.g. {enable_thinking: true}. */
  template_extra: z.record(z.string(), z.unknown()).optional(),
  /** Thinking tokens to sample at most (enough to reach l_pre words). Default 2048. */
  max_tokens: z.number().int().positive().default(2048),
  /** Sampling temperature. Default 0.6 (DeepSeek-R1's recommended setting). */
  temperature: z.number().min(0).max(2).default(0.6),
  /** Nucleus mass. Default 0.95 (DeepSeek-R1's recommended setting). */
  top_p: z.number().gt(0).max(1).default(0.95),
});
export type SourceEndpoint = z.infer<typeof SourceEndpointSchema>;

export const DataBuildConfigSchema = z
  .strictObject({
    /** Seeds the mixture (which prompts get a prefill) and every sample's seed. Default 1. */
    seed: z.number().int().min(0).default(1),
    prompts: z.array(PromptSetSchema).min(1),
    policy: z.strictObject({
      /** The POLICY's chat template: the model folder (HF layout: chat_template.jinja or a template in
       *  tokenizer_config.json), its tokenizer_config.json, or a .jinja file. Special tokens
       *  (bos_token, eos_token) come from the tokenizer_config.json beside the template; a .jinja
       *  without one renders them empty. Required. */
      chat_template: z.string().min(1),
      /** Template name when the model has several (a list in tokenizer_config.json, or
       *  additional_chat_templates/NAME.jinja in the folder). Default "default". */
      template_name: z.string().default("default"),
      /** Extra template variables, e.g. {enable_thinking: true} for Qwen3. */
      template_extra: z.record(z.string(), z.unknown()).optional(),
      /** An optional system message before every prompt. Default: none (DeepSeek-R1 recommends none). */
      system: z.string().optional(),
      /** The policy's tokenizer.json (a file or its folder); needed for unit "tokens" and for
       *  max_prompt_tokens. When given, summary.json reports prompt lengths in its tokens. */
      tokenizer: z.string().optional(),
    }),
    recap: z
      .strictObject({
        /** Fraction of the harmful + over-refusal prompts that get a prefill (exactly
         *  round(alpha * eligible)); math never does. Default 0.5 (the paper's default). */
        alpha: z.number().min(0).max(1).default(0.5),
        /** Prefill length in `unit`s. Default 500 (the paper's default, in words; Table 10 sweeps 100-700). */
        l_pre: z.number().int().min(1).default(500),
        /** "words" (the paper's unit) or "tokens" (the policy's tokenizer; needs policy.tokenizer). Default words.
         *  A word is a whitespace-separated run; runs of CJK / Thai-like scripts are split into words by
         *  Intl.Segmenter (src/recap/truncate.ts). */
        unit: z.enum(["words", "tokens"]).default("words"),
      })
      .default({ alpha: 0.5, l_pre: 500, unit: "words" }),
    endpoints: z
      .strictObject({
        /** Writes unsafe reasoning for harmful prompts (the paper: a helpful-only DSQwen-7B). */
        pi_harm: SourceEndpointSchema.optional(),
        /** Writes refusal reasoning for benign prompts (the paper: DSQwen-7B fine-tuned on STAR-1). */
        pi_refuse: SourceEndpointSchema.optional(),
      })
      .default({}),
    /** The longest rendered prompt, in the policy's tokens (needs policy.tokenizer), that the engine
     *  takes: verl's data.max_prompt_length, or OpenRLHF's --max_len minus --max_new_tokens. verl
     *  never cuts a prefilled prompt (a longer one breaks its batch) and OpenRLHF cuts it from the
     *  left, so longer rows are refused or dropped (long_prompts). Default: no limit. */
    max_prompt_tokens: z.number().int().positive().optional(),
    /** What to do with rows over max_prompt_tokens: "refuse" (stop with an error naming the longest
     *  row) or "drop" (leave them out of every export; summary.json counts them). Dropping prefilled
     *  rows lowers the realised alpha below recap.alpha. Default refuse. */
    long_prompts: z.enum(["refuse", "drop"]).default("refuse"),
    /** Where sampled prefills are cached (one JSONL line per sample, flushed as it arrives, so a
     *  rerun after a crash samples only what is missing). Default <out>/cache. */
    cache_dir: z.string().optional(),
    export: z
      .strictObject({
        /** Which exports to write: openrlhf (JSONL), trl (JSONL), verl (parquet). Default all three. */
        formats: z
          .array(z.enum(["openrlhf", "trl", "verl"]))
          .min(1)
          .default(["openrlhf", "trl", "verl"]),
        /** OpenRLHF's --input_key: the field holding the rendered prompt. Default "prompt". */
        input_key: z.string().min(1).default("prompt"),
        /** OpenRLHF's --label_key: the field holding the JSON label. Default "label". */
        label_key: z.string().min(1).default("label"),
        /** Drop the template's leading BOS text from TRL prompts (TRL tokenizes string prompts with
         *  the tokenizer's own special tokens, which would add a second BOS). "auto": when the
         *  policy's tokenizer_config.json (the one beside the template) says add_bos_token. Default auto. */
        trl_strip_bos: z.union([z.literal("auto"), z.boolean()]).default("auto"),
      })
      .default({
        formats: ["openrlhf", "trl", "verl"],
        input_key: "prompt",
        label_key: "label",
        trl_strip_bos: "auto",
      }),
  })
  .superRefine((c, ctx) => {
    const names = new Set<string>();
    c.prompts.forEach((p, i) => {
      if (names.has(p.name))
        ctx.addIssue({
          code: "custom",
          path: ["prompts", i, "name"],
          message: `"${p.name}" is used twice: give every prompt set its own name`,
        });
      names.add(p.name);
    });
    if (c.recap.unit === "tokens" && !c.policy.tokenizer)
      ctx.addIssue({
        code: "custom",
        path: ["policy", "tokenizer"],
        message: "recap.unit tokens needs the policy's tokenizer.json (or use unit words)",
      });
    if (c.max_prompt_tokens !== undefined && !c.policy.tokenizer)
      ctx.addIssue({
        code: "custom",
        path: ["policy", "tokenizer"],
        message: "max_prompt_tokens needs the policy's tokenizer.json (prompt lengths are counted in its tokens)",
      });
    const need = (kind: PromptKind, role: "pi_harm" | "pi_refuse") => {
      if (c.recap.alpha > 0 && c.prompts.some((p) => p.kind === kind) && !c.endpoints[role])
        ctx.addIssue({
          code: "custom",
          path: ["endpoints", role],
          message: `${kind} prompts with alpha > 0 need the ${role} endpoint (url, model), or set recap.alpha to 0`,
        });
    };
    need("harmful", "pi_harm");
    need("over_refusal", "pi_refuse");
    for (const role of ["pi_harm", "pi_refuse"] as const) {
      const e = c.endpoints[role];
      if (e?.api === "completions" && !e.chat_template)
        ctx.addIssue({
          code: "custom",
          path: ["endpoints", role, "chat_template"],
          message: "api completions needs the source model's chat template file",
        });
    }
  });

export type DataBuildConfig = z.infer<typeof DataBuildConfigSchema>;
export type DataBuildConfigInput = z.input<typeof DataBuildConfigSchema>;

/** The config with every file path made absolute against `dir` (the config file's folder), as
 *  the other recap configs resolve theirs. */
export function resolveConfigPaths(c: DataBuildConfig, dir: string): DataBuildConfig {
  const abs = (p: string) => path.resolve(dir, p);
  const ep = (e: SourceEndpoint | undefined) =>
    e ? { ...e, ...(e.chat_template ? { chat_template: abs(e.chat_template) } : {}) } : undefined;
  const pi_harm = ep(c.endpoints.pi_harm),
    pi_refuse = ep(c.endpoints.pi_refuse);
  return {
    ...c,
    prompts: c.prompts.map((p) => ({ ...p, file: abs(p.file) })),
    policy: {
      ...c.policy,
      chat_template: abs(c.policy.chat_template),
      ...(c.policy.tokenizer ? { tokenizer: abs(c.policy.tokenizer) } : {}),
    },
    endpoints: { ...(pi_harm ? { pi_harm } : {}), ...(pi_refuse ? { pi_refuse } : {}) },
    ...(c.cache_dir ? { cache_dir: abs(c.cache_dir) } : {}),
  };
}
