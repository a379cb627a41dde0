// POST /v1/completions: raw prompts (a string, strings, token ids or lists of token ids), `n`
// choices each, optional `echo` of the prompt and legacy `logprobs` ({tokens, token_logprobs,
// top_logprobs, text_offset}); streamed as `text_completion` chunks when `stream` is set.
// Choice index = prompt index * n + i. Log-probs cover every generated token, the eos included;
// `top_logprobs[i]` holds the k most likely tokens plus the chosen one. Streamed chunks carry the
// log-probs of their own tokens, with text_offset counted from the chunk's first token; an echoed
// prompt is streamed as text only (its log-probs come with non-streamed requests).
import type { RowResult, TokenEvent, TopLogprobs } from "./engine.ts";
import { ApiError, CompletionRequestSchema, MAX_ROWS_PER_REQUEST, parseBody } from "./protocol.ts";
import type { CompletionRequest } from "./protocol.ts";
import { checkContext, checkIds, checkModel, finishReason, makeChoices, newId, samplingFrom, usage } from "./common.ts";
import type { Choice, Reply, ServeContext } from "./common.ts";
import { tokenText } from "./text.ts";

interface Prompt {
  ids: number[];
  text: string;
}

interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

function prompts(ctx: ServeContext, b: CompletionRequest): Prompt[] {
  const p = b.prompt;
  const list: (string | number[])[] =
    typeof p === "string" ? [p] : typeof p[0] === "number" ? [p as number[]] : (p as (string | number[])[]);
  return list.map((x, i) => {
    const param = list.length > 1 ? `prompt.${i}` : "prompt";
    if (typeof x === "string") {
      const ids = ctx.tokenizer.encode(x);
      if (ids.length === 0)
        throw new ApiError(
          400,
          "the prompt is empty: give at least one token of text",
          "invalid_request_error",
          param,
          "invalid_value",
        );
      return { ids, text: x };
    }
    checkIds(ctx, x, param);
    return { ids: x, text: ctx.tokenizer.decode(x) };
  });
}

function topDict(
  ctx: ServeContext,
  top: TopLogprobs | null,
  chosen: number,
  lp: number | null,
): Record<string, number> | null {
  if (top === null) return null;
  const d: Record<string, number> = {};
  for (const [id, l] of top) d[tokenText(ctx.tokenizer, id)] ??= l;
  if (lp !== null) d[tokenText(ctx.tokenizer, chosen)] ??= lp;
  return d;
}

/** Legacy log-probs of token events; offsets start at `offset` in the choice's text. */
function legacy(
  ctx: ServeContext,
  ids: number[],
  lps: (number | null)[],
  tops: (TopLogprobs | null)[],
  offset: number,
): LegacyLogprobs {
  const out: LegacyLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  ids.forEach((id, i) => {
    out.tokens.push(tokenText(ctx.tokenizer, id));
    out.token_logprobs.push(lps[i]!);
    out.top_logprobs.push(i === 0 && lps[i] === null ? null : topDict(ctx, tops[i]!, id, lps[i]!));
    out.text_offset.push(
      offset + ctx.tokenizer.decode(ids.slice(0, i).filter((t) => t < ctx.tokenizer.vocabSize)).length,
    );
  });
  return out;
}

function promptLegacy(ctx: ServeContext, p: Prompt, r: RowResult): LegacyLogprobs {
  const s = r.prompt ?? p.ids.map(() => ({ logprob: null, top: null }));
  return legacy(
    ctx,
    p.ids,
    s.map((x) => x.logprob),
    s.map((x) => x.top),
    0,
  );
}

function merge(a: LegacyLogprobs, b: LegacyLogprobs): LegacyLogprobs {
  return {
    tokens: [...a.tokens, ...b.tokens],
    token_logprobs: [...a.token_logprobs, ...b.token_logprobs],
    top_logprobs: [...a.top_logprobs, ...b.top_logprobs],
    text_offset: [...a.text_offset, ...b.text_offset],
  };
}

