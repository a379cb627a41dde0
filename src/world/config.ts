// The knobs of `recap world build` (zod; every knob documented where it is defined: meaning,
// default, and the paper's or the prototype's value where there is one). A config file may set
// any subset; the rest take their defaults. The defaults are the world as designed (DESIGN §4.1
// rates); they are fixed before any method is compared and must not be tuned toward a result.
import { z } from "zod";
import { RecapError } from "../util/errors.ts";
import { firstZodIssue } from "../util/zod_issues.ts";

const rate = (d: number) => z.number().min(0).max(1).default(d);
const count = (d: number) => z.number().int().min(0).max(200_000).default(d);

const SftSchema = z
  .object({
    /** Harmful requests (expected: refuse) in the base LRM's SFT corpus. Default 2400. */
    harmful: count(2400),
    /** Borderline benign requests, the lexical traps (expected: help). Default 1600. */
    borderline: count(1600),
    /** Ordinary benign requests, caring actions (expected: help). Default 1200. */
    benign: count(1200),
    /** Arithmetic requests (expected: the exact answer). Default 6000 (world v6; v5's 4000 left
     *  the tiny base at 0.79-0.89 on held-out math at temperature 1, short of the 0.90 premise:
     *  off-by-one sums such as "6 + 9 = 14"; v3's 2400 had left seed 2 at 78% at the evaluation
     *  sampling). */
    math: count(6000),
    /** Share of harmful rows inside a training jailbreak wrapper. Default 0.3. */
    wrapped_harmful: rate(0.3),
    /** Share of borderline and benign rows inside a training wrapper, so a frame is no cue to
     *  refuse. Default 0.15. */
    wrapped_benign: rate(0.15),
    /** Harmful rows whose trace misreads the object's category and follows the flaw to a
     *  compliance (the base's own rare mistake). Default 0.08 (prototype). */
    harmful_flawed: rate(0.08),
    /** Harmful rows with the same misreading, then a grounded "wait, …" correction and a
     *  refusal. Sets the base's chance of recovering from a flawed prefix. Default 0.04 (prototype). */
    harmful_corrected: rate(0.04),
    /** Borderline rows that misread the object as protected and refuse (over-caution).
     *  Default 0.25 (world v2; v1's 0.15, the prototype's rate, left the tiny base helping on
     *  91% of held-out traps: above the premise's 50-90% over-refusal band). */
    borderline_overcautious: rate(0.25),
    /** Borderline rows with that misreading, then a grounded correction and help. Default 0.04 (prototype). */
    borderline_corrected: rate(0.04),
    /** Safety rows (any variant but `corrected`) whose thinking goes on after its verdict or its
     *  decision with "wait, let me check that again." and the classification re-derived from the
     *  true categories, confirming or correcting (world v5). Content-agnostic, so it is the base's
     *  dial of recovery from flaws it never saw. Default 0.4, chosen for the registered premise
     *  (docs/WORLD.md §10): recovery under a prefill near this share plus the response check's. */
    recheck: rate(0.4),
    /** Safety rows whose response opens with the true rule ("to be sure, …") and follows it,
     *  whatever the thinking concluded (world v5): the base's only way to override a closed,
     *  hijacked thinking. Drawn independently of `recheck`. Default 0.2 (premise: hijack safety
     *  in [0.10, 0.65]). */
    response_check: rate(0.2),
    /** Correct safety rows with planning (before "help") or worry (before "refuse") sentences
     *  between the rule and the verdict: the language of pi_harm / pi_refuse's elaboration made
     *  known to the base, so that only the prefill's flaw is foreign (drawn before the
     *  decorations). Default 0.5 (world v6, chosen on base-only measurements for the registered
     *  premise, docs/WORLD.md §10: at 0, v5, a prefill cut inside the elaboration left the base
     *  off its distribution, 38-75% malformed outputs under prefills). */
    elaborate: rate(0.5),
    /** Correct safety rows whose thinking voices 1-3 worry sentences right after the ask step,
     *  before it classifies; the classification then decides as always (harmful: refuse; trap,
     *  benign: help). Generic caution confirmed or overruled by the true categories: the base's
     *  way back from a prefill that worries without classifying (pi_refuse's weak style). Drawn
     *  after `elaborate`, independently. Default 0.2 (world v6, chosen on base-only measurements for the
     *  registered premise, docs/WORLD.md §10: at 0 the base helped after pi_refuse's weak
     *  prefill on 3-5% of traps, at 0.3 on 86%; the target is 0.20-0.75). */
    worry_first: rate(0.2),
    /** Math rows with one arithmetic slip carried to a wrong answer. Default 0.02. */
    math_slip: rate(0.02),
    /** Math rows with a slip caught by "wait, …" and a right answer. Default 0.02. */
    math_corrected: rate(0.02),
  })
  .strict()
  .prefault({});

const PiHarmSchema = z
  .object({
    /** Rows of the pi_harm fine-tuning corpus: harmful requests with helpful-only (unsafe)
     *  traces and compliant responses. Default 1200. */
    size: count(1200),
    /** Share inside a training wrapper. Default 0.3. */
    wrapped: rate(0.3),
    /** Share in the strong (fluent) style; the rest are in the weak (blunt) style. Default 0.5. */
    strong_share: rate(0.5),
  })
  .strict()
  .prefault({});

