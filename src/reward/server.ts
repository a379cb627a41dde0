// The reward server on node:http: OpenRLHF's remote reward protocol and a plain JSON API over the
// routes of routes.ts. Stateless (any number of instances can sit behind one load-balancing
// proxy; see docs/SCALING.md), loopback by default, an optional API key, a body size cap,
// and 4xx JSON errors in OpenAI's shape ({error: {message, type, param, code}}):
//   400 malformed JSON, fields or labels; 401 missing / wrong key; 404 unknown path;
//   405 wrong method; 413 body or batch too large; 502 a judge endpoint failed; 503 shutting down,
//   or the bodies of all requests in flight together would pass max_total_body_bytes.
// An empty OpenRLHF batch (what its comma-separated URLs send all but the first) is a 200 with
// empty lists.
// Routes: GET /health (no key), GET /v1/routes, POST /get_reward, POST /v1/reward.
// close(graceMs): stop accepting, let requests in flight finish for graceMs, then drop connections.
import { createHash, timingSafeEqual } from "node:crypto";
import * as http from "node:http";
import { ApiError, parseJsonBody } from "../serve/protocol.ts";
import { ByteBudget, readBodyCapped } from "../util/http_body.ts";
import { requestPath } from "../util/http_path.ts";
import { listenOn } from "../util/listen.ts";
import type { RewardServerConfig } from "./config.ts";
import { jsonItems, jsonReply, openRlhfItems, openRlhfReply } from "./protocol.ts";
import { WorldGuard } from "./guard_model.ts";
import { makeRoutes, worldGuardRoute } from "./routes.ts";
import type { RewardRoute } from "./routes.ts";
import { UpstreamError } from "./routes.ts";
import { BadItemError, RewardScorer } from "./score.ts";

export interface RewardServerOptions {
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one. Default 5000. */
  port?: number;
  /** When set, every path but /health needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Routes to serve instead of the config's (tests). */
  routes?: Record<string, RewardRoute>;
}

export interface RunningRewardServer {
  url: string;
  port: number;
  routes: string[];
  /** Requests being handled now. */
  readonly inFlight: number;
  /** Request-body bytes held now by all requests together (at most max_total_body_bytes). */
  readonly bufferedBytes: number;
  close(graceMs?: number): Promise<void>;
}

function tooLarge(limit: number): ApiError {
  return new ApiError(
    413,
    `the request body is larger than ${limit} bytes (split the batch, or raise max_body_bytes)`,
    "invalid_request_error",
    null,
    "request_too_large",
  );
}

const sha = (s: string) => createHash("sha256").update(s).digest();

function authorised(req: http.IncomingMessage, key: string | undefined): boolean {
  if (key === undefined) return true;
  const h = req.headers.authorization ?? "";
  return timingSafeEqual(sha(h.startsWith("Bearer ") ? h.slice(7).trim() : ""), sha(key));
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function asApiError(e: unknown, itemsParam: string): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof BadItemError)
    return new ApiError(400, e.message, "invalid_request_error", `${itemsParam}.${e.index}`, "invalid_label");
  if (e instanceof UpstreamError) return new ApiError(502, e.message, "upstream_error", null, "judge_failed");
  return new ApiError(500, `internal error: ${(e as Error)?.message ?? String(e)}`, "server_error");
}

type Handler = (body: unknown) => Promise<unknown>;

