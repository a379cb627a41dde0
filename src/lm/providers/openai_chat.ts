// OpenAI-compatible chat completions (`POST {base}/v1/chat/completions`). The server renders its
// own chat template. A prefill is sent the vLLM way: a final assistant message holding
// `<think>\n` + the prefill, with `continue_final_message: true, add_generation_prompt: false`
// (vLLM's extension; SGLang accepts the same fields). A full CoT hijack (closed thinking, i.e. a
// `</think>` inside the prefill) is refused here: chat templates rewrite assistant content around
// `</think>` (DeepSeek keeps only the text after it; Qwen3 moves it into its own block), so the
// server would silently drop or move the hijack; use the completions provider with the model's
// template instead. The same rewriting breaks prefills on Qwen3-style templates; the completions
// provider is the exact path there too. Servers with a reasoning parser return the thinking in
// `message.reasoning_content` (or `reasoning`); it is joined back as `reasoning</think>content`.
import { RecapError } from "../../util/errors.ts";
import type { Completion, GenRequest, GenResult, Provider } from "../types.ts";
import { approxSplit } from "../types.ts";
import type { HttpOptions } from "./http.ts";
import { endpointUrl, mapPool, postJson } from "./http.ts";
import { collect, exactSplit } from "./openai_completions.ts";

export interface ChatOptions {
  baseUrl: string;
  model: string;
  /** Text put before a prefill in the final assistant message. Default "<think>\n". */
  thinkOpen?: string;
  /** Ask for logprobs (logprobs: true) to split CoT / response tokens exactly. */
  logprobs?: boolean;
  /** Extra body fields sent with every call (e.g. chat_template_kwargs). */
  extraBody?: Record<string, unknown>;
  http: HttpOptions;
}

/** The chat body fields a request becomes (messages and the prefill flags). */
export function chatMessagesFor(req: GenRequest, thinkOpen = "<think>\n"): Record<string, unknown> {
  if (req.raw !== undefined)
    throw new RecapError("the chat provider cannot send a raw text prompt", "use --api completions for raw prompts");
  if (req.closeThinking || req.thinking?.includes("</think>"))
    throw new RecapError(
      "a full CoT hijack (closed thinking) cannot go through the chat API: the server's chat template would drop or move the text before </think>",
      "use --api completions with --chat-template FILE (the model's own template) for hijack attacks",
    );
  if (req.thinking === undefined) return { messages: req.messages };
  return {
    messages: [...req.messages, { role: "assistant", content: thinkOpen + req.thinking }],
    continue_final_message: true,
    add_generation_prompt: false,
  };
}

interface ChatChoice {
  message?: { content?: unknown; reasoning_content?: unknown; reasoning?: unknown };
  finish_reason?: unknown;
  logprobs?: { content?: { token?: unknown }[] | null } | null;
}

function parseChoice(json: unknown, open: boolean): Completion {
  const j = json as { choices?: ChatChoice[]; usage?: { completion_tokens?: unknown } };
  const c = j.choices?.[0];
  const m = c?.message;
  if (!m || !(typeof m.content === "string" || m.content === null))
    throw new Error("the reply has no choices[0].message.content");
  const reasoning =
    typeof m.reasoning_content === "string"
      ? m.reasoning_content
      : typeof m.reasoning === "string"
        ? m.reasoning
        : undefined;
  const content = typeof m.content === "string" ? m.content : "";
  const text = reasoning !== undefined ? `${reasoning}</think>${content}` : content;
  const tokens = Array.isArray(c?.logprobs?.content)
    ? c!.logprobs!.content!.map((t) => String(t.token ?? ""))
    : undefined;
  const usage = typeof j.usage?.completion_tokens === "number" ? j.usage.completion_tokens : undefined;
  const total = usage ?? tokens?.length;
  if (total === undefined) throw new Error("the reply has neither usage.completion_tokens nor logprobs.content");
  const exact = tokens !== undefined && reasoning === undefined;
  const split = exact ? exactSplit(tokens, open) : approxSplit(text, total, open);
  return {
    text,
    completionTokens: total,
    ...split,
    ...(!exact && split.cotTokens * split.responseTokens > 0 ? { approxTokens: true } : {}),
    finishReason: typeof c?.finish_reason === "string" ? c.finish_reason : "unknown",
  };
}

export class ChatProvider implements Provider {
  constructor(private readonly o: ChatOptions) {}

  id(): string {
    return `chat:${this.o.model}@${this.o.baseUrl}`;
  }

  batchSize(): number {
    return Math.max(1, this.o.http.concurrency * 2);
  }

  check(request: GenRequest): void {
    chatMessagesFor(request, this.o.thinkOpen);
  }

  async generate(requests: GenRequest[]): Promise<GenResult[]> {
    const bodies = requests.map((r) => chatMessagesFor(r, this.o.thinkOpen)); // RecapError before any call
    const calls = requests.flatMap((r, i) => Array.from({ length: r.n }, (_, j) => ({ i, j })));
    const url = endpointUrl(this.o.baseUrl, "/v1/chat/completions");
    const outs = await mapPool(calls, this.o.http.concurrency, async ({ i, j }) => {
      const req = requests[i]!,
        p = req.params;
      const body: Record<string, unknown> = {
        ...this.o.extraBody,
        model: this.o.model,
        ...bodies[i],
        max_tokens: p.maxTokens,
        temperature: p.temperature,
        top_p: p.topP,
        n: 1,
        seed: p.seed + j,
      };
      if (p.stop?.length) body["stop"] = p.stop;
      if (this.o.logprobs) body["logprobs"] = true;
      try {
        return { completion: parseChoice(await postJson(url, body, this.o.http), req.thinking !== undefined) };
      } catch (e) {
        return { error: (e as Error).message };
      }
    });
    return collect(requests, calls, outs);
  }
}