export async function handleCompletions(ctx: ServeContext, body: unknown, reply: Reply): Promise<void> {
  const b = parseBody(CompletionRequestSchema, body);
  checkModel(ctx, b.model);
  const ps = prompts(ctx, b);
  const maxTokens = b.max_tokens ?? 16;
  ps.forEach((p, i) => checkContext(ctx, p.ids.length, maxTokens, ps.length > 1 ? `prompt.${i}` : "max_tokens"));
  const sp = samplingFrom(b, maxTokens, b.logprobs ?? -1);
  if (ps.length * sp.n > MAX_ROWS_PER_REQUEST)
    throw new ApiError(
      400,
      `${ps.length} prompts x n ${sp.n} is more than ${MAX_ROWS_PER_REQUEST} completions in one request: split it`,
      "invalid_request_error",
      "n",
    );
  if (b.best_of !== undefined && b.best_of !== sp.n)
    throw new ApiError(400, "best_of must equal n (no server-side ranking)", "invalid_request_error", "best_of");
  const echo = b.echo ?? false,
    stream = b.stream ?? false;
  const id = newId("cmpl"),
    created = Math.floor(Date.now() / 1000);
  const chunk = (choices: unknown[], extra: object = {}) => ({
    id,
    object: "text_completion",
    created,
    model: ctx.modelName,
    choices,
    ...extra,
  });
  const onDelta = (c: Choice, delta: string) => {
    const evs = c.pending.splice(0);
    reply.event(
      chunk([{ index: c.index, text: delta, logprobs: streamLogprobs(ctx, evs, sp.topLogprobs), finish_reason: null }]),
    );
  };
  const perPrompt = ps.map((p, i) =>
    makeChoices(ctx, p.ids, sp, i * sp.n, reply, {
      promptLogprobs: echo && sp.topLogprobs >= 0,
      onDelta: stream ? onDelta : undefined,
    }),
  );
  const choices = perPrompt.flat();
  if (stream) {
    reply.startStream();
    if (echo)
      perPrompt.forEach((cs, i) =>
        cs.forEach((c) =>
          reply.event(chunk([{ index: c.index, text: ps[i]!.text, logprobs: null, finish_reason: null }])),
        ),
      );
  }
  const results = await ctx.engine.submit(choices.map((c) => c.row));
  const completionTokens = results.reduce((s, r) => s + r.tokens.length, 0);
  const u = usage(
    ps.reduce((s, p) => s + p.ids.length, 0),
    completionTokens,
  );
  if (stream) {
    choices.forEach((c, i) => {
      const tail = c.text.finish(),
        evs = c.pending.splice(0);
      const lp = evs.length > 0 ? streamLogprobs(ctx, evs, sp.topLogprobs) : null;
      reply.event(
        chunk([{ index: c.index, text: tail, logprobs: lp, finish_reason: finishReason(results[i]!.finish) }]),
      );
    });
    if (b.stream_options?.include_usage) reply.event(chunk([], { usage: u }));
    return reply.endStream();
  }
  const out = choices.map((c, i) => {
    const r = results[i]!,
      p = ps[Math.floor(c.index / sp.n)]!;
    c.text.finish();
    const text = c.text.text;
    const prefix = echo ? p.text : "";
    let logprobs: LegacyLogprobs | null = null;
    if (sp.topLogprobs >= 0) {
      logprobs = legacy(ctx, r.tokens, r.logprobs, r.tops, prefix.length);
      if (echo) logprobs = merge(promptLegacy(ctx, p, r), logprobs);
    }
    return { index: c.index, text: prefix + text, logprobs, finish_reason: finishReason(r.finish) };
  });
  reply.json(200, { id, object: "text_completion", created, model: ctx.modelName, choices: out, usage: u });
}

function streamLogprobs(ctx: ServeContext, evs: TokenEvent[], k: number): LegacyLogprobs | null {
  if (k < 0 || evs.length === 0) return null;
  return legacy(
    ctx,
    evs.map((e) => e.id),
    evs.map((e) => e.logprob),
    evs.map((e) => e.top),
    0,
  );
}
