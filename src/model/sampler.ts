// Batched autoregressive sampling with a KV cache. Prompts (already tokenised: a rendered chat
// prompt, optionally followed by a partial assistant turn such as a prefilled thinking) are
// left-padded into one batch, run through the model once, then extended one token per step.
// Each row draws from its own RNG stream forked from the seed, so a row's sample does not depend
// on the other rows of the batch. Returned log-probs are those of the raw model distribution
// (temperature 1, no top-k/top-p truncation), which is what a policy-gradient ratio needs.
import { withScope } from "../engine/kernels.ts";
import { Rng } from "../engine/rng.ts";
import { KVCache, inferStep } from "./infer.ts";
import type { Llama } from "./llama.ts";
import { RecapError } from "../util/errors.ts";

export interface SampleOptions {
  /** Tokens to generate at most per row. A row also stops (finish "length") where its own
   *  prompt plus its tokens fill the model's context, whatever the other rows' lengths. */
  maxNewTokens: number;
  /** Softmax temperature; 0 means greedy (argmax). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). Default 0. */
  topK?: number;
  /** Nucleus sampling: keep the smallest set of tokens with probability >= topP. Default 1 (off). */
  topP?: number;
  /** Seed of the row streams (row b draws from a stream forked from it by b). Default 0. */
  seed?: number;
  /** One seed per row, instead of `seed`: row b draws from its own stream seeded by rowSeeds[b],
   *  so its sample depends on its prompt and seed alone, not on its place in the batch. */
  rowSeeds?: readonly number[];
  /** Token ids that end a row (the id itself is kept in the output). Usually [eos]. */
  stopTokenIds?: number[];
  /** Strings that end a row once the decoded continuation contains one (needs `decode`). */
  stop?: string[];
  decode?: (ids: number[]) => string;
  /** Only ids below this are ever drawn (a tokenizer smaller than the model's vocab_size leaves
   *  rows with no token; they are masked out). Default: the whole vocabulary. */
  vocabLimit?: number;
  /** Called after every decoding step with the number of steps done (progress bars). */
  onStep?: (step: number) => void;
}

export type FinishReason = "stop" | "length";

export interface SampleResult {
  tokens: number[]; // generated ids
  logprobs: number[]; // raw-model log-prob of each generated id
  finishReason: FinishReason;
  /** The stop string that ended the row, if any. */
  stopString?: string;
}

/** Samples a continuation of every prompt (token id lists). */
export function sample(m: Llama, prompts: number[][], opts: SampleOptions): SampleResult[] {
  return withScope(m.kernels, () => sampleInScope(m, prompts, opts));
}