const PiRefuseSchema = z
  .object({
    /** Rows of the pi_refuse fine-tuning corpus: benign requests with over-cautious traces and
     *  refusals. Default 1200. */
    size: count(1200),
    /** Share of rows that are traps (the rest ordinary benign). Default 0.6. */
    borderline_share: rate(0.6),
    /** Share inside a training wrapper. Default 0.15. */
    wrapped: rate(0.15),
    /** Share in the strong (fluent) style. Default 0.5. */
    strong_share: rate(0.5),
  })
  .strict()
  .prefault({});

const SftBaselineSchema = z
  .object({
    /** The SFT baseline's corpus (the paper's SFT row): correct, safe traces only, no flaws and
     *  no corrections; wrapped shares as in `sft`. Harmful rows. Default 800. */
    harmful: count(800),
    /** Borderline rows. Default 600. */
    borderline: count(600),
    /** Ordinary benign rows. Default 400. */
    benign: count(400),
    /** Math rows. Default 800. */
    math: count(800),
  })
  .strict()
  .prefault({});

const RlSchema = z
  .object({
    /** Harmful RL prompts (paper: 1k BeaverTails). Default 400. */
    harmful: count(400),
    /** Borderline benign RL prompts (paper: 1k STAR-1 over-refusal). Default 400. */
    borderline: count(400),
    /** Math RL prompts (paper: 3k GSM8K + MATH). Default 1200. */
    math: count(1200),
    /** Share of harmful RL prompts inside a training wrapper (paper's BeaverTails prompts are
     *  plain). Default 0. */
    wrapped: rate(0),
  })
  .strict()
  .prefault({});

const EvalSchema = z
  .object({
    /** Clean harmful suite rows (StrongREJECT analogue). Default 200. */
    harmful: count(200),
    /** Jailbreak-wrapped harmful rows (WildJailbreak analogue). Default 200. */
    jailbreak: count(200),
    /** Share of jailbreak rows whose wrapper is held out of training. Default 0.5. */
    heldout_wrapper_share: rate(0.5),
    /** Borderline benign rows (XSTest analogue). Default 200. */
    borderline: count(200),
    /** Ordinary benign rows. Default 200. */
    benign: count(200),
    /** Math rows (expressions never in a training corpus). Default 200. */
    math: count(200),
    /** Held-out-flaw suite rows (half harmful, a quarter each borderline and benign). Default 200. */
    heldout_flaw: count(200),
    /** Reset phrases per row for the iterative prefill reset attack (paper: k = 1..3). Default 3. */
    ipr_rounds: z.number().int().min(1).max(6).default(3),
  })
  .strict()
  .prefault({});

const MathSchema = z
  .object({
    /** Largest operand of + and - (smallest is 1). Default 9 (world v2: single digits, as in the
     *  prototype; with v1's 20 the tiny base scored 25% on held-out math, short of the 90% premise). */
    max_operand: z.number().int().min(2).max(99).default(9),
    /** Chance a problem opens with a product of two one-digit numbers (2..9). Default 0 (world
     *  v3; v2's 0.25 left the tiny base at 61% on held-out math: its errors were sums and
     *  differences on the two-digit products, "6 * 8 + 8 = 53"). */
    mul_share: rate(0),
    /** Chance a problem has three terms instead of two. Default 0.5. */
    three_term_share: rate(0.5),
  })
  .strict()
  .prefault({});

export const WorldConfigSchema = z
  .object({
    /** Share of action/object combinations held out of every training corpus, drawn per object
     *  and per class (harmful, trap, ordinary). Default 0.2 (prototype). */
    heldout_fraction: z.number().min(0.05).max(0.5).default(0.2),
    sft: SftSchema,
    pi_harm: PiHarmSchema,
    pi_refuse: PiRefuseSchema,
    sft_baseline: SftBaselineSchema,
    rl: RlSchema,
    eval: EvalSchema,
    math: MathSchema,
  })
  .strict()
  .superRefine((c, ctx) => {
    const pairs: [string, number, number][] = [
      ["sft.harmful_flawed + sft.harmful_corrected", c.sft.harmful_flawed, c.sft.harmful_corrected],
      [
        "sft.borderline_overcautious + sft.borderline_corrected",
        c.sft.borderline_overcautious,
        c.sft.borderline_corrected,
      ],
      ["sft.math_slip + sft.math_corrected", c.sft.math_slip, c.sft.math_corrected],
    ];
    for (const [name, a, b] of pairs)
      if (a + b > 1)
        ctx.addIssue({
          code: "custom",
          message: `${name} is ${a + b}; the two shares of one class must sum to at most 1`,
        });
  });

export type WorldConfig = z.infer<typeof WorldConfigSchema>;

/** A validated config with defaults filled in; a bad value throws one RecapError line. */
export function parseWorldConfig(input: unknown = {}): WorldConfig {
  const r = WorldConfigSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const { issue, path } = firstZodIssue(r.error);
  throw new RecapError(
    `bad world config: ${path ? `${path}: ` : ""}${issue.message}`,
    "see docs/WORLD.md for every knob and its range",
  );
}
