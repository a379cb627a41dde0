// The OpenAI-compatible request bodies (zod), and API errors as OpenAI shapes them:
// `{error: {message, type, param, code}}`.
//
// Status codes: 400 malformed or invalid request (bad JSON, wrong field types or ranges,
// unsupported options); 401 missing or wrong API key; 404 unknown route or model; 405 wrong
// method; 413 body too large; 422 a well-formed request this model cannot serve (prompt plus
// max_tokens beyond the context, token ids outside the vocabulary, a chat the template rejects);
// 503 shutting down or overloaded; 500 a bug.
import { z } from "zod";
import { firstZodIssue } from "../util/zod_issues.ts";

export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;

  constructor(
    status: number,
    message: string,
    type = "invalid_request_error",
    param: string | null = null,
    code: string | null = null,
  ) {
    super(message);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }

  toJSON(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** Most alternatives per token a request may ask for (OpenAI's limit). */
export const MAX_TOP_LOGPROBS = 20;
/** Most choices per prompt, and completions (prompts x n) per request. */
export const MAX_N = 64;
export const MAX_ROWS_PER_REQUEST = 256;

const nullish = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? undefined);
const int = (min: number, max: number) => z.number().int().min(min).max(max);

const stop = nullish(z.union([z.string(), z.array(z.string()).max(16)])).transform((s) =>
  s === undefined ? [] : typeof s === "string" ? [s] : s,
);
const zeroOnly = (name: string) =>
  nullish(z.number()).refine((v) => v === undefined || v === 0, { message: `${name} is not supported (only 0)` });

/** Fields both endpoints share. Unknown fields are ignored, as OpenAI-compatible servers do. */
const common = {
  model: z.string().min(1),
  temperature: nullish(z.number().min(0).max(2)),
  top_p: nullish(z.number().gt(0).max(1)),
  /** vLLM's extension: keep the k most likely tokens (0 or -1: off). */
  top_k: nullish(z.number().int().min(-1)),
  n: nullish(int(1, MAX_N)),
  seed: nullish(
    z
      .number()
      .int()
      .min(-(2 ** 53))
      .max(2 ** 53),
  ),
  stop,
  stream: nullish(z.boolean()),
  stream_options: nullish(z.object({ include_usage: nullish(z.boolean()) })),
  frequency_penalty: zeroOnly("frequency_penalty"),
  presence_penalty: zeroOnly("presence_penalty"),
  logit_bias: nullish(z.record(z.string(), z.number())).refine((v) => v === undefined || Object.keys(v).length === 0, {
    message: "logit_bias is not supported",
  }),
};

const tokenIds = z.array(z.number().int().min(0)).min(1);

export const CompletionRequestSchema = z.object({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).min(1), tokenIds, z.array(tokenIds).min(1)]),
  max_tokens: nullish(z.number().int().min(0)),
  logprobs: nullish(int(0, MAX_TOP_LOGPROBS)),
  echo: nullish(z.boolean()),
  best_of: nullish(z.number().int().min(1)),
  suffix: z.null().optional(),
});
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

const contentPart = z.object({ type: z.literal("text"), text: z.string() });
const message = z.object({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(contentPart)]).nullish(),
});

export const ChatRequestSchema = z.object({
  ...common,
  messages: z.array(message).min(1),
  max_tokens: nullish(z.number().int().min(1)),
  max_completion_tokens: nullish(z.number().int().min(1)),
  logprobs: nullish(z.boolean()),
  top_logprobs: nullish(int(0, MAX_TOP_LOGPROBS)),
  add_generation_prompt: nullish(z.boolean()),
  continue_final_message: nullish(z.boolean()),
  tools: nullish(z.array(z.unknown())).refine((v) => v === undefined || v.length === 0, {
    message: "tools are not supported",
  }),
  response_format: nullish(z.object({ type: z.string() })).refine((v) => v === undefined || v.type === "text", {
    message: 'only response_format {type: "text"} is supported',
  }),
});
export type ChatRequest = z.infer<typeof ChatRequestSchema>;

/** Validates a parsed JSON body; the first problem becomes a 400 naming the field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new ApiError(400, "the request body must be a JSON object");
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const { issue, path } = firstZodIssue(r.error);
  const param = path || null;
  const missing =
    issue.code === "invalid_type" &&
    (body as Record<string, unknown>)[String(issue.path[0])] === undefined &&
    issue.path.length === 1;
  const message = missing
    ? `missing required parameter: ${param}`
    : `invalid parameter ${param ?? "(body)"}: ${issue.message}`;
  throw new ApiError(
    400,
    message,
    "invalid_request_error",
    param,
    missing ? "missing_required_parameter" : "invalid_value",
  );
}

/** A request body parsed as JSON, or a 400 naming the parse error (both servers). */
export function parseJsonBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch (e) {
    throw new ApiError(
      400,
      `the request body is not valid JSON: ${(e as Error).message}`,
      "invalid_request_error",
      null,
      "invalid_json",
    );
  }
}
