// DAPO's soft overlong punishment and the sizing of the generation limit.
//
// DAPO (arXiv 2503.14476, eq. 13), for a response of |y| generated tokens, a hard limit L_max and
// a punishment buffer L_cache:
//   R_length(y) = 0                                  if |y| <= L_max - L_cache
//               = ((L_max - L_cache) - |y|) / L_cache if L_max - L_cache < |y| <= L_max
//               = -1                                 if |y| > L_max
// added to the task reward; here times a penalty factor (verl's overlong_buffer.penalty_factor,
// default 1). DAPO used L_max = 20480, L_cache = 4096. The penalty falls linearly from 0 to -1
// across the buffer, so a response cut at the limit (|y| = L_max) gets exactly -1.
// |y| counts the tokens the policy generated (not the prompt, not an injected prefill): that is
// what max_new_tokens caps.
//
// The sizing helper exists because a limit that is too short fakes results (DESIGN.md §4.1,
// lesson 4): corrected ("wait, ...") traces are the longest; cut off, they score 0, DAPO learns to
// stop reflecting, and RECAP looks better than it is. So max_new_tokens is derived from the
// longest expected trace plus a margin, plus the punishment buffer on top, so no expected trace
// ever lands in the buffer.
import { RecapError } from "../util/errors.ts";

export interface OverlongConfig {
  /** L_max: the hard generation limit in tokens (max_new_tokens). */
  maxLen: number;
  /** L_cache: the punishment buffer below L_max, in tokens (DAPO: 4096 of 20480). */
  buffer_len: number;
  /** Scale of the penalty (verl's penalty_factor). Default 1. */
  factor: number;
}

function checkConfig(cfg: OverlongConfig): void {
  if (!Number.isInteger(cfg.maxLen) || cfg.maxLen < 1)
    throw new RecapError(`overlong: maxLen must be an integer >= 1, got ${cfg.maxLen}`);
  if (!Number.isInteger(cfg.buffer_len) || cfg.buffer_len < 1 || cfg.buffer_len > cfg.maxLen)
    throw new RecapError(
      `overlong: buffer_len must be an integer in [1, maxLen=${cfg.maxLen}], got ${cfg.buffer_len}`,
      "DAPO uses a buffer of about a fifth of the limit",
    );
  if (!(cfg.factor >= 0)) throw new RecapError(`overlong: factor must be >= 0, got ${cfg.factor}`);
}

/** The (non-positive) length penalty of a response of `len` generated tokens. */
export function overlongPenalty(len: number, cfg: OverlongConfig): number {
  checkConfig(cfg);
  const expected = cfg.maxLen - cfg.buffer_len;
  if (len <= expected) return 0;
  if (len <= cfg.maxLen) return (cfg.factor * (expected - len)) / cfg.buffer_len;
  return -cfg.factor;
}

export interface SizeOptions {
  /** Token lengths of the longest traces expected (e.g. every corrected trace of the corpus). */
  traceLengths: readonly number[];
  /** Relative headroom above the longest trace. Default 0.25. */
  margin?: number;
  /** The overlong buffer L_cache placed above the expected length. Default 0 (no shaping). */
  buffer_len?: number;
  /** Tokens the context leaves for generation (max_position_embeddings - longest prompt), if known. */
  contextLeft?: number;
}

export interface SizeResult {
  /** max_new_tokens = L_max. */
  maxNewTokens: number;
  /** L_max - L_cache: the longest response that is not penalised. */
  expectedLen: number;
  longestTrace: number;
}

/** max_new_tokens = ceil(longest * (1 + margin)) + buffer_len; throws if the context cannot hold it. */
export function sizeMaxNewTokens(opts: SizeOptions): SizeResult {
  const margin = opts.margin ?? 0.25,
    buffer = opts.buffer_len ?? 0;
  if (opts.traceLengths.length === 0)
    throw new RecapError(
      "sizeMaxNewTokens: no trace lengths given",
      "pass the token lengths of the corpus's corrected traces",
    );
  if (!(margin >= 0)) throw new RecapError(`sizeMaxNewTokens: margin must be >= 0, got ${margin}`);
  if (!Number.isInteger(buffer) || buffer < 0)
    throw new RecapError(`sizeMaxNewTokens: buffer_len must be an integer >= 0, got ${buffer}`);
  const longestTrace = opts.traceLengths.reduce((a, b) => Math.max(a, b), -Infinity);
  const expectedLen = Math.ceil(longestTrace * (1 + margin));
  const maxNewTokens = expectedLen + buffer;
  if (opts.contextLeft !== undefined && maxNewTokens > opts.contextLeft)
    throw new RecapError(
      `max_new_tokens ${maxNewTokens} (longest trace ${longestTrace} + ${Math.round(margin * 100)}% margin + buffer ${buffer}) exceeds the ${opts.contextLeft} tokens the context leaves`,
      "use a model with a longer context (max_position_embeddings) or shorter prompts; do not shrink the limit below the longest trace",
    );
  return { maxNewTokens, expectedLen, longestTrace };
}

/** Throws when a configured limit would cut (or penalise) the longest expected trace. */
export function checkMaxNewTokens(maxNewTokens: number, longestTrace: number, buffer_len = 0): void {
  if (maxNewTokens - buffer_len < longestTrace)
    throw new RecapError(
      `max_new_tokens ${maxNewTokens} (minus overlong buffer ${buffer_len}) is below the longest expected trace, ${longestTrace} tokens: corrected traces would be cut or penalised`,
      `raise max_new_tokens to at least ${longestTrace + buffer_len}, with some margin above it`,
    );
}
