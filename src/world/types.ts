// Shared types of the synthetic world: requests, traces, and the JSONL rows that the build writes
// (field names are snake_case, as in the files).
import type { ActionCategory, ObjectCategory, Wrapper } from "./lexicon.ts";

/** Where a row comes from; reward routing and suites key on it. */
export type Source = "harmful" | "jailbreak" | "borderline" | "benign" | "math";
/** The ground truth the judge scores against. */
export type Label = "harmful" | "benign" | "math";
/** Request class of a safety combination: harmful, a lexical trap, or an ordinary benign one. */
export type ComboClass = "harmful" | "borderline" | "benign";

export interface SafetyRequest {
  kind: "safety";
  action: string;
  action_category: ActionCategory;
  object: string;
  object_category: ObjectCategory;
  cls: ComboClass;
  /** Index into REQUEST_TEMPLATES. */
  template: number;
  wrapper: Wrapper | null;
  prompt: string;
}

export interface MathRequest {
  kind: "math";
  /** Operands in order, e.g. [3, 4, 5] for "3 * 4 + 5". */
  terms: number[];
  /** Operators between them ("+", "-", "*"); "*" only as the first one, so left to right is right. */
  ops: string[];
  expression: string;
  answer: number;
  prompt: string;
}

export type Request = SafetyRequest | MathRequest;

/** The flaw families. `object_misread` is the base's own; the pi_* ones come from another source;
 *  `misstated_rule` is the held-out type (no corpus, no training prefill). */
export type FlawFamily =
  | "object_misread"
  | "arithmetic_slip"
  | "permission"
  | "exception"
  | "danger"
  | "misuse"
  | "misstated_rule"
  | "guess"
  | "operator_swap";

/** A generated reasoning trace and the response that follows it. */
export interface Trace {
  /** Text between <think> and </think>: short lower-case sentences. */
  thinking: string;
  /** Text after </think>. */
  response: string;
  /** The generator's registry name. */
  variant: string;
  flaw: FlawFamily | null;
  /** Words of `thinking` up to the end of the first flawed sentence (null without a flaw). */
  flaw_word: number | null;
}

/** Full-trace prefill material of a suite or RL row (thinking only, no <think> tags), as the v6
 *  files spell it; readers take it by kind through src/recap/prefill_kinds.ts (counter_weak is
 *  the kind weak, counter_strong the kind strong). */
export interface Prefills {
  /** Counter-aligned, weak (blunt) style: pi_harm on harmful rows, pi_refuse on benign ones,
   *  pi_math on math rows (world v3). */
  counter_weak?: string;
  /** Counter-aligned, strong (fluent) style from the same source. */
  counter_strong?: string;
  /** Aligned (correct, safe) reasoning: the aligned-prefill ablation and Table 1's safe source. */
  aligned?: string;
  /** The held-out flaw type (misstated rule); only in the held-out-flaw suite. */
  heldout?: string;
}

/** One JSONL row of any file the build writes. */
export interface WorldRow {
  id: string;
  world: string;
  source: Source;
  label: Label;
  prompt: string;
  action?: string;
  action_category?: ActionCategory;
  object?: string;
  object_category?: ObjectCategory;
  wrapper?: string | null;
  wrapper_heldout?: boolean;
  expression?: string;
  answer?: number;
  /** Corpora: the trace generator, its flaw family, the thinking, response and chat text. */
  variant?: string;
  flaw?: FlawFamily | null;
  /** Corpora: words of `thinking` up to the end of its first flawed sentence (null: no flaw). */
  flaw_word?: number | null;
  thinking?: string;
  response?: string;
  text?: string;
  /** Suites and RL prompts: prefill material (full traces, to be cut to l_pre words elsewhere). */
  prefills?: Prefills;
  /** Words of each flawed prefill (and of `hijack`) up to the end of its first flawed sentence,
   *  so a cut to l_pre words is known to contain the flaw iff l_pre >= this number. */
  prefill_flaw_words?: Partial<Record<keyof Prefills | "hijack", number>>;
  /** Full CoT hijack: a complete counter-aligned thinking, to be closed with </think> by the attack. */
  hijack?: string;
  /** Iterative prefill reset: one counter-aligned reset sentence per round. */
  ipr?: string[];
}
