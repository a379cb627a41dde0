// The OpenAI-compatible HTTP server on node:http: routing, API-key check, capped JSON bodies,
// JSON and server-sent-event replies, OpenAI-style errors, and a clean shutdown (stop listening,
// refuse queued work, let running batches finish for a grace period, close connections).
//
// Routes: GET /health (no key needed), GET /v1/models, GET /v1/models/{id},
// POST /v1/completions, POST /v1/chat/completions. Loopback (127.0.0.1) is the default host.
import { createHash, timingSafeEqual } from "node:crypto";
import * as http from "node:http";
import type { Llama } from "../model/llama.ts";
import type { Tokenizer } from "../model/tokenizer.ts";
import { ByteBudget, readBodyCapped } from "../util/http_body.ts";
import { requestPath } from "../util/http_path.ts";
import { listenOn } from "../util/listen.ts";
import { handleChat } from "./chat.ts";
import type { Reply, ServeContext } from "./common.ts";
import { handleCompletions } from "./completions.ts";
import { BatchEngine } from "./engine.ts";
import { ApiError, parseJsonBody } from "./protocol.ts";

export interface ServeOptions {
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one. Default 8000. */
  port?: number;
  /** When set, /v1 requests need `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** The id clients pass as `model`. */
  modelName: string;
  /** Request bodies above this many bytes get 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Bytes of request bodies held by all requests in flight together; beyond it 503 (retry).
   *  Default 16 MiB. */
  maxTotalBodyBytes?: number;
  /** Batching window (ms) and rows per batch. Defaults 5 and 64. */
  batchWindowMs?: number;
  maxBatch?: number;
  /** Queued rows at most before 503. Default 4096. */
  maxQueue?: number;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  engine: BatchEngine;
  /** Request-body bytes held now by all requests together (at most maxTotalBodyBytes). */
  readonly bufferedBytes: number;
  /** Stops the server: in-flight requests get graceMs to finish, then are cut short. */
  close(graceMs?: number): Promise<void>;
}

type Handler = (ctx: ServeContext, body: unknown, reply: Reply) => Promise<void>;
const POST_ROUTES: Record<string, Handler> = {
  "/v1/completions": handleCompletions,
  "/v1/chat/completions": handleChat,
};

/** A Reply over a node response. */
function replyOn(res: http.ServerResponse): Reply {
  let closed = false;
  res.on("close", () => (closed = true));
  return {
    get closed() {
      return closed || res.destroyed;
    },
    json(status, body) {
      if (res.headersSent) return;
      const text = JSON.stringify(body);
      res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
      res.end(text);
    },
    startStream() {
      res.writeHead(200, {
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache",
        Connection: "keep-alive",
      });
      res.flushHeaders();
    },
    event(body) {
      if (!closed) res.write(`data: ${JSON.stringify(body)}\n\n`);
    },
    endStream() {
      if (!closed) res.end("data: [DONE]\n\n");
    },
  };
}

class BodyTooLarge extends ApiError {
  readonly closeConnection: boolean;
  constructor(limit: number, closeConnection: boolean) {
    super(413, `the request body is larger than ${limit} bytes`, "invalid_request_error", null, "request_too_large");
    this.closeConnection = closeConnection;
  }
}
const bodyTooLarge = (limit: number, close: boolean) => new BodyTooLarge(limit, close);

