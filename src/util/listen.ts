// Binding an HTTP server: resolves once it listens, or fails with one clear line (address in
// use names the fix); later socket errors are left to the request handlers.
import type * as http from "node:http";
import type { AddressInfo } from "node:net";
import { RecapError } from "./errors.ts";

/** Listens on host:port and returns the bound port and the URL (IPv6 hosts bracketed). */
export async function listenOn(
  server: http.Server,
  host: string,
  port: number,
): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new RecapError(
          `cannot listen on ${host}:${port}: ${e.code ?? e.message}`,
          e.code === "EADDRINUSE" ? "pick another --port" : undefined,
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  server.on("error", () => undefined);
  const bound = (server.address() as AddressInfo).port;
  return { port: bound, url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}` };
}
