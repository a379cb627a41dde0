// Secrets out of everything a command prints or writes about its configuration: a deep copy with
// the value of every secret-named key (api_key, apiKey, secret, password, authorization,
// access_token...) replaced by "<redacted>". The config in memory keeps the real value, so the
// endpoints still get their keys; summary.json and the printed resolved config never show them.
//
//   redactSecrets(value) -> a copy of value with secrets replaced

export const REDACTED = "<redacted>";

const SECRET_KEY =
  /^(?:api[_-]?key|[a-z0-9_]*_api_key|apikey|secret|[a-z0-9_]*_secret|client_secret|password|passwd|authorization|access_token|auth_token|bearer)$/i;

/** Whether a key's value is a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A deep copy of `value` with secret-named keys' values replaced (see the module comment). */
export function redactSecrets<T>(value: T): T {
  const seen = new WeakSet<object>();
  const walk = (v: unknown): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (seen.has(v)) return "[circular]";
    seen.add(v);
    if (Array.isArray(v)) return v.map(walk);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      out[k] = isSecretKey(k) && x !== undefined && x !== null && x !== "" ? REDACTED : walk(x);
    return out;
  };
  return walk(value) as T;
}
