// Sampling counter-aligned thinking from the pi_harm / pi_refuse endpoints, through the eval
// providers (chat or raw completions with the source model's own template; retries with backoff
// from their HTTP layer), at most `concurrency` calls in flight per endpoint, each answer written
// to the cache as it arrives. The source model is asked the item's prompt with its thinking
// opened (`<think>\n` placed by the template rules of src/lm/templates.ts, or vLLM's
// continue_final_message on chat) and stops at `</think>`; what it wrote before `</think>` is the
// thinking. Before any call, each endpoint that still has work is probed (GET /v1/models), so an
// unreachable server or a wrong model name fails at once with the URL and the fix.
import { loadChatTemplate } from "../../lm/templates.ts";
import type { ChatTemplate } from "../../lm/templates.ts";
import { HttpOptionsSchema, endpointUrl, mapPool } from "../../lm/providers/http.ts";
import type { HttpOptions } from "../../lm/providers/http.ts";
import { ChatProvider } from "../../lm/providers/openai_chat.ts";
import { CompletionsProvider } from "../../lm/providers/openai_completions.ts";
import type { ChatMessage, GenRequest, Provider } from "../../lm/types.ts";
import { RecapError } from "../../util/errors.ts";
import type { PrefillCache } from "./cache.ts";
import { cacheKey } from "./cache.ts";
import type { SourceEndpoint } from "./config.ts";

/** pi_harm / pi_refuse: `recap data build`; source: `recap data attack-material`. */
export type SourceRole = "pi_harm" | "pi_refuse" | "source";

export interface SampleJob {
  role: SourceRole;
  /** Item id (provenance). */
  id: string;
  messages: ChatMessage[];
  seed: number;
}

export interface SourceClient {
  role: SourceRole;
  endpoint: SourceEndpoint;
  provider: Provider;
  http: HttpOptions;
  /** Part of every cache key: who samples and how. */
  keyParts: Record<string, unknown>;
  /** How errors name this endpoint's settings (default `endpoints.<role>`, the build config's path). */
  where: string;
}

function httpOf(e: SourceEndpoint): HttpOptions {
  return HttpOptionsSchema.parse({
    timeoutMs: e.timeout_ms,
    retries: e.retries,
    backoffMs: e.backoff_ms,
    concurrency: e.concurrency,
    ...(e.api_key ? { apiKey: e.api_key } : {}),
  });
}

/** The provider for one source endpoint, and what identifies its samples. */
export function sourceClient(role: SourceRole, e: SourceEndpoint, where = `endpoints.${role}`): SourceClient {
  const http = httpOf(e);
  let template: ChatTemplate | undefined;
  let provider: Provider;
  if (e.api === "completions") {
    template = loadChatTemplate(e.chat_template!);
    provider = new CompletionsProvider({
      baseUrl: e.url,
      model: e.model,
      template,
      http,
      ...(e.template_extra ? { templateExtra: e.template_extra } : {}),
    });
  } else
    provider = new ChatProvider({
      baseUrl: e.url,
      model: e.model,
      http,
      ...(e.extra_body ? { extraBody: e.extra_body } : {}),
    });
  const keyParts = {
    model: e.model,
    api: e.api,
    template: template?.template ?? null,
    template_extra: e.template_extra ?? null,
    extra_body: e.extra_body ?? null,
    max_tokens: e.max_tokens,
    temperature: e.temperature,
    top_p: e.top_p,
  };
  return { role, endpoint: e, provider, http, keyParts, where };
}

/** The cache key of one job on one client. */
export function jobKey(c: SourceClient, j: SampleJob): string {
  return cacheKey({ ...c.keyParts, messages: j.messages, seed: j.seed });
}