function sha256(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

function authorised(req: http.IncomingMessage, key: string | undefined): boolean {
  if (key === undefined) return true;
  const h = req.headers.authorization ?? "";
  const given = h.startsWith("Bearer ") ? h.slice(7).trim() : "";
  return timingSafeEqual(sha256(given), sha256(key));
}

function sendError(res: http.ServerResponse, reply: Reply, e: unknown): void {
  const err =
    e instanceof ApiError
      ? e
      : new ApiError(500, `internal error: ${(e as Error)?.message ?? String(e)}`, "server_error");
  if ((err instanceof BodyTooLarge && err.closeConnection) || err.code === "server_busy")
    res.setHeader("Connection", "close");
  if (!res.headersSent) return reply.json(err.status, err.toJSON());
  // Mid-stream: report the error as an event, then end the stream.
  reply.event(err.toJSON());
  reply.endStream();
}

async function route(
  ctx: ServeContext,
  opts: ServeOptions,
  budget: ByteBudget,
  req: http.IncomingMessage,
  reply: Reply,
): Promise<void> {
  const p = requestPath(req.url);
  if (p === null)
    throw new ApiError(
      400,
      `malformed request target ${JSON.stringify((req.url ?? "").slice(0, 200))}`,
      "invalid_request_error",
      null,
      "invalid_url",
    );
  if (p === "/health" && req.method === "GET") return reply.json(200, { status: "ok" });
  if (!p.startsWith("/v1/"))
    throw new ApiError(404, `no route ${req.method} ${p}`, "invalid_request_error", null, "not_found");
  if (!authorised(req, opts.apiKey))
    throw new ApiError(
      401,
      "incorrect or missing API key: pass it as `Authorization: Bearer <key>`",
      "invalid_request_error",
      null,
      "invalid_api_key",
    );
  const model = {
    id: ctx.modelName,
    object: "model",
    created: ctx.created,
    owned_by: "recap",
    max_model_len: ctx.context,
  };
  if (p === "/v1/models" || p.startsWith("/v1/models/")) {
    if (req.method !== "GET")
      throw new ApiError(405, `use GET for ${p}`, "invalid_request_error", null, "method_not_allowed");
    if (p === "/v1/models") return reply.json(200, { object: "list", data: [model] });
    const id = p.slice("/v1/models/".length);
    if (id !== ctx.modelName)
      throw new ApiError(
        404,
        `the model \`${id}\` does not exist`,
        "invalid_request_error",
        "model",
        "model_not_found",
      );
    return reply.json(200, model);
  }
  const handler = POST_ROUTES[p];
  if (!handler) throw new ApiError(404, `no route ${req.method} ${p}`, "invalid_request_error", null, "not_found");
  if (req.method !== "POST")
    throw new ApiError(405, `use POST for ${p}`, "invalid_request_error", null, "method_not_allowed");
  const busy = () =>
    new ApiError(
      503,
      `the server holds ${budget.limit} bytes of request bodies already: retry shortly`,
      "server_error",
      null,
      "server_busy",
    );
  const raw = await readBodyCapped(
    req,
    opts.maxBodyBytes ?? 1 << 20,
    (close) => bodyTooLarge(opts.maxBodyBytes ?? 1 << 20, close),
    { budget, busy },
  );
  try {
    const body = parseJsonBody(raw);
    await handler(ctx, body, reply);
  } finally {
    budget.give(raw.length); // held until the request is answered: its parsed form lives as long
  }
}

/** Starts serving `model` on host:port; resolves once listening. */
export async function startServer(model: Llama, tokenizer: Tokenizer, opts: ServeOptions): Promise<RunningServer> {
  const engine = new BatchEngine(model, {
    windowMs: opts.batchWindowMs,
    maxBatch: opts.maxBatch,
    maxQueue: opts.maxQueue,
    vocabLimit: tokenizer.vocabSize,
  });
  const ctx: ServeContext = {
    engine,
    tokenizer,
    modelName: opts.modelName,
    context: model.config.max_position_embeddings,
    created: Math.floor(Date.now() / 1000),
  };
  let closing = false;
  const budget = new ByteBudget(Math.max(opts.maxTotalBodyBytes ?? 16 << 20, opts.maxBodyBytes ?? 1 << 20));
  const server = http.createServer((req, res) => {
    const reply = replyOn(res);
    if (closing) res.setHeader("Connection", "close");
    route(ctx, opts, budget, req, reply).catch((e: unknown) => sendError(res, reply, e));
  });
  server.keepAliveTimeout = 5_000;
  const host = opts.host ?? "127.0.0.1";
  const { port, url } = await listenOn(server, host, opts.port ?? 8000);
  return {
    url,
    host,
    port,
    engine,
    get bufferedBytes() {
      return budget.used;
    },
    async close(graceMs = 10_000) {
      closing = true;
      let done = false;
      const closed = new Promise<void>((r) => server.close(() => r())).then(() => (done = true));
      await engine.close(graceMs);
      // The last batch's answers are being written: drop connections as they go idle, then all.
      for (let i = 0; i < 50 && !done; i++) {
        server.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 20));
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
