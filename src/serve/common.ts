// What the endpoint handlers share: the serving context, the reply channel (one JSON body or a
// server-sent event stream), sampling rows built from a request, and response ids.
import { randomBytes, randomInt } from "node:crypto";
import { Rng } from "../engine/rng.ts";
import type { Tokenizer } from "../model/tokenizer.ts";
import type { BatchEngine, GenRow, RowFinish, TokenEvent } from "./engine.ts";
import { ApiError } from "./protocol.ts";
import { TextStream } from "./text.ts";
import type { SamplingParams } from "../lm/types.ts";

export interface ServeContext {
  engine: BatchEngine;
  tokenizer: Tokenizer;
  modelName: string;
  /** The model's context length (max_position_embeddings). */
  context: number;
  created: number;
}

/** Where a handler writes its answer. */
export interface Reply {
  json(status: number, body: unknown): void;
  /** Starts an event stream (status 200); later `event` calls write `data: JSON\n\n`. */
  startStream(): void;
  event(body: unknown): void;
  /** Writes `data: [DONE]` and ends the stream. */
  endStream(): void;
  /** True once the client has gone away. */
  readonly closed: boolean;
}

/** A request's sampling: the knobs every generator shares (src/lm/types.ts) and the server's own. */
export interface ServeSampling extends SamplingParams {
  /** Keep the K most likely tokens (0 = off). */
  topK: number;
  /** Completions to return. */
  n: number;
  stop: string[];
  /** -1: no log-probs; else alternatives per token. */
  topLogprobs: number;
}

/** Common sampling fields with OpenAI's defaults (temperature 1, top_p 1, n 1, random seed). */
export function samplingFrom(
  b: { temperature?: number; top_p?: number; top_k?: number; n?: number; seed?: number; stop: string[] },
  maxTokens: number,
  topLogprobs: number,
): ServeSampling {
  return {
    maxTokens,
    topLogprobs,
    stop: b.stop,
    temperature: b.temperature ?? 1,
    topP: b.top_p ?? 1,
    topK: Math.max(0, b.top_k ?? 0),
    n: b.n ?? 1,
    seed: b.seed ?? randomInt(0, 2 ** 31),
  };
}

export function checkModel(ctx: ServeContext, model: string): void {
  if (model !== ctx.modelName)
    throw new ApiError(
      404,
      `the model \`${model}\` does not exist: this server serves \`${ctx.modelName}\``,
      "invalid_request_error",
      "model",
      "model_not_found",
    );
}

export function checkContext(ctx: ServeContext, promptTokens: number, maxTokens: number, param: string): void {
  if (promptTokens + maxTokens > ctx.context)
    throw new ApiError(
      422,
      `this model's maximum context length is ${ctx.context} tokens, but ${promptTokens} prompt tokens + ${maxTokens} max tokens were requested: shorten the prompt or lower ${param}`,
      "invalid_request_error",
      param,
      "context_length_exceeded",
    );
}

/** One choice being generated: its row, its text stream and the token events not yet streamed. */
export interface Choice {
  index: number;
  row: GenRow;
  text: TextStream;
  pending: TokenEvent[];
}

/** Rows for `n` choices of one prompt; choice i samples from the seed's stream fork(index). */
export function makeChoices(
  ctx: ServeContext,
  prompt: number[],
  p: ServeSampling,
  firstIndex: number,
  reply: Reply,
  opts: { promptLogprobs: boolean; onDelta?: (c: Choice, delta: string) => void },
): Choice[] {
  const base = new Rng(p.seed);
  return Array.from({ length: p.n }, (_, i) => {
    const index = firstIndex + i;
    const choice: Choice = {
      index,
      text: new TextStream(ctx.tokenizer, p.stop),
      pending: [],
      row: {
        prompt,
        maxTokens: p.maxTokens,
        temperature: p.temperature,
        topP: p.topP,
        topK: p.topK,
        rng: base.fork(index),
        stopIds: [ctx.tokenizer.specialIds.eos],
        topLogprobs: p.topLogprobs,
        promptLogprobs: opts.promptLogprobs,
        cancelled: () => reply.closed,
      },
    };
    choice.row.onToken = (ev) => {
      choice.pending.push(ev);
      const delta = choice.text.push(ev.id);
      if (delta.length > 0) opts.onDelta?.(choice, delta);
      return !choice.text.stopped;
    };
    return choice;
  });
}

export function finishReason(f: RowFinish): string {
  return f === "cancelled" ? "abort" : f;
}

export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString("hex")}`;
}

export function usage(
  promptTokens: number,
  completionTokens: number,
): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/** Checks token ids against the tokenizer (the model may have unused rows above it). */
export function checkIds(ctx: ServeContext, ids: number[], param: string): void {
  const bad = ids.find((id) => id >= ctx.tokenizer.vocabSize);
  if (bad !== undefined)
    throw new ApiError(
      422,
      `token id ${bad} is outside the vocabulary (0..${ctx.tokenizer.vocabSize - 1})`,
      "invalid_request_error",
      param,
      "invalid_token",
    );
}