/** GET /v1/models: reachable, authorised, serving the model (servers without the route pass). */
export async function probeEndpoint(c: SourceClient): Promise<void> {
  const e = c.endpoint,
    where = c.where;
  const url = endpointUrl(e.url, "/v1/models");
  let res: Response;
  try {
    res = await fetch(url, {
      headers: e.api_key ? { authorization: `Bearer ${e.api_key}` } : {},
      signal: AbortSignal.timeout(Math.min(e.timeout_ms, 15_000)),
    });
  } catch (err) {
    const code = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new RecapError(
      `${where}: cannot reach ${e.url} (${code})`,
      `start the ${c.role} server (vLLM, SGLang, llama.cpp or \`recap serve\`) or fix ${where}.url`,
    );
  }
  if (res.status === 401 || res.status === 403)
    throw new RecapError(`${where}: ${e.url} refused the API key (HTTP ${res.status})`, `set ${where}.api_key`);
  if (!res.ok) return;
  const body = (await res.json().catch(() => null)) as { data?: { id?: unknown }[] } | null;
  const ids = (body?.data ?? []).map((m) => m.id).filter((x): x is string => typeof x === "string");
  if (ids.length > 0 && !ids.includes(e.model))
    throw new RecapError(
      `${where}: ${e.url} does not serve model "${e.model}" (it serves: ${ids.join(", ")})`,
      `set ${where}.model to the served name`,
    );
}

/** The thinking in a sampled text: a leading `<think>` dropped, cut before the first `</think>`
 *  or any further `<think>` (so the policy's prompt opens the thinking exactly once), leading
 *  whitespace trimmed. */
export function thinkingOf(text: string): string {
  const t = text.replace(/^\s*<think>/, "");
  const end = t.search(/<\/?think>/);
  return (end >= 0 ? t.slice(0, end) : t).replace(/^\s+/, "");
}

export interface SampleStats {
  cached: number;
  sampled: number;
}

/** Samples every job not yet in the cache; returns the records of all jobs (by cache key).
 *  `onSample` runs after each new record is on disk (progress; tests stop a build with it). */
export async function sampleAll(
  client: SourceClient,
  jobs: readonly SampleJob[],
  cache: PrefillCache,
  onSample: (n: number) => void = () => undefined,
): Promise<SampleStats> {
  const todo = jobs.filter((j) => cache.get(jobKey(client, j)) === undefined);
  const stats = { cached: jobs.length - todo.length, sampled: 0 };
  if (todo.length === 0) return stats;
  await probeEndpoint(client);
  const e = client.endpoint;
  const errors: string[] = [];
  let fatal: { error: unknown } | undefined; // a thrown failure stops the remaining jobs (in-flight ones still land in the cache)
  await mapPool(todo, e.concurrency, async (j) => {
    if (fatal) return;
    try {
      const req: GenRequest = {
        key: j.id,
        messages: j.messages,
        thinking: "",
        n: 1,
        params: {
          maxTokens: e.max_tokens,
          temperature: e.temperature,
          topP: e.top_p,
          seed: j.seed,
          stop: ["</think>"],
        },
      };
      const [res] = await client.provider.generate([req]);
      const c = res?.completions[0];
      if (!c) {
        errors.push(`${j.id}: ${res?.error ?? "no completion"}`);
        return;
      }
      cache.put({
        key: jobKey(client, j),
        role: client.role,
        model: e.model,
        url: e.url,
        id: j.id,
        seed: j.seed,
        text: thinkingOf(c.text),
        finish_reason: c.finishReason,
        completion_tokens: c.completionTokens,
      });
      stats.sampled++;
      if (!fatal) onSample(stats.sampled);
    } catch (err) {
      fatal ??= { error: err };
    }
  });
  if (fatal) throw fatal.error;
  if (errors.length > 0)
    throw new RecapError(
      `${errors.length} of ${todo.length} ${client.role} samples failed at ${e.url}; first: ${errors[0]}`,
      "the samples that arrived are cached: fix the endpoint and rerun the same command to sample only the rest",
    );
  return stats;
}
