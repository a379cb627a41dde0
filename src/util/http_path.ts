// The path of an HTTP request target, for both servers' routers: a target that does not parse as
// a URL (an absolute form with a bad port, "http://[") or whose path does not percent-decode
// ("%E0%A4%A") is null, which the servers answer with 400, not 500.
//
//   requestPath(req.url) -> "/v1/models/x" (decoded, no trailing slash) | null

/** The decoded path of a request target without trailing slashes ("/" at least), or null. */
export function requestPath(target: string | undefined): string | null {
  try {
    const p = new URL(target ?? "/", "http://localhost").pathname;
    return decodeURIComponent(p).replace(/\/+$/, "") || "/";
  } catch {
    return null;
  }
}
