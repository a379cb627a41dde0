// The language-model access contract shared by evaluation, data building and the reward server:
// the generation request (a fully specified prompt), the completion a provider returns, the
// provider itself (`id()`, `generate(requests)`) and a model's text tokenizer.
//
// A request is either a raw text prompt (sent verbatim as a text completion) or chat messages plus
// an optional prefilled thinking (`thinking`, the text right after `<think>`) and whether that
// thinking is closed (`closeThinking`: a full CoT hijack, the model writes only the response).
// Each provider renders this the way its API allows; `<think>` placement follows the template.
import type { ChatMessage } from "../model/chat_template.ts";

export type { ChatMessage };

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

/** A model's text tokenizer (token-length prefills, prompt lengths): from a provider that has
 *  one (embedded, GGUF) or from a local HF tokenizer.json (lm/tokenizer.ts). */
export interface TextTokenizer {
  /** Where it was loaded from. */
  source: string;
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
export function approxSplit(
  text: string,
  total: number,
  openAtStart: boolean,
): { cotTokens: number; responseTokens: number } {
  const at = text.indexOf("</think>");
  if (at < 0)
    return openAtStart || /^\s*<think>/.test(text)
      ? { cotTokens: total, responseTokens: 0 }
      : { cotTokens: 0, responseTokens: total };
  const cot = Math.min(total, Math.round((total * (at + "</think>".length)) / text.length));
  return { cotTokens: cot, responseTokens: total - cot };
}
