// The RECAP data side's configuration (zod): how many prompts get a prefill, how long it is, in
// which unit, and which sources feed it. Every knob: meaning, default, paper value.
import { z } from "zod";
import { parseWithSchema } from "../util/config_file.ts";
import { DEFAULT_L_PRE } from "./truncate.ts";

export const recapDataConfigSchema = z
  .strictObject({
    /** Fraction of the safety (harmful, jailbreak) and over-refusal (borderline, benign) prompts that
     *  get a prefill; math prompts never do. Default 0.5 (the paper's default; Fig. 3 sweeps it). */
    alpha: z.number().min(0).max(1).default(0.5),
    /** Fraction of the math prompts that get a flawed-arithmetic prefill from pi_math. Beyond the
     *  paper (its open question: does RECAP help reasoning beyond safety?); default 0, the paper's
     *  setting (math prompts never prefilled). Needs a pi_math source; not with `aligned`. */
    math_alpha: z.number().min(0).max(1).default(0),
    /** Prefill length l_pre in `unit`s. Default DEFAULT_L_PRE (60 words), the synthetic world's
     *  one default, shared by training, the demo, the study and evaluation: world v5's
     *  counter-aligned traces hold their flaw within it and their conclusion after it. The paper's
     *  default is 500 words (Table 10 sweeps 100-700) on traces of thousands of words: set that for
     *  real reasoning models. */
    l_pre: z.number().int().min(0).default(DEFAULT_L_PRE),
    /** Unit of l_pre: "words" (whitespace-separated, the paper's) or "tokens" (the policy's tokenizer). Default words. */
    unit: z.enum(["words", "tokens"]).default("words"),
    /** The aligned-prefill ablation (Fig. 3c): harmful prompts get safe thinking (pi_safe), benign
     *  ones helpful thinking (pi_help), instead of the counter-aligned pi_harm / pi_refuse. Default false. */
    aligned: z.boolean().default(false),
    /** Text that opens the thinking inside the assistant turn, before the prefill words. Default
     *  "<think>" (our template); "" for templates whose generation prompt opens it (DeepSeek-R1 distills). */
    think_open: z.string().default("<think>"),
  })
  .superRefine((c, ctx) => {
    if (c.aligned && c.math_alpha > 0)
      ctx.addIssue({
        code: "custom",
        path: ["math_alpha"],
        message: "the aligned ablation has no aligned math source; set math_alpha to 0 with aligned: true",
      });
  });

export type RecapDataConfig = z.infer<typeof recapDataConfigSchema>;
export type RecapDataConfigInput = z.input<typeof recapDataConfigSchema>;

export function parseRecapDataConfig(raw: unknown): RecapDataConfig {
  return parseWithSchema(recapDataConfigSchema, raw, "recap data config");
}
