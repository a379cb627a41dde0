// A tiny fake OpenAI-compatible server for tests, on loopback only: it records every request and
// answers with what the test's handler returns (a reply body, an HTTP status such as 429 / 500,
// or a delay longer than the client's timeout).
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeRequest {
  path: string;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

export interface FakeReply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering (simulates a hung server). */
  delayMs?: number;
}

export type Handler = (req: FakeRequest, index: number) => FakeReply;

export interface FakeServer {
  url: string;
  requests: FakeRequest[];
  close(): Promise<void>;
}

export async function startFake(handler: Handler): Promise<FakeServer> {
  const requests: FakeRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c: Buffer) => (data += c.toString("utf8")));
    req.on("end", () => {
      const r: FakeRequest = {
        path: req.url ?? "",
        body: data ? (JSON.parse(data) as Record<string, unknown>) : {},
        headers: req.headers,
      };
      const index = requests.push(r) - 1;
      const reply = handler(r, index);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status ?? 200, { "content-type": "application/json", ...reply.headers });
        res.end(typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body ?? {}));
      };
      if (reply.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, reply.delayMs);
        timers.add(t);
      } else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A text-completions reply. */
export function completionReply(text: string, tokens: number, extra: Record<string, unknown> = {}): FakeReply {
  return {
    body: {
      id: "c",
      object: "text_completion",
      choices: [{ index: 0, text, finish_reason: "stop", ...extra }],
      usage: { prompt_tokens: 5, completion_tokens: tokens, total_tokens: 5 + tokens },
    },
  };
}

/** A chat-completions reply. */
export function chatReply(content: string, tokens: number, extra: Record<string, unknown> = {}): FakeReply {
  return {
    body: {
      id: "c",
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop", ...extra }],
      usage: { prompt_tokens: 5, completion_tokens: tokens, total_tokens: 5 + tokens },
    },
  };
}
