// Reading a request body under a size cap. A body over the cap is refused with the caller's error;
// one declared or sent beyond 8x the cap is cut off at once (`drained` false: the caller should
// close the connection), a moderately larger one is read to the end first so the connection can
// carry the error reply.
import type * as http from "node:http";

export function readBodyCapped(req: http.IncomingMessage, limit: number, tooLarge: (closeConnection: boolean) => Error): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > 8 * limit) return Promise.reject(tooLarge(true));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
      else if (size > 8 * limit) {
        req.removeAllListeners("data");
        reject(tooLarge(true));
      }
    });
    req.on("end", () => (size > limit ? reject(tooLarge(false)) : resolve(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}