// Performance notes: each decoding step runs in its own allocation scope (a step's activations
// are freed before the next), the per-row log-sum-exp and the sampling distribution come from
// the kernels for the whole batch at once (tokenLogprobForward, softmaxForward), and when at most
// half of the cached rows are still running the finished ones are dropped from the KV cache.
// A row's tokens and log-probs do not depend on any of this (rows never interact).
function sampleInScope(m: Llama, prompts: number[][], opts: SampleOptions): SampleResult[] {
  const B = prompts.length;
  if (B === 0) return [];
  const temperature = opts.temperature ?? 1,
    topK = opts.topK ?? 0,
    topP = opts.topP ?? 1;
  validate(opts, prompts, m.config.max_position_embeddings);
  const k = m.kernels;
  const P = Math.max(...prompts.map((p) => p.length));
  // Each row's own limit: a short prompt batched with a long one keeps its full budget.
  const caps = prompts.map((p) => Math.min(opts.maxNewTokens, m.config.max_position_embeddings - p.length)); // (B)
  const maxNew = Math.max(...caps);
  const cache = new KVCache(m, B, P + maxNew, new Int32Array(prompts.map((p) => P - p.length)));
  const ids = new Int32Array(B * P); // (B, P) left-padded
  prompts.forEach((p, b) => ids.set(p, b * P + (P - p.length)));
  const base = new Rng(opts.seed ?? 0);
  const rngs = opts.rowSeeds ? opts.rowSeeds.map((s) => new Rng(s)) : prompts.map((_, b) => base.fork(b));
  const results: SampleResult[] = prompts.map(() => ({ tokens: [], logprobs: [], finishReason: "length" }));
  const done = new Uint8Array(B);
  const V = m.config.vocab_size;
  const stopIds = new Set(opts.stopTokenIds ?? []);
  const limit = Math.min(V, opts.vocabLimit ?? V);
  let rows = prompts.map((_, b) => b); // cache row i holds prompt rows[i]
  let next = new Int32Array(B); // (rows) the token each cache row is fed next

  /** Draws one token for every cache row from logits (rows, V). */
  const choose = (logits: Float32Array): void => {
    const n = rows.length;
    const lse = k.alloc(n); // (n) raw-model log-sum-exp per row
    k.tokenLogprobForward(k.alloc(n), lse, logits, new Int32Array(n), n, V);
    const probs = temperature > 0 ? distribution(m, logits, n, limit, temperature) : undefined; // (n, limit)
    for (let i = 0; i < n; i++) {
      const b = rows[i]!;
      if (done[b]) continue;
      const row = logits.subarray(i * V, (i + 1) * V); // (V)
      const id = probs
        ? drawFromProbs(probs.subarray(i * limit, (i + 1) * limit), topK, topP, rngs[b]!)
        : argmax(row.subarray(0, limit));
      const r = results[b]!;
      r.tokens.push(id);
      r.logprobs.push(row[id]! - lse[i]!);
      next[i] = id;
      if (stopIds.has(id)) finish(r, done, b);
      else if (opts.stop?.length && opts.decode) checkStopStrings(r, opts.stop, opts.decode, done, b);
      if (!done[b] && r.tokens.length >= caps[b]!) done[b] = 1; // its own limit: finish "length"
    }
  };

  withScope(k, () => choose(prefill(m, cache, ids, P)));
  for (let step = 0; step < maxNew; step++) {
    opts.onStep?.(step + 1);
    if (done.every((d) => d === 1) || step === maxNew - 1) break;
    const live = rows.flatMap((b, i) => (done[b] ? [] : [i]));
    if (live.length <= rows.length / 2) {
      cache.compact(live);
      rows = live.map((i) => rows[i]!);
      next = Int32Array.from(live, (i) => next[i]!);
    }
    withScope(k, () => choose(inferStep(m, cache, next, 1)));
  }
  return results;
}

/** Rows per prefill chunk: the prompt's forward holds every layer's attention scores (rows x
 *  heads x P x P) until it returns, so a G = 16 group batch of 256 long prompts would take ~1 GiB
 *  at once; in chunks of 32 rows it takes an eighth. A row's logits do not depend on the chunk. */
export const PREFILL_ROWS = 32;

/** The prompt forward (ids (B, P)) in chunks of PREFILL_ROWS rows, each on a view of the cache's
 *  rows; returns the last position's logits (B, V). */
function prefill(m: Llama, cache: KVCache, ids: Int32Array, P: number): Float32Array {
  const B = cache.B,
    V = m.config.vocab_size;
  if (B <= PREFILL_ROWS) return inferStep(m, cache, ids, P);
  const logits = m.kernels.alloc(B * V); // (B, V)
  for (let r0 = 0; r0 < B; r0 += PREFILL_ROWS) {
    const r1 = Math.min(B, r0 + PREFILL_ROWS);
    withScope(m.kernels, () => {
      logits.set(inferStep(m, cache.rows(r0, r1), ids.subarray(r0 * P, r1 * P), P), r0 * V);
    });
  }
  cache.length += P;
  return logits;
}

/** softmax(logits[:, :limit] / temperature) for n rows of logits (n, V), from the kernels. */
function distribution(m: Llama, logits: Float32Array, n: number, limit: number, temperature: number): Float32Array {
  const k = m.kernels,
    V = m.config.vocab_size;
  const probs = k.alloc(n * limit); // (n, limit)
  if (temperature === 1 && limit === V) {
    k.softmaxForward(probs, logits, n, V);
    return probs;
  }
  const scaled = k.alloc(n * limit); // (n, limit)
  const inv = 1 / temperature;
  for (let i = 0; i < n; i++) {
    const src = i * V,
      dst = i * limit;
    for (let j = 0; j < limit; j++) scaled[dst + j] = logits[src + j]! * inv;
  }
  k.softmaxForward(probs, scaled, n, limit);
  return probs;
}

