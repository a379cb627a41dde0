// OpenAI-compatible text completions (`POST {base}/v1/completions`): vLLM, SGLang, llama.cpp's
// server, `recap serve`. We render the prompt ourselves from the model's own chat template (a
// tokenizer_config.json or .jinja file the user gives), so a prefill or a full CoT hijack lands
// exactly where the template puts the thinking (src/lm/templates.ts `renderPrefilled`: `<think>`
// appears once; a hijack's `</think>` cannot be dropped by the template as a chat API would).
// Our own tiny model's template (a `recap serve` endpoint) renders exactly as the embedded provider.
// Each sample is its own call with n = 1 and seed + j, so token usage is exact per completion and
// a retry redoes one sample only. Without logprobs the CoT / response split of the token count is
// estimated from character shares (`approxTokens`); with `logprobs: true` it is exact.
import type { ChatTemplate } from "../templates.ts";
import { opensThinking, renderMessages, renderPrefilled } from "../templates.ts";
import { CHAT_TEMPLATE } from "../../model/chat_template.ts";
import { RecapError } from "../../util/errors.ts";
import type { Completion, GenRequest, GenResult, Provider } from "../types.ts";
import { approxSplit } from "../types.ts";
import { renderEmbeddedPrompt } from "./embedded.ts";
import type { HttpOptions } from "./http.ts";
import { endpointUrl, mapPool, postJson } from "./http.ts";

export interface CompletionsOptions {
  /** Server base URL, e.g. http://127.0.0.1:8000 (a trailing /v1 is fine). */
  baseUrl: string;
  /** The served model name. */
  model: string;
  /** The model's chat template; required for chat-message requests (raw prompts need none). */
  template?: ChatTemplate;
  /** Extra template variables, e.g. { enable_thinking: true } for Qwen3. */
  templateExtra?: Record<string, unknown>;
  /** Ask for the sampled tokens' logprobs (logprobs: 1) to split CoT / response tokens exactly. */
  logprobs?: boolean;
  http: HttpOptions;
}

/** The exact prompt text a request becomes, and whether a thinking block is open at its end. */
export function renderCompletionPrompt(
  req: GenRequest,
  o: Pick<CompletionsOptions, "template" | "templateExtra">,
): { prompt: string; open: boolean } {
  if (req.raw !== undefined) return { prompt: req.raw, open: opensThinking(req.raw) };
  if (!o.template)
    throw new RecapError(
      "the completions provider needs the model's chat template to render chat messages",
      "pass --chat-template FILE (the model's tokenizer_config.json or .jinja)",
    );
  if (o.template.template === CHAT_TEMPLATE)
    return { prompt: renderEmbeddedPrompt(req), open: req.thinking !== undefined && !req.closeThinking }; // our tiny model (`recap serve`): `<think>` without a newline
  const extra = o.templateExtra ? { extra: o.templateExtra } : {};
  if (req.thinking === undefined) {
    const prompt = renderMessages(o.template, req.messages, true, extra);
    return { prompt, open: opensThinking(prompt) };
  }
  const prompt = renderPrefilled(o.template, req.messages, req.thinking, {
    ...extra,
    closeThinking: req.closeThinking ?? false,
  });
  return { prompt, open: !req.closeThinking };
}

interface CompletionChoice {
  text?: unknown;
  finish_reason?: unknown;
  logprobs?: { tokens?: unknown } | null;
}

function parseChoice(json: unknown, open: boolean): Completion {
  const j = json as { choices?: CompletionChoice[]; usage?: { completion_tokens?: unknown } };
  const c = j.choices?.[0];
  if (!c || typeof c.text !== "string") throw new Error("the reply has no choices[0].text");
  const tokens = Array.isArray(c.logprobs?.tokens) ? (c.logprobs!.tokens as unknown[]).map(String) : undefined;
  const usage = typeof j.usage?.completion_tokens === "number" ? j.usage.completion_tokens : undefined;
  const total = tokens?.length ?? usage;
  if (total === undefined) throw new Error("the reply has neither usage.completion_tokens nor logprobs.tokens");
  const split = tokens ? exactSplit(tokens, open) : approxSplit(c.text, total, open);
  return {
    text: c.text,
    completionTokens: total,
    ...split,
    ...(!tokens && split.cotTokens * split.responseTokens > 0 ? { approxTokens: true } : {}),
    finishReason: typeof c.finish_reason === "string" ? c.finish_reason : "unknown",
  };
}

/** CoT / response token counts from token strings: CoT ends with the token completing `</think>`. */
export function exactSplit(tokens: string[], open: boolean): { cotTokens: number; responseTokens: number } {
  let acc = "";
  for (let i = 0; i < tokens.length; i++) {
    acc += tokens[i];
    if (acc.includes("</think>")) return { cotTokens: i + 1, responseTokens: tokens.length - i - 1 };
  }
  const cot = open || /^\s*<think>/.test(acc);
  return cot ? { cotTokens: tokens.length, responseTokens: 0 } : { cotTokens: 0, responseTokens: tokens.length };
}

export class CompletionsProvider implements Provider {
  constructor(private readonly o: CompletionsOptions) {}

  id(): string {
    return `completions:${this.o.model}@${this.o.baseUrl}`;
  }

  batchSize(): number {
    return Math.max(1, this.o.http.concurrency * 2);
  }

  check(request: GenRequest): void {
    renderCompletionPrompt(request, this.o);
  }

  async generate(requests: GenRequest[]): Promise<GenResult[]> {
    const rendered = requests.map((r) => renderCompletionPrompt(r, this.o)); // RecapError: bad config, before any call
    const calls = requests.flatMap((r, i) => Array.from({ length: r.n }, (_, j) => ({ i, j })));
    const url = endpointUrl(this.o.baseUrl, "/v1/completions");
    const outs = await mapPool(calls, this.o.http.concurrency, async ({ i, j }) => {
      const req = requests[i]!,
        { prompt, open } = rendered[i]!,
        p = req.params;
      const body: Record<string, unknown> = {
        model: this.o.model,
        prompt,
        max_tokens: p.maxTokens,
        temperature: p.temperature,
        top_p: p.topP,
        n: 1,
        seed: p.seed + j,
      };
      if (p.stop?.length) body["stop"] = p.stop;
      if (this.o.logprobs) body["logprobs"] = 1;
      try {
        return { completion: parseChoice(await postJson(url, body, this.o.http), open) };
      } catch (e) {
        return { error: (e as Error).message };
      }
    });
    return collect(requests, calls, outs);
  }
}

/** Groups per-sample outcomes back into one GenResult per request (first error wins). */
export function collect(
  requests: GenRequest[],
  calls: { i: number; j: number }[],
  outs: ({ completion: Completion } | { error: string })[],
): GenResult[] {
  const results: GenResult[] = requests.map((r) => ({ key: r.key, completions: [] }));
  calls.forEach(({ i }, c) => {
    const o = outs[c]!,
      res = results[i]!;
    if ("error" in o) res.error ??= o.error;
    else res.completions.push(o.completion);
  });
  for (const r of results) if (r.error) r.completions = [];
  return results;
}
