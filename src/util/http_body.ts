// Reading a request body under a size cap. A body over the cap is refused with the caller's error;
// one declared or sent beyond 8x the cap is cut off at once (`drained` false: the caller should
// close the connection), a moderately larger one is read to the end first so the connection can
// carry the error reply. An optional ByteBudget bounds the bytes buffered by all requests
// together: a chunk that would overflow it fails the request with the caller's `busy` error (the
// caller closes the connection), and the caller gives a finished body's bytes back.
import type * as http from "node:http";

/** Bytes buffered by every request in flight together, at most `limit`. */
export class ByteBudget {
  used = 0;
  constructor(readonly limit: number) {}

  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

export interface SharedBudget {
  budget: ByteBudget;
  /** The error of a request refused because the budget is spent (e.g. 503). */
  busy: () => Error;
}

/** The body, at most `limit` bytes; with `shared`, its bytes stay taken from the budget until the caller gives them back. */
export function readBodyCapped(
  req: http.IncomingMessage,
  limit: number,
  tooLarge: (closeConnection: boolean) => Error,
  shared?: SharedBudget,
): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > 8 * limit) return Promise.reject(tooLarge(true));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0,
      taken = 0,
      failed = false;
    const fail = (e: Error) => {
      failed = true;
      req.removeAllListeners("data");
      if (shared) shared.budget.give(taken);
      taken = 0;
      reject(e);
    };
    req.on("data", (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size <= limit) {
        if (shared && !shared.budget.take(c.length)) return fail(shared.busy());
        taken += c.length;
        chunks.push(c);
      } else if (size > 8 * limit) fail(tooLarge(true));
    });
    req.on("end", () => {
      if (failed) return;
      if (size > limit) return fail(tooLarge(false));
      resolve(Buffer.concat(chunks));
    });
    req.on("error", (e) => {
      if (!failed) fail(e);
    });
  });
}
