// The evaluation harness's core types: the suite row (what a benchmark or world suite file holds),
// the generation request (a fully specified prompt), the completion a provider returns, and the
// provider contract itself (`id()`, `generate(requests)`).
//
// A request is either a raw text prompt (sent verbatim as a text completion) or chat messages plus
// an optional prefilled thinking (`thinking`, the text right after `<think>`) and whether that
// thinking is closed (`closeThinking`: a full CoT hijack, the model writes only the response).
// Each provider renders this the way its API allows; `<think>` placement follows the template.
import { z } from "zod";
import type { ChatMessage } from "../data/templates.ts";

export type { ChatMessage };

/** Prefill material a suite row may carry (counter-aligned thinking prefixes, RECAP Sec. 3.1). */
export const PrefillsSchema = z
  .object({
    /** From a weakly aligned source (paper Table 1: DSQwen-1.5B-like). */
    weak: z.string().optional(),
    /** From a strongly misaligned source (pi_harm for harmful rows, pi_refuse for benign rows). */
    strong: z.string().optional(),
    /** An aligned (safe) thinking prefix: the ablation of Fig. 3c and Table 1's safe prefills. */
    aligned: z.string().optional(),
    /** The world's names for weak / strong (either spelling is read) and its held-out flaw type. */
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

/** Sampling parameters shared by every provider. */
export interface SamplingParams {
  /** Tokens to generate at most. */
  maxTokens: number;
  /** Softmax temperature (0 = greedy). */
  temperature: number;
  /** Nucleus sampling mass (1 = off). */
  topP: number;
  /** Base seed; sample j of a request uses seed + j where the provider takes a seed per call. */
  seed: number;
  /** Stop strings. */
  stop?: string[];
}

/** A fully specified generation request. */
export interface GenRequest {
  /** Caller's key (results, logs); not sent anywhere. */
  key: string;
  /** Chat messages up to (not including) the assistant turn. Ignored when `raw` is set. */
  messages: ChatMessage[];
  /** Prefilled thinking: the text right after `<think>` (no tags). Absent = clean prompt. */
  thinking?: string;
  /** Close the prefilled thinking (full CoT hijack): the model writes only the response. */
  closeThinking?: boolean;
  /** A fully rendered raw prompt, sent as is (completions-style providers only). */
  raw?: string;
  params: SamplingParams;
  /** Samples to draw. */
  n: number;
}

/** One sampled completion: the generated text only (the prompt and any prefill excluded). */
export interface Completion {
  text: string;
  /** Generated tokens (exact when the provider knows them; see `approxTokens`). */
  completionTokens: number;
  /** Generated tokens up to and including the one that closes `</think>` (0 when the thinking
   *  was closed by the attack or never opened). */
  cotTokens: number;
  /** Generated tokens after the thinking. */
  responseTokens: number;
  /** True when the CoT / response split was estimated from character shares. */
  approxTokens?: boolean;
  finishReason: string;
}

/** The outcome of one request: its completions, or the error that stopped it (per item). */
export interface GenResult {
  key: string;
  completions: Completion[];
  /** Set when the request failed after retries; the run goes on. */
  error?: string;
}

/** A text tokenizer, when the provider has one (token-length prefills). */
export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
}

export interface Provider {
  /** A stable id naming the model and API, recorded with the results. */
  id(): string;
  /** Generates every request; never throws for one item's failure (see GenResult.error). Throws a
   *  RecapError for requests the provider cannot express at all (bad configuration). */
  generate(requests: GenRequest[]): Promise<GenResult[]>;
  /** Throws a RecapError if the provider cannot express this request at all (checked before a run
   *  starts, so a misconfiguration fails before any work). */
  check?(request: GenRequest): void;
  /** How many requests the runner should hand over at once (a batch or a concurrency window). */
  batchSize(): number;
  /** The model's tokenizer, when known (embedded, GGUF). */
  tokenizer?(): TextTokenizer | undefined;
  close?(): Promise<void>;
}

/** Splits a token count into CoT and response by the character share up to `</think>`. Without
 *  `</think>` the whole text is thinking when a thinking block was open at the start of generation
 *  (`openAtStart`, or the text opens one itself), else it is all response. */
export function approxSplit(text: string, total: number, openAtStart: boolean): { cotTokens: number; responseTokens: number } {
  const at = text.indexOf("</think>");
  if (at < 0) return openAtStart || /^\s*<think>/.test(text) ? { cotTokens: total, responseTokens: 0 } : { cotTokens: 0, responseTokens: total };
  const cot = Math.min(total, Math.round((total * (at + "</think>".length)) / text.length));
  return { cotTokens: cot, responseTokens: total - cot };
}
