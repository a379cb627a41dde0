// POST /v1/chat/completions: messages rendered with the model's chat template, then sampled.
// `add_generation_prompt` (default true) opens the assistant turn; `continue_final_message`
// (vLLM's extension) instead continues a final assistant message, e.g. a prefilled thinking
// "<think>...", and then add_generation_prompt defaults to false (both true is an error, as in
// vLLM). The reply's content is only the new text. `logprobs` / `top_logprobs` follow OpenAI's
// chat format ({content: [{token, logprob, bytes, top_logprobs}]}), eos included.
import { renderChat } from "../model/chat_template.ts";
import type { ChatMessage } from "../model/chat_template.ts";
import type { TokenEvent } from "./engine.ts";
import { ApiError, ChatRequestSchema, parseBody } from "./protocol.ts";
import type { ChatRequest } from "./protocol.ts";
import { checkContext, checkModel, finishReason, makeChoices, newId, samplingFrom, usage } from "./common.ts";
import type { Choice, Reply, ServeContext } from "./common.ts";
import { tokenBytes, tokenText } from "./text.ts";

const ROLES = new Set(["system", "user", "assistant"]);

function messages(b: ChatRequest): ChatMessage[] {
  return b.messages.map((m, i) => {
    if (!ROLES.has(m.role))
      throw new ApiError(
        400,
        `messages.${i}.role "${m.role}" is not supported: use system, user or assistant`,
        "invalid_request_error",
        `messages.${i}.role`,
        "invalid_value",
      );
    const c = m.content ?? "";
    return { role: m.role, content: typeof c === "string" ? c : c.map((p) => p.text).join("") };
  });
}

function render(b: ChatRequest): string {
  const cont = b.continue_final_message ?? false;
  const agp = b.add_generation_prompt ?? !cont;
  if (cont && agp)
    throw new ApiError(
      400,
      "continue_final_message and add_generation_prompt cannot both be true",
      "invalid_request_error",
      "continue_final_message",
    );
  const msgs = messages(b);
  if (cont && msgs[msgs.length - 1]!.role !== "assistant")
    throw new ApiError(
      400,
      "continue_final_message needs a final assistant message to continue",
      "invalid_request_error",
      "messages",
      "invalid_value",
    );
  try {
    return renderChat(msgs, { addGenerationPrompt: agp, continueFinalMessage: cont });
  } catch (e) {
    throw new ApiError(
      422,
      `the chat template rejected the messages: ${(e as Error).message}`,
      "invalid_request_error",
      "messages",
    );
  }
}

function chatLogprobs(ctx: ServeContext, evs: TokenEvent[]): { content: unknown[] } {
  const entry = (id: number, logprob: number) => ({
    token: tokenText(ctx.tokenizer, id),
    logprob,
    bytes: tokenBytes(ctx.tokenizer, id),
  });
  return {
    content: evs.map((e) => ({
      ...entry(e.id, e.logprob),
      top_logprobs: (e.top ?? []).map(([id, l]) => entry(id, l)),
    })),
  };
}

export async function handleChat(ctx: ServeContext, body: unknown, reply: Reply): Promise<void> {
  const b = parseBody(ChatRequestSchema, body);
  checkModel(ctx, b.model);
  if (b.top_logprobs !== undefined && b.logprobs !== true)
    throw new ApiError(400, "top_logprobs needs logprobs: true", "invalid_request_error", "top_logprobs");
  const ids = ctx.tokenizer.encode(render(b));
  const param = b.max_completion_tokens !== undefined ? "max_completion_tokens" : "max_tokens";
  const maxTokens = b.max_completion_tokens ?? b.max_tokens ?? Math.max(1, ctx.context - ids.length);
  checkContext(ctx, ids.length, maxTokens, param);
  const sp = samplingFrom(b, maxTokens, b.logprobs ? (b.top_logprobs ?? 0) : -1);
  const stream = b.stream ?? false;
  const id = newId("chatcmpl"),
    created = Math.floor(Date.now() / 1000);
  const chunk = (choices: unknown[], extra: object = {}) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model: ctx.modelName,
    choices,
    ...extra,
  });
  const lp = (evs: TokenEvent[]) => (sp.topLogprobs >= 0 && evs.length > 0 ? chatLogprobs(ctx, evs) : null);
  const onDelta = (c: Choice, delta: string) =>
    reply.event(
      chunk([{ index: c.index, delta: { content: delta }, logprobs: lp(c.pending.splice(0)), finish_reason: null }]),
    );
  const choices = makeChoices(ctx, ids, sp, 0, reply, { promptLogprobs: false, onDelta: stream ? onDelta : undefined });
  if (stream) {
    reply.startStream();
    for (const c of choices)
      reply.event(
        chunk([{ index: c.index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]),
      );
  }
  const results = await ctx.engine.submit(choices.map((c) => c.row));
  const u = usage(
    ids.length,
    results.reduce((s, r) => s + r.tokens.length, 0),
  );
  if (stream) {
    choices.forEach((c, i) => {
      const tail = c.text.finish();
      reply.event(
        chunk([
          {
            index: c.index,
            delta: tail ? { content: tail } : {},
            logprobs: lp(c.pending.splice(0)),
            finish_reason: finishReason(results[i]!.finish),
          },
        ]),
      );
    });
    if (b.stream_options?.include_usage) reply.event(chunk([], { usage: u }));
    return reply.endStream();
  }
  const out = choices.map((c, i) => {
    const r = results[i]!;
    const evs = r.tokens.map((t, j) => ({ id: t, logprob: r.logprobs[j]!, top: r.tops[j] ?? null }));
    c.text.finish();
    return {
      index: c.index,
      message: { role: "assistant", content: c.text.text },
      logprobs: sp.topLogprobs >= 0 ? chatLogprobs(ctx, evs) : null,
      finish_reason: finishReason(r.finish),
    };
  });
  reply.json(200, { id, object: "chat.completion", created, model: ctx.modelName, choices: out, usage: u });
}
