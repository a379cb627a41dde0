// `recap serve CKPT [--host 127.0.0.1] [--port 8000] [--api-key KEY]`: an OpenAI-compatible
// server (models, completions, chat completions, streaming) for a checkpoint. SIGTERM or SIGINT
// stops it cleanly: running requests get --grace-ms to finish, then the process exits 0.
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { Command } from "commander";
import { CHAT_TEMPLATE } from "../model/chat_template.ts";
import { TOKENIZER_CONFIG_FILE } from "../model/checkpoint.ts";
import { startServer } from "../serve/server.ts";
import { RecapError } from "../util/errors.ts";
import { loadModel } from "../model/load.ts";
import { action, intFlag } from "./common.ts";

interface ServeFlags {
  host: string;
  port: string;
  apiKey?: string;
  modelName?: string;
  maxBatch: string;
  batchWindowMs: string;
  maxBodyBytes: string;
  maxTotalBodyBytes: string;
  graceMs: string;
  kernels?: string;
}

export function registerServe(program: Command): void {
  program
    .command("serve <ckpt>")
    .description("serve a checkpoint over an OpenAI-compatible HTTP API (completions, chat, streaming)")
    .option("--host <host>", "interface to bind (loopback by default)", "127.0.0.1")
    .option("--port <n>", "port (0 picks a free one)", "8000")
    .option("--api-key <key>", "require `Authorization: Bearer KEY` (default: RECAP_API_KEY, else none)")
    .option("--model-name <name>", "model id clients pass (default: the checkpoint folder's name)")
    .option("--max-batch <n>", "rows sampled together at most", "64")
    .option("--batch-window-ms <n>", "how long to collect requests before a batch starts", "5")
    .option("--max-body-bytes <n>", "largest request body accepted", String(1 << 20))
    .option(
      "--max-total-body-bytes <n>",
      "request-body bytes held by all requests together (503 beyond; at least --max-body-bytes)",
      String(16 << 20),
    )
    .option("--grace-ms <n>", "on SIGTERM, how long running requests may still take", "10000")
    .option("--kernels <name>", "kernel implementation (default: RECAP_KERNELS, else the fastest that loads)")
    .action(action(async (ckpt: string, o: ServeFlags) => run(ckpt, o)));
}

async function run(ckpt: string, o: ServeFlags): Promise<void> {
  const port = intFlag(o.port, "--port", 0);
  if (port > 65535) throw new RecapError(`--port must be at most 65535, got ${port}`);
  const maxBatch = intFlag(o.maxBatch, "--max-batch", 1);
  const batchWindowMs = intFlag(o.batchWindowMs, "--batch-window-ms", 0);
  const maxBodyBytes = intFlag(o.maxBodyBytes, "--max-body-bytes", 1024);
  const maxTotalBodyBytes = intFlag(o.maxTotalBodyBytes, "--max-total-body-bytes", 1024); // raised to --max-body-bytes if below it
  const graceMs = intFlag(o.graceMs, "--grace-ms", 0);
  const apiKey = o.apiKey ?? process.env["RECAP_API_KEY"];
  if (apiKey === "") throw new RecapError("--api-key is empty");
  const { model, tokenizer } = await loadModel(ckpt, o.kernels);
  const tc = JSON.parse(await fsp.readFile(path.join(ckpt, TOKENIZER_CONFIG_FILE), "utf8")) as Record<
    string,
    unknown
  > | null;
  const tpl = tc?.["chat_template"];
  if (typeof tpl === "string" && tpl !== CHAT_TEMPLATE)
    process.stderr.write(
      "warning: the checkpoint's chat_template differs from recap's; chats are rendered with recap's template\n",
    );
  const modelName = o.modelName ?? path.basename(path.resolve(ckpt));
  const server = await startServer(model, tokenizer, {
    host: o.host,
    port,
    apiKey,
    modelName,
    maxBatch,
    batchWindowMs,
    maxBodyBytes,
    maxTotalBodyBytes,
  });
  if (apiKey === undefined && !["127.0.0.1", "localhost", "::1"].includes(o.host))
    process.stderr.write(
      `warning: listening on ${o.host} without an API key: anyone who can reach it can use the model\n`,
    );
  process.stderr.write(`serving ${modelName} at ${server.url}/v1 (${model.kernels.name} kernels)\n`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`${sig}: finishing in-flight requests, then stopping\n`);
      server.close(graceMs).then(resolve, resolve);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  process.stderr.write("stopped\n");
}
