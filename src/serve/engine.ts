// The server's batching engine. Requests submit rows (one prompt + sampling settings each); rows
// that arrive within a short window, and all rows queued while a batch runs, are sampled together
// in one left-padded KV-cache batch. The stepping loop is our own (the library sampler is
// synchronous): after the prefill and after every decoding step it yields to the event loop, so
// streamed tokens reach their sockets and new requests are accepted while a batch runs.
//
// Per row it draws exactly what `sample` (src/model/sampler.ts) draws for the same prompt, seed
// stream and settings: argmax at temperature 0, else drawToken over the tokenizer's ids, and the
// raw-model log-prob of the chosen id. A batch holds the KV cache across yields, so one batch runs
// at a time per kernels instance (the kernels' allocation is a stack), even with several engines.
import { withScope } from "../engine/kernels.ts";
import type { Kernels } from "../engine/kernels.ts";
import type { Rng } from "../engine/rng.ts";
import { KVCache, inferStep } from "../model/infer.ts";
import type { Llama } from "../model/llama.ts";
import { argmax, drawToken } from "../model/sampler.ts";
import { ApiError } from "./protocol.ts";

export type TopLogprobs = [id: number, logprob: number][];

export interface TokenEvent {
  id: number;
  logprob: number;
  top: TopLogprobs | null;
}

export interface GenRow {
  prompt: number[];
  /** Tokens to generate at most (0: only score the prompt). */
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  rng: Rng;
  /** Ids that end the row (kept in the output). */
  stopIds: number[];
  /** Alternatives to report per token: -1 none, else 0..20 most likely ids. */
  topLogprobs: number;
  /** Also score the prompt (echo with logprobs). */
  promptLogprobs: boolean;
  /** Called for every generated token; return false to end the row (a stop string was found). */
  onToken?: (t: TokenEvent) => boolean;
  /** Polled every step: true ends the row (the client went away). */
  cancelled?: () => boolean;
}

export type RowFinish = "stop" | "length" | "cancelled";

export interface RowResult {
  tokens: number[];
  logprobs: number[];
  tops: (TopLogprobs | null)[];
  /** Prompt scores when asked for: entry 0 is null (nothing predicts the first token). */
  prompt: { logprob: number | null; top: TopLogprobs | null }[] | null;
  finish: RowFinish;
}

export interface EngineOptions {
  /** Wait this long after the first queued row before starting a batch (ms). Default 5. */
  windowMs?: number;
  /** Rows per batch at most. Default 64. */
  maxBatch?: number;
  /** Queued rows at most; more are refused with 503. Default 4096. */
  maxQueue?: number;
  /** Only ids below this are drawn (the tokenizer's size). */
  vocabLimit: number;
}

interface Pending {
  row: GenRow;
  resolve: (r: RowResult) => void;
  reject: (e: unknown) => void;
}

/** One batch at a time per kernels instance. */
const kernelLocks = new WeakMap<Kernels, Promise<void>>();