/** Starts the reward server; resolves once listening. */
export async function startRewardServer(
  cfg: RewardServerConfig,
  o: RewardServerOptions = {},
): Promise<RunningRewardServer> {
  const routes = o.routes ?? makeRoutes(cfg);
  if (!o.routes && cfg.world_guard) routes["world_guard"] = worldGuardRoute(await WorldGuard.load(cfg.world_guard));
  const scorer = new RewardScorer(cfg, routes);
  const handlers: Record<string, { handler: Handler; itemsParam: string }> = {
    "/get_reward": {
      itemsParam: "labels",
      handler: async (b) => openRlhfReply(await scorer.scoreAll(openRlhfItems(b, cfg.max_items))),
    },
    "/v1/reward": {
      itemsParam: "items",
      handler: async (b) => jsonReply(await scorer.scoreAll(jsonItems(b, cfg.max_items))),
    },
  };
  let closing = false,
    inFlight = 0;
  const budget = new ByteBudget(cfg.max_total_body_bytes);
  const busy = () =>
    new ApiError(
      503,
      `the reward server holds ${cfg.max_total_body_bytes} bytes of request bodies already: retry shortly (or raise max_total_body_bytes)`,
      "server_error",
      null,
      "server_busy",
    );
  const idle: (() => void)[] = [];

  async function route(req: http.IncomingMessage): Promise<unknown> {
    let held = 0;
    try {
      return await routeHeld(req, (n) => (held = n));
    } finally {
      budget.give(held); // the body's bytes count until its request is answered (the parsed JSON lives as long)
    }
  }

  async function routeHeld(req: http.IncomingMessage, hold: (n: number) => void): Promise<unknown> {
    const p = requestPath(req.url);
    if (p === null)
      throw new ApiError(
        400,
        `malformed request target ${JSON.stringify((req.url ?? "").slice(0, 200))}`,
        "invalid_request_error",
        null,
        "invalid_url",
      );
    if (p === "/health" && req.method === "GET") return { status: "ok" };
    if (!authorised(req, o.apiKey))
      throw new ApiError(
        401,
        "incorrect or missing API key: pass it as `Authorization: Bearer <key>`",
        "invalid_request_error",
        null,
        "invalid_api_key",
      );
    if (p === "/v1/routes") {
      if (req.method !== "GET")
        throw new ApiError(405, `use GET for ${p}`, "invalid_request_error", null, "method_not_allowed");
      return {
        default_route: cfg.default_route,
        aliases: cfg.aliases,
        routes: Object.values(routes).map((r) => ({ name: r.name, description: r.description })),
      };
    }
    const h = handlers[p];
    if (!h)
      throw new ApiError(
        404,
        `no route ${req.method} ${p} (POST /get_reward, POST /v1/reward, GET /v1/routes, GET /health)`,
        "invalid_request_error",
        null,
        "not_found",
      );
    if (req.method !== "POST")
      throw new ApiError(405, `use POST for ${p}`, "invalid_request_error", null, "method_not_allowed");
    if (closing) throw new ApiError(503, "the reward server is shutting down", "server_error", null, "shutting_down");
    const raw = await readBodyCapped(req, cfg.max_body_bytes, () => tooLarge(cfg.max_body_bytes), { budget, busy });
    hold(raw.length);
    const body = parseJsonBody(raw);
    try {
      return await h.handler(body);
    } catch (e) {
      throw asApiError(e, h.itemsParam);
    }
  }

  const server = http.createServer((req, res) => {
    inFlight++;
    if (closing) res.setHeader("Connection", "close");
    route(req)
      .then(
        (body) => send(res, 200, body),
        (e: unknown) => {
          const err = asApiError(e, "items");
          if (err.status === 413 || err.code === "server_busy") res.setHeader("Connection", "close");
          send(res, err.status, err.toJSON());
        },
      )
      .finally(() => {
        if (--inFlight === 0) idle.splice(0).forEach((f) => f());
      });
  });
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 10_000;
  const host = o.host ?? "127.0.0.1";
  const { port, url } = await listenOn(server, host, o.port ?? 5000);
  return {
    url,
    port,
    routes: Object.keys(routes),
    get inFlight() {
      return inFlight;
    },
    get bufferedBytes() {
      return budget.used;
    },
    async close(graceMs = 10_000) {
      closing = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      if (inFlight > 0)
        await Promise.race([
          new Promise<void>((r) => idle.push(r)),
          new Promise((r) => setTimeout(r, graceMs).unref()),
        ]);
      server.closeAllConnections();
      await closed;
      if (!o.routes) await Promise.all(Object.values(routes).map((r) => r.close?.()));
    },
  };
}