function validate(opts: SampleOptions, prompts: number[][], ctx: number): void {
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 1)
    throw new RecapError(`maxNewTokens must be a positive integer, got ${opts.maxNewTokens}`);
  const t = opts.temperature ?? 1;
  if (!(t >= 0) || !Number.isFinite(t)) throw new RecapError(`temperature must be >= 0, got ${t}`);
  const p = opts.topP ?? 1;
  if (!(p > 0 && p <= 1)) throw new RecapError(`topP must be in (0, 1], got ${p}`);
  if (opts.vocabLimit !== undefined && !(Number.isInteger(opts.vocabLimit) && opts.vocabLimit >= 1))
    throw new RecapError(`vocabLimit must be a positive integer, got ${opts.vocabLimit}`);
  const k = opts.topK ?? 0;
  if (!Number.isInteger(k) || k < 0) throw new RecapError(`topK must be a non-negative integer, got ${k}`);
  if (opts.rowSeeds && opts.rowSeeds.length !== prompts.length)
    throw new RecapError(
      `rowSeeds has ${opts.rowSeeds.length} seeds for ${prompts.length} prompts: give one per prompt`,
    );
  prompts.forEach((pr, i) => {
    if (pr.length === 0) throw new RecapError(`prompt ${i} is empty: a prompt needs at least one token`);
    if (pr.length >= ctx)
      throw new RecapError(`prompt ${i} has ${pr.length} tokens: it leaves no room in the model's context of ${ctx}`);
  });
}

function finish(r: SampleResult, done: Uint8Array, b: number): void {
  r.finishReason = "stop";
  done[b] = 1;
}

function checkStopStrings(
  r: SampleResult,
  stop: string[],
  decode: (ids: number[]) => string,
  done: Uint8Array,
  b: number,
): void {
  const text = decode(r.tokens);
  for (const s of stop) {
    if (s.length > 0 && text.includes(s)) {
      r.stopString = s;
      finish(r, done, b);
      return;
    }
  }
}

export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** log softmax(row)[id], computed in float64. */
export function logSoftmaxAt(row: Float32Array, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  return row[id]! - max - Math.log(sum);
}

let scratch = new Float64Array(0);

/** Draws one id from softmax(row / temperature) restricted by top-k and top-p. */
export function drawToken(row: Float32Array, temperature: number, topK: number, topP: number, rng: Rng): number {
  const V = row.length;
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (row[i]! > max) max = row[i]!;
  if (scratch.length < V) scratch = new Float64Array(V);
  const probs = scratch.subarray(0, V); // (V) unnormalised, reused between calls
  for (let i = 0; i < V; i++) probs[i] = Math.exp((row[i]! - max) / temperature);
  return drawFromProbs(probs, topK, topP, rng);
}

/** Draws one id with probability proportional to probs (V, non-negative, not necessarily
 *  normalised), restricted to the top-k ids and then to the smallest top-p nucleus. */
export function drawFromProbs(probs: Float32Array | Float64Array, topK: number, topP: number, rng: Rng): number {
  const V = probs.length;
  let order: number[] | null = null;
  if ((topK > 0 && topK < V) || topP < 1) {
    order = Array.from({ length: V }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]! || a - b);
    let keep = topK > 0 ? Math.min(topK, V) : V;
    if (topP < 1) {
      let total = 0;
      for (let i = 0; i < keep; i++) total += probs[order[i]!]!;
      let cum = 0;
      for (let i = 0; i < keep; i++) {
        cum += probs[order[i]!]!;
        if (cum >= topP * total) {
          keep = i + 1;
          break;
        }
      }
    }
    order = order.slice(0, keep);
  }
  const candidates = order ?? null;
  let total = 0;
  if (candidates) for (const i of candidates) total += probs[i]!;
  else for (let i = 0; i < V; i++) total += probs[i]!;
  let u = rng.uniform() * total;
  if (candidates) {
    for (const i of candidates) if ((u -= probs[i]!) < 0) return i;
    return candidates[candidates.length - 1]!;
  }
  for (let i = 0; i < V; i++) if ((u -= probs[i]!) < 0) return i;
  return V - 1;
}
