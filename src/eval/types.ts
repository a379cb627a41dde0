// The evaluation harness's suite row: what a benchmark or world suite file holds (the prompt, its
// domain, its prefill and hijack material). The provider contract (requests, completions,
// providers) is src/lm/types.ts.
import { z } from "zod";

/** Prefill material a suite row may carry (counter-aligned thinking prefixes, RECAP Sec. 3.1). */
export const PrefillsSchema = z
  .object({
    /** From a weakly aligned source (paper Table 1: DSQwen-1.5B-like). */
    weak: z.string().optional(),
    /** From a strongly misaligned source (pi_harm for harmful rows, pi_refuse for benign rows). */
    strong: z.string().optional(),
    /** An aligned (safe) thinking prefix: the ablation of Fig. 3c and Table 1's safe prefills. */
    aligned: z.string().optional(),
    /** World v6 files' spelling of weak / strong (read as those kinds: src/recap/prefill_kinds.ts)
     *  and the held-out flaw type. */
    counter_weak: z.string().optional(),
    counter_strong: z.string().optional(),
    heldout: z.string().optional(),
  })
  .loose();

/**
 * One suite row. Only `id` and `prompt` are required; every other field is kept (judge fields such
 * as a gold `answer`, a `label`, a `rubric`) and handed to the grader as `row`.
 */
export const SuiteRowSchema = z.looseObject({
  /** Unique within the suite (numbers are turned into strings). */
  id: z.union([z.string().min(1), z.number()]).transform(String),
  /** The user request. */
  prompt: z.string().min(1),
  /** Where the row comes from (e.g. "world", "strongreject"). Free text. */
  source: z.string().optional(),
  /** What the row measures: "harmful" (safety), "benign" (helpfulness / over-refusal) or "math".
   *  Absent: read from `label` (the world's harmful / benign / math, XSTest's unsafe / safe), else
   *  inferred from the suite name (see suites.ts `rowDomain`). */
  domain: z.enum(["harmful", "benign", "math"]).optional(),
  /** An optional system message placed before the user turn. */
  system: z.string().optional(),
  /** Counter-aligned (and aligned) thinking prefixes for the prefill and IPR attacks. */
  prefills: PrefillsSchema.optional(),
  /** Shared attack material (`recap data attack-material`): a source model's thinking cut to its
   *  l_pre, the same text for every evaluated model. The prefill and IPR attacks read it first
   *  (source `shared`, and the default source when present), whole when they name no length. */
  prefill: z.string().optional(),
  /** A flawed full thinking for the CoT hijack attack (closed by the attack). */
  hijack: z.string().optional(),
  /** IPR: one counter-aligned reset text per reset round (the world's suites carry these). */
  ipr: z.array(z.string()).optional(),
  /** IPR: the reset phrase put before the re-injected prefill in every round, for rows without
   *  `ipr` texts (attack material; takes precedence over `--ipr-reset`). */
  ipr_reset: z.string().optional(),
});
export type SuiteRow = z.infer<typeof SuiteRowSchema>;
export type Domain = "harmful" | "benign" | "math";
