// A judge endpoint: an OpenAI-compatible server holding a judge or guard model, called by the
// LLM-judge and guard graders (chat completions, or text completions with a chat template the
// user gives). Retries, timeouts and concurrency come from the providers' HTTP layer.
import { z } from "zod";
import type { ChatTemplate } from "../lm/templates.ts";
import { renderMessages } from "../lm/templates.ts";
import type { ChatMessage } from "../lm/types.ts";
import { HttpOptionsSchema, endpointUrl, postJson } from "../lm/providers/http.ts";

export const JudgeEndpointSchema = z.object({
  /** Server base URL, e.g. http://127.0.0.1:8001 (a trailing /v1 is fine). */
  url: z.string().min(1),
  /** The served judge model's name. */
  model: z.string().min(1),
  /** `chat` (the server applies the judge's template) or `completions` (we render it; needs template). */
  api: z.enum(["chat", "completions"]).default("chat"),
  /** Judge sampling temperature. Default 0 (deterministic judging). */
  temperature: z.number().min(0).default(0),
  /** Tokens the judge may write. Default 1024 (the StrongREJECT rubric writes reasoning lines). */
  maxTokens: z.number().int().positive().default(1024),
  /** Extra body fields sent with every call (e.g. chat_template_kwargs for Granite Guardian). */
  extraBody: z.record(z.string(), z.unknown()).optional(),
  /** Retries, timeout, concurrency, API key. */
  http: HttpOptionsSchema.default(HttpOptionsSchema.parse({})),
});
export type JudgeEndpoint = z.infer<typeof JudgeEndpointSchema>;

export interface JudgeCall {
  messages: ChatMessage[];
  /** Top log-probs of the first generated token (guard models). */
  topLogprobs?: number;
  maxTokens?: number;
}

export interface JudgeReply {
  text: string;
  /** Top alternatives of the first generated token: token string -> logprob (when asked). */
  firstTop?: { token: string; logprob: number }[];
}

/** One judge call; throws (HttpError or Error) on failure, which the runner records per item. */
export async function callJudge(e: JudgeEndpoint, call: JudgeCall, template?: ChatTemplate): Promise<JudgeReply> {
  const common = {
    model: e.model,
    temperature: e.temperature,
    max_tokens: call.maxTokens ?? e.maxTokens,
    ...e.extraBody,
  };
  if (e.api === "completions") {
    if (!template) throw new Error("a completions judge needs the judge model's chat template");
    const body: Record<string, unknown> = { ...common, prompt: renderMessages(template, call.messages, true) };
    if (call.topLogprobs) body["logprobs"] = call.topLogprobs;
    const j = (await postJson(endpointUrl(e.url, "/v1/completions"), body, e.http)) as {
      choices?: { text?: unknown; logprobs?: { top_logprobs?: Record<string, number>[] } }[];
    };
    const c = j.choices?.[0];
    if (typeof c?.text !== "string") throw new Error("judge reply has no choices[0].text");
    const top = c.logprobs?.top_logprobs?.[0];
    return {
      text: c.text,
      ...(top ? { firstTop: Object.entries(top).map(([token, logprob]) => ({ token, logprob })) } : {}),
    };
  }
  const body: Record<string, unknown> = { ...common, messages: call.messages };
  if (call.topLogprobs) Object.assign(body, { logprobs: true, top_logprobs: call.topLogprobs });
  const j = (await postJson(endpointUrl(e.url, "/v1/chat/completions"), body, e.http)) as {
    choices?: {
      message?: { content?: unknown };
      logprobs?: { content?: { top_logprobs?: { token: string; logprob: number }[] }[] };
    }[];
  };
  const c = j.choices?.[0];
  if (typeof c?.message?.content !== "string") throw new Error("judge reply has no choices[0].message.content");
  const top = c.logprobs?.content?.[0]?.top_logprobs;
  return {
    text: c.message.content,
    ...(top ? { firstTop: top.map((t) => ({ token: t.token, logprob: t.logprob })) } : {}),
  };
}
