// The reward server's configuration (`recap reward serve --config FILE`, YAML or JSON), and the
// OpenAI-compatible endpoint settings shared with `recap data build`. Every knob: meaning,
// default, paper value. Without a config file the server routes `math` and `world` only.
import * as path from "node:path";
import { z } from "zod";
import type { JudgeEndpoint } from "../graders/endpoint.ts";
import { HttpOptionsSchema } from "../lm/providers/http.ts";
import { DEFAULT_EOS_STRINGS } from "./response.ts";

/** Connection knobs of an OpenAI-compatible endpoint (vLLM, SGLang, llama.cpp, `recap serve`). */
export const endpointFields = {
  /** Server base URL, e.g. http://127.0.0.1:8001 (a trailing /v1 is fine). Required. */
  url: z.string().regex(/^https?:\/\//, "must be an http(s) URL"),
  /** The served model's name (what the server lists under /v1/models). Required. */
  model: z.string().min(1),
  /** "chat" (the server applies the model's chat template) or "completions" (we render it with
   *  `chat_template`, which must then be given). Default chat. */
  api: z.enum(["chat", "completions"]).default("chat"),
  /** The model's chat template (tokenizer_config.json or .jinja) for api "completions". */
  chat_template: z.string().optional(),
  /** Per-attempt timeout in ms. Default 120000. */
  timeout_ms: z.number().int().positive().default(120_000),
  /** Retries after the first attempt on 429 / 5xx / timeouts / refused connections. Default 4. */
  retries: z.number().int().nonnegative().default(4),
  /** First backoff delay in ms (doubled per retry, with jitter). Default 500. */
  backoff_ms: z.number().nonnegative().default(500),
  /** Calls in flight at once toward this endpoint. Default 8. */
  concurrency: z.number().int().positive().default(8),
  /** Sent as `Authorization: Bearer KEY`. Default: none. */
  api_key: z.string().optional(),
  /** Extra body fields sent with every call (e.g. vLLM's chat_template_kwargs). */
  extra_body: z.record(z.string(), z.unknown()).optional(),
};

/** OpenRLHF's per-call timeout for `--remote_rm_url` (requests.post(..., timeout=180) in its
 *  remote_rm_utils), in ms: one rollout's whole reward, judge retries included, must fit in it. */
export const OPENRLHF_CALL_TIMEOUT_MS = 180_000;

/** The longest a judge call can take with these settings: every attempt timing out, plus the
 *  longest backoff before each retry (doubling from backoff_ms, capped at 20 s as src/lm/providers/http.ts). */
export function judgeWorstCaseMs(j: Pick<JudgeConfig, "timeout_ms" | "retries" | "backoff_ms">): number {
  let waits = 0;
  for (let i = 0; i < j.retries; i++) waits += Math.min(20_000, j.backoff_ms * 2 ** i);
  return (j.retries + 1) * j.timeout_ms + waits;
}

export const JudgeConfigSchema = z.strictObject({
  ...endpointFields,
  /** Per-attempt timeout in ms. Default 30000: a guard answers one token and the rubric judge at
   *  most max_tokens, in seconds on a served 8B. With the default retries the worst case is
   *  4 x 30 s + 3.5 s of backoff = 123.5 s, inside OpenRLHF's 180 s per reward call with room for
   *  the wait in the endpoint's concurrency queue (`recap reward serve` warns at start when a judge's
   *  worst case passes 180 s). */
  timeout_ms: z.number().int().positive().default(30_000),
  /** Retries after the first attempt on 429 / 5xx / timeouts / refused connections. Default 3. */
  retries: z.number().int().nonnegative().default(3),
  /** Judge sampling temperature. Default 0 (deterministic judging). */
  temperature: z.number().min(0).default(0),
  /** Tokens the judge may write. Default 512 (the rubric's reasoning lines and verdict). */
  max_tokens: z.number().int().positive().default(512),
});
export type JudgeConfig = z.infer<typeof JudgeConfigSchema>;

/** The eval graders' endpoint type, from the snake_case config. */
export function judgeEndpoint(j: JudgeConfig): JudgeEndpoint {
  return {
    url: j.url,
    model: j.model,
    api: j.api,
    temperature: j.temperature,
    maxTokens: j.max_tokens,
    ...(j.extra_body ? { extraBody: j.extra_body } : {}),
    http: HttpOptionsSchema.parse({
      timeoutMs: j.timeout_ms,
      retries: j.retries,
      backoffMs: j.backoff_ms,
      concurrency: j.concurrency,
      ...(j.api_key ? { apiKey: j.api_key } : {}),
    }),
  };
}

export const SafetyRouteSchema = z.strictObject({
  /** The guard: "granite-guardian" (P(yes) of a risk from the first token's top log-probs; the
   *  paper's Granite-Guardian-3.1-8B) or "llama-guard" (safe / unsafe text). Default granite-guardian. */
  grader: z.enum(["granite-guardian", "llama-guard"]).default("granite-guardian"),
  /** "continuous": reward = P(safe) = 1 - P(yes) (the paper's main setting, Sec. 4.1);
   *  "binary": reward = 1 if P(yes) < 0.5 else 0 (the paper's Table 7 variant). Default continuous.
   *  Llama Guard is binary either way. */
  mode: z.enum(["continuous", "binary"]).default("continuous"),
  /** The guard model's endpoint. For Granite Guardian on vLLM, set
   *  extra_body: {chat_template_kwargs: {guardian_config: {risk_name: harm}}}. */
  endpoint: JudgeConfigSchema,
});

export const OverRefusalRouteSchema = z.strictObject({
  /** The rubric judge's endpoint (the paper: Llama-3.1-8B-Instruct); it answers
   *  `#refusal yes|no` and `#helpfulness 0|0.5|1`; reward = the helpfulness. */
  endpoint: JudgeConfigSchema,
});

export const RewardServerConfigSchema = z
  .strictObject({
    /** Route of a plain-string label, or of a JSON label without `datasource`. Default "math". */
    default_route: z.string().min(1).default("math"),
    /** Datasource names mapped to routes, e.g. {beavertails: safety, star1: over_refusal, gsm8k: math}. */
    aliases: z.record(z.string(), z.string()).default({}),
    /** A rollout without `think_end` scores 0 with a reason (reasoning models). Default true. */
    require_think: z.boolean().default(true),
    /** The text that closes the thinking. Default "</think>". */
    think_end: z.string().min(1).default("</think>"),
    /** Markers stripped from the end of a response (decoded EOS / padding tokens). */
    eos_strings: z.array(z.string()).default([...DEFAULT_EOS_STRINGS]),
    /** What OpenRLHF's `scores` (its dynamic-filtering input) carry: "recap" maps a reward r to
     *  1 if r > tau else r, so OpenRLHF's rule (keep a group iff 0 < mean score < 1, with
     *  --dynamic_filtering_reward_range 0 1) becomes RECAP's (drop when every reward is 0 or every
     *  reward is > tau); "reward": the reward itself. Default "recap". */
    scores: z.enum(["recap", "reward"]).default("recap"),
    /** RECAP's "uniformly good" threshold. Default 0.9 (the paper does not state it; as src/rl). */
    tau: z.number().min(0).max(1).default(0.9),
    /** Most items in one request (a larger one is refused with 413). Default 4096. */
    max_items: z.number().int().positive().default(4096),
    /** Most bytes in one request body (413 beyond). Default 16 MiB. */
    max_body_bytes: z
      .number()
      .int()
      .min(1024)
      .default(16 * 1024 * 1024),
    /** Most bytes of request bodies held by all requests in flight together (a request that would
     *  pass it gets 503 and may retry): bounds the server's memory however many clients send at
     *  once (16 concurrent 15 MiB bodies reached 405 MB). Default 64 MiB. */
    max_total_body_bytes: z
      .number()
      .int()
      .min(1024)
      .default(64 * 1024 * 1024),
    /** Worker threads that verify math answers off the event loop, each answer under
     *  math_timeout_ms (a late one scores 0 with the reason; /health and other requests are never
     *  held by it). 0: verify on the event loop (bounded, but a slow answer holds the server). Default 1. */
    math_workers: z.number().int().min(0).max(64).default(1),
    /** Deadline of one math verification in a worker, in ms. Default 5000. */
    math_timeout_ms: z.number().int().min(100).max(600_000).default(5000),
    /** Heap cap of each math worker, in MiB (an answer that needs more scores 0). Default 256. */
    math_max_heap_mb: z.number().int().min(32).max(8192).default(256),
    /** The safety route (harmful prompts): a guard model. Absent: no `safety` route. */
    safety: SafetyRouteSchema.optional(),
    /** The over-refusal route (benign prompts): a rubric judge. Absent: no `over_refusal` route. */
    over_refusal: OverRefusalRouteSchema.optional(),
    /** A world guard checkpoint (`recap sft --config configs/world-guard.yaml`'s output, relative
     *  to the config file): enables the `world_guard` route, the world's continuous safety reward
     *  (the same route the RL trainer uses with `guard_model`). Absent: no `world_guard` route. */
    world_guard: z.string().min(1).optional(),
  })
  .superRefine((c, ctx) => {
    const routes = new Set([
      "math",
      "world",
      ...(c.safety ? ["safety"] : []),
      ...(c.over_refusal ? ["over_refusal"] : []),
      ...(c.world_guard ? ["world_guard"] : []),
    ]);
    const known = [...routes].join(", ");
    const target = (name: string) => c.aliases[name] ?? name;
    if (!routes.has(target(c.default_route)))
      ctx.addIssue({
        code: "custom",
        path: ["default_route"],
        message: `"${c.default_route}" is not a route here (routes: ${known}; safety / over_refusal need their section)`,
      });
    if (c.max_total_body_bytes < c.max_body_bytes)
      ctx.addIssue({
        code: "custom",
        path: ["max_total_body_bytes"],
        message: `must be at least max_body_bytes (${c.max_body_bytes}), or no request of the largest size is ever served`,
      });
    for (const [from, to] of Object.entries(c.aliases))
      if (!routes.has(to))
        ctx.addIssue({
          code: "custom",
          path: ["aliases", from],
          message: `"${to}" is not a route here (routes: ${known})`,
        });
    for (const [name, r] of [
      ["safety", c.safety],
      ["over_refusal", c.over_refusal],
    ] as const)
      if (r && r.endpoint.api === "completions" && !r.endpoint.chat_template)
        ctx.addIssue({
          code: "custom",
          path: [name, "endpoint", "chat_template"],
          message: "api completions needs the judge's chat_template file",
        });
  });

export type RewardServerConfig = z.infer<typeof RewardServerConfigSchema>;
export type RewardServerConfigInput = z.input<typeof RewardServerConfigSchema>;

/** The config with judge chat_template and world guard paths made absolute against `dir` (the config's folder). */
export function resolveRewardConfigPaths(c: RewardServerConfig, dir: string): RewardServerConfig {
  const fix = <R extends { endpoint: JudgeConfig }>(r: R | undefined): R | undefined =>
    r?.endpoint.chat_template
      ? { ...r, endpoint: { ...r.endpoint, chat_template: path.resolve(dir, r.endpoint.chat_template) } }
      : r;
  const safety = fix(c.safety),
    over_refusal = fix(c.over_refusal);
  return {
    ...c,
    ...(safety ? { safety } : {}),
    ...(over_refusal ? { over_refusal } : {}),
    ...(c.world_guard ? { world_guard: path.resolve(dir, c.world_guard) } : {}),
  };
}