async function withKernelLock<T>(k: Kernels, fn: () => Promise<T>): Promise<T> {
  const prev = kernelLocks.get(k) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  kernelLocks.set(
    k,
    prev.then(() => mine),
  );
  await prev;
  try {
    return await fn();
  } finally {
    release();
  }
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export class BatchEngine {
  readonly #m: Llama;
  readonly #opts: Required<EngineOptions>;
  readonly #queue: Pending[] = [];
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #closed = false;
  #abortAll = false;
  /** Batches run so far, rows, the rows in the largest batch, rows cut short (for tests and logs). */
  stats = { batches: 0, rows: 0, maxBatchRows: 0, cancelled: 0 };

  constructor(m: Llama, opts: EngineOptions) {
    this.#m = m;
    this.#opts = {
      windowMs: opts.windowMs ?? 5,
      maxBatch: opts.maxBatch ?? 64,
      maxQueue: opts.maxQueue ?? 4096,
      vocabLimit: opts.vocabLimit,
    };
    if (!(this.#opts.maxBatch >= 1 && this.#opts.maxQueue >= 1 && this.#opts.windowMs >= 0))
      throw new Error("BatchEngine: maxBatch, maxQueue >= 1 and windowMs >= 0 needed");
  }

  get context(): number {
    return this.#m.config.max_position_embeddings;
  }

  /** Queues rows; resolves with their results in order. */
  submit(rows: GenRow[]): Promise<RowResult[]> {
    if (this.#closed)
      return Promise.reject(new ApiError(503, "the server is shutting down", "server_error", null, "shutting_down"));
    if (this.#queue.length + rows.length > this.#opts.maxQueue)
      return Promise.reject(
        new ApiError(
          503,
          `the server is busy (${this.#queue.length} rows queued): retry later`,
          "server_error",
          null,
          "overloaded",
        ),
      );
    if (rows.some((r) => r.prompt.length === 0 || r.prompt.length + r.maxTokens > this.context))
      return Promise.reject(new Error("a row is empty or exceeds the context: validate before submitting"));
    const out = Promise.all(
      rows.map((row) => new Promise<RowResult>((resolve, reject) => this.#queue.push({ row, resolve, reject }))),
    );
    this.#kick();
    return out;
  }

  /** Stops taking rows; rows already accepted (queued or running) get graceMs to finish, then
   *  running rows are cut short ("cancelled") and queued ones refused with 503. */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    const t = setTimeout(() => {
      this.#abortAll = true;
      for (const p of this.#queue.splice(0))
        p.reject(new ApiError(503, "the server is shutting down", "server_error", null, "shutting_down"));
    }, graceMs);
    while (this.#running || this.#timer || this.#queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    clearTimeout(t);
  }

  #kick(): void {
    if (this.#running || this.#timer || this.#queue.length === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#loop().finally(() => {
        this.#running = null;
        this.#kick();
      });
    }, this.#opts.windowMs);
  }

  async #loop(): Promise<void> {
    while (this.#queue.length > 0 && !this.#abortAll) {
      const batch = this.#take();
      if (batch.length === 0) break; // cannot happen: the first queued row always fits
      try {
        const results = await withKernelLock(this.#m.kernels, () => this.#runBatch(batch.map((p) => p.row)));
        batch.forEach((p, i) => p.resolve(results[i]!));
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
  }

  /** Takes queued rows in order while they fit one KV cache of at most the model's context. */
  #take(): Pending[] {
    const out: Pending[] = [];
    let maxP = 0,
      maxT = 0;
    let i = 0;
    while (i < this.#queue.length && out.length < this.#opts.maxBatch) {
      const p = this.#queue[i]!;
      const P = Math.max(maxP, p.row.prompt.length),
        T = Math.max(maxT, p.row.maxTokens);
      if (out.length > 0 && P + T > this.context) {
        i++;
        continue;
      }
      out.push(...this.#queue.splice(i, 1));
      maxP = P;
      maxT = T;
    }
    return out;
  }

  async #runBatch(rows: GenRow[]): Promise<RowResult[]> {
    const m = this.#m,
      k = m.kernels,
      B = rows.length,
      V = m.config.vocab_size;
    this.stats.batches++;
    this.stats.rows += B;
    this.stats.maxBatchRows = Math.max(this.stats.maxBatchRows, B);
    const P = Math.max(...rows.map((r) => r.prompt.length));
    const T = Math.max(...rows.map((r) => r.maxTokens));
    const results: RowResult[] = rows.map((_r) => ({
      tokens: [],
      logprobs: [],
      tops: [],
      prompt: null,
      finish: "length",
    }));
    const done = Uint8Array.from(rows, (r) => (r.maxTokens === 0 ? 1 : 0));
    const mark = k.mark();
    try {
      const cache = new KVCache(
        m,
        B,
        P + T,
        Int32Array.from(rows, (r) => P - r.prompt.length),
      );
      const ids = new Int32Array(B * P); // (B, P) left-padded
      rows.forEach((r, b) => ids.set(r.prompt, b * P + (P - r.prompt.length)));
      const wantPrompt = rows.some((r) => r.promptLogprobs);
      withScope(k, () => {
        const logits = inferStep(m, cache, ids, P, wantPrompt); // (B, V) or (B, P, V)
        rows.forEach((r, b) => {
          if (r.promptLogprobs) results[b]!.prompt = scorePrompt(logits, r, b, P, V, this.#opts.vocabLimit);
        });
        const last = wantPrompt ? lastPositions(logits, B, P, V) : logits;
        this.#choose(rows, results, done, last);
      });
      for (let step = 1; step < T && !done.every((d) => d === 1); step++) {
        await yieldToLoop();
        const next = Int32Array.from(results, (r) => r.tokens[r.tokens.length - 1] ?? 0); // (B)
        withScope(k, () => this.#choose(rows, results, done, inferStep(m, cache, next, 1)));
      }
    } finally {
      k.release(mark);
    }
    return results;
  }

  /** Picks one token for every live row from logits (B, V). */
  #choose(rows: GenRow[], results: RowResult[], done: Uint8Array, logits: Float32Array): void {
    const V = this.#m.config.vocab_size,
      limit = Math.min(V, this.#opts.vocabLimit);
    rows.forEach((r, b) => {
      if (done[b]) return;
      const res = results[b]!;
      if (this.#abortAll || r.cancelled?.()) {
        done[b] = 1;
        res.finish = "cancelled";
        this.stats.cancelled++;
        return;
      }
      const row = logits.subarray(b * V, (b + 1) * V); // (V)
      const allowed = row.subarray(0, limit);
      const id = r.temperature === 0 ? argmax(allowed) : drawToken(allowed, r.temperature, r.topK, r.topP, r.rng);
      const lse = logSumExp(row);
      const ev: TokenEvent = {
        id,
        logprob: row[id]! - lse,
        top: r.topLogprobs >= 0 ? topK(row, lse, r.topLogprobs, limit) : null,
      };
      res.tokens.push(id);
      res.logprobs.push(ev.logprob);
      res.tops.push(ev.top);
      let goOn = true;
      try {
        goOn = r.onToken ? r.onToken(ev) : true;
      } catch {
        done[b] = 1; // a failing consumer ends its own row, never the batch
        res.finish = "cancelled";
        this.stats.cancelled++;
        return;
      }
      if (r.stopIds.includes(id) || !goOn) {
        done[b] = 1;
        res.finish = "stop";
      } else if (res.tokens.length >= r.maxTokens) done[b] = 1;
    });
  }
}

/** log sum exp of a row, in float64. */
export function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  return max + Math.log(sum);
}

/** The k most likely ids below `limit` with their log-probs, most likely first (ties: lower id). */
export function topK(row: Float32Array, lse: number, k: number, limit: number): TopLogprobs {
  const best: number[] = [];
  for (let i = 0; i < limit && k > 0; i++) {
    if (best.length === k && row[i]! <= row[best[k - 1]!]!) continue;
    let j = best.length < k ? best.length : k - 1;
    best[j] = i;
    while (j > 0 && row[best[j - 1]!]! < row[i]!) {
      best[j] = best[j - 1]!;
      best[j - 1] = i;
      j--;
    }
  }
  return best.map((i) => [i, row[i]! - lse]);
}

function scorePrompt(
  logits: Float32Array,
  r: GenRow,
  b: number,
  P: number,
  V: number,
  limit: number,
): RowResult["prompt"] {
  const pad = P - r.prompt.length;
  return r.prompt.map((id, j) => {
    if (j === 0) return { logprob: null, top: null };
    const row = logits.subarray((b * P + pad + j - 1) * V, (b * P + pad + j) * V); // (V)
    const lse = logSumExp(row);
    return {
      logprob: row[id]! - lse,
      top: r.topLogprobs >= 0 ? topK(row, lse, r.topLogprobs, Math.min(V, limit)) : null,
    };
  });
}

function lastPositions(logits: Float32Array, B: number, P: number, V: number): Float32Array {
  const out = new Float32Array(B * V); // (B, V)
  for (let b = 0; b < B; b++) out.set(logits.subarray((b * P + P - 1) * V, (b * P + P) * V), b * V);
  return out;
}
