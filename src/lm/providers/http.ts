// HTTP plumbing shared by the endpoint providers and graders: a JSON POST with a per-request
// timeout and retries (exponential backoff with jitter) on 429, 5xx, timeouts and connection
// errors, and a small concurrency pool. Any other HTTP status is permanent and not retried.
// Uses Node's own fetch; nothing here throws past the caller's item except a RecapError the
// caller chose to raise.
import { z } from "zod";

/** Knobs of an endpoint client. */
export const HttpOptionsSchema = z.object({
  /** Per-attempt timeout in milliseconds. Default 120000 (a long reasoning completion). */
  timeoutMs: z.number().int().positive().default(120_000),
  /** Retries after the first attempt on 429 / 5xx / timeouts / connection errors. Default 4. */
  retries: z.number().int().nonnegative().default(4),
  /** First backoff delay in ms; doubled each retry, with full jitter in [d/2, d]. Default 500. */
  backoffMs: z.number().nonnegative().default(500),
  /** Longest backoff delay in ms (also caps a server's Retry-After). Default 20000. */
  maxBackoffMs: z.number().nonnegative().default(20_000),
  /** Requests in flight at once. Default 8. */
  concurrency: z.number().int().positive().default(8),
  /** Sent as `Authorization: Bearer KEY` when set. */
  apiKey: z.string().optional(),
});
export type HttpOptions = z.infer<typeof HttpOptionsSchema>;

/** A failure after all retries (or a permanent one); `transient` says whether retrying could help. */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly transient: boolean,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Delay before retry `attempt` (0-based): exponential, capped, with jitter in [d/2, d]. */
export function backoffDelay(
  attempt: number,
  o: Pick<HttpOptions, "backoffMs" | "maxBackoffMs">,
  rand: () => number = Math.random,
): number {
  const d = Math.min(o.maxBackoffMs, o.backoffMs * 2 ** attempt);
  return d / 2 + rand() * (d / 2);
}

function retryAfterMs(res: Response): number | undefined {
  const h = res.headers.get("retry-after");
  if (h === null) return undefined;
  const s = Number(h);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : undefined;
}

/** One attempt: the parsed JSON body, or an HttpError saying whether to retry. */
async function attempt(
  url: string,
  body: unknown,
  o: HttpOptions,
): Promise<{ json: unknown } | { error: HttpError; waitMs?: number }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (o.apiKey) headers["authorization"] = `Bearer ${o.apiKey}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(o.timeoutMs),
    });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    const what =
      err.name === "TimeoutError" || err.name === "AbortError"
        ? `timed out after ${o.timeoutMs} ms`
        : `connection failed (${err.cause?.code ?? err.message})`;
    return { error: new HttpError(`${url}: ${what}`, undefined, true) };
  }
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    return { error: new HttpError(`${url}: reading the response failed (${(e as Error).name})`, res.status, true) };
  }
  if (!res.ok) {
    const transient = res.status === 429 || res.status >= 500;
    const snippet = text.replace(/\s+/g, " ").slice(0, 200);
    return {
      error: new HttpError(`${url}: HTTP ${res.status}${snippet ? `: ${snippet}` : ""}`, res.status, transient),
      waitMs: retryAfterMs(res),
    };
  }
  try {
    return { json: JSON.parse(text) as unknown };
  } catch {
    return { error: new HttpError(`${url}: the response is not JSON: ${text.slice(0, 100)}`, res.status, false) };
  }
}

/** POSTs JSON and returns the parsed reply, retrying transient failures; throws HttpError. */
export async function postJson(url: string, body: unknown, o: HttpOptions): Promise<unknown> {
  for (let i = 0; ; i++) {
    const r = await attempt(url, body, o);
    if ("json" in r) return r.json;
    if (!r.error.transient || i >= o.retries) {
      if (i > 0) r.error.message += ` (after ${i + 1} attempts)`;
      throw r.error;
    }
    const wait = r.waitMs !== undefined ? Math.min(r.waitMs, o.maxBackoffMs) : backoffDelay(i, o);
    await sleep(wait);
  }
}

/** Maps `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Joins a base URL (with or without a trailing `/v1`) and an API path such as `/v1/completions`. */
export function endpointUrl(base: string, apiPath: string): string {
  const b = base.replace(/\/+$/, "");
  return b.endsWith("/v1") && apiPath.startsWith("/v1/") ? b + apiPath.slice(3) : b + apiPath;
}
