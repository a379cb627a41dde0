// The reward server's two request formats (zod) and their replies.
//
// OpenRLHF remote reward protocol (`--remote_rm_url http://HOST:PORT/get_reward`; facts from
// OpenRLHF's SingleTurnAgentExecutor): the trainer POSTs
//   {"query": [str], "prompts": [str], "labels": [str]}
// where query[i] is the decoded prompt + response (special tokens kept), prompts[i] the prompt
// text and labels[i] the dataset's `--label_key` value; it reads back
//   {"rewards": [float], "scores": [float], "extra_logs": {name: [float]}}
// (rewards for the advantages, scores for --dynamic_filtering, extra_logs for its logger). It
// sends no Authorization header and retries a failed call a few times. It posts each rollout on
// its own and splits that one-item batch across comma-separated URLs, so every URL but the first
// receives an empty batch {"query": [], "prompts": [], "labels": []}: that is answered 200 with
// empty lists (a 4xx would make OpenRLHF retry, raise, and leave the rollout without a reward).
//
// Plain JSON API (`POST /v1/reward`, for verl's reward hook, TRL reward functions, scripts):
//   {"items": [{"response": str, "prompt"?: str, "label"?: str | object, "datasource"?: str}]}
//   -> {"results": [{"reward", "score", "route", "reason"?, "details"?}], "rewards": [float]}
// `response` is the generated text (thinking + final response); `query` (prompt + response) is
// accepted in its place.
import { z } from "zod";
import { ApiError } from "../serve/protocol.ts";
import type { RewardResult, RolloutItem } from "./score.ts";
import { firstZodIssue } from "../util/zod_issues.ts";

const labelValue = z.union([z.string(), z.number(), z.record(z.string(), z.unknown()), z.null()]).optional();

export const OpenRlhfRequestSchema = z.object({
  query: z.union([z.string(), z.array(z.string())]),
  prompts: z.array(z.string()).optional(),
  labels: z.array(z.union([z.string(), z.null()])).optional(),
});

export const JsonItemSchema = z
  .object({
    response: z.string().optional(),
    query: z.string().optional(),
    prompt: z.string().optional(),
    label: labelValue,
    datasource: z.string().min(1).optional(),
  })
  .refine((it) => (it.response === undefined) !== (it.query === undefined), {
    message: "give exactly one of response or query",
  });

export const JsonRequestSchema = z.object({ items: z.array(JsonItemSchema).min(1) });

function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new ApiError(400, "the request body must be a JSON object", "invalid_request_error", null, "invalid_value");
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const { issue, path } = firstZodIssue(r.error);
  const param = path || null;
  throw new ApiError(
    400,
    `invalid ${param ?? "body"}: ${issue.message}`,
    "invalid_request_error",
    param,
    "invalid_value",
  );
}

function tooMany(n: number, max: number): ApiError {
  return new ApiError(
    413,
    `${n} items in one request; at most ${max} (split the batch, or raise max_items)`,
    "invalid_request_error",
    null,
    "too_many_items",
  );
}

/** The rollouts of an OpenRLHF /get_reward body (none for the empty per-URL batch). */
export function openRlhfItems(body: unknown, maxItems: number): RolloutItem[] {
  const b = parse(OpenRlhfRequestSchema, body);
  const query = typeof b.query === "string" ? [b.query] : b.query;
  if (query.length > maxItems) throw tooMany(query.length, maxItems);
  for (const [name, list] of [
    ["prompts", b.prompts],
    ["labels", b.labels],
  ] as const)
    if (list && list.length !== query.length)
      throw new ApiError(
        400,
        `${name} has ${list.length} entries but query has ${query.length}`,
        "invalid_request_error",
        name,
        "invalid_value",
      );
  return query.map((q, i) => ({
    query: q,
    ...(b.prompts ? { prompt: b.prompts[i]! } : {}),
    label: b.labels?.[i] ?? null,
  }));
}

/** The rollouts of a /v1/reward body. */
export function jsonItems(body: unknown, maxItems: number): RolloutItem[] {
  const b = parse(JsonRequestSchema, body);
  if (b.items.length > maxItems) throw tooMany(b.items.length, maxItems);
  return b.items.map((it) => ({
    query: (it.response ?? it.query)!,
    label: it.label ?? null,
    ...(it.query !== undefined && it.prompt !== undefined ? { prompt: it.prompt } : {}),
    ...(it.response !== undefined && it.prompt !== undefined ? { userPrompt: it.prompt } : {}),
    ...(it.datasource !== undefined ? { datasource: it.datasource } : {}),
  }));
}

/** OpenRLHF's reply shape. */
export function openRlhfReply(results: RewardResult[]): {
  rewards: number[];
  scores: number[];
  extra_logs: Record<string, number[]>;
} {
  if (results.length === 0) return { rewards: [], scores: [], extra_logs: {} };
  return {
    rewards: results.map((r) => r.reward),
    scores: results.map((r) => r.score),
    extra_logs: { no_think: results.map((r) => (r.reason ? 1 : 0)) },
  };
}

/** The plain JSON API's reply. */
export function jsonReply(results: RewardResult[]): { results: RewardResult[]; rewards: number[] } {
  return { results, rewards: results.map((r) => r.reward) };
}
