// node-llama-cpp on a GGUF file (the optional sub-package in tools/llama, pinned 3.21.1, installed
// by `npm run setup:llama`). It is imported dynamically so the rest of the toolkit works without
// it; a missing install is one clear error. CPU only, prebuilt binary only (`build: "never"`),
// `threads: 1` (node-llama-cpp's default thread count is ~100x slower on a 2-core machine).
// The GGUF header is read and checked first: llama.cpp aborts the whole process on some missing
// keys instead of throwing. Prompts are rendered from the chat template given (--chat-template) or
// else the GGUF's own `tokenizer.chat_template`; our tiny model's template renders exactly as the
// embedded provider does (`<think>` without a newline). Samples run one after another on one
// context sequence; token counts are exact (the CoT ends with the `</think>` token when it is one).
import * as fs from "node:fs";
import { Template } from "@huggingface/jinja";
import type { ChatTemplate } from "../templates.ts";
import { CHAT_TEMPLATE } from "../../model/chat_template.ts";
import { RecapError } from "../../util/errors.ts";
import type { Completion, GenRequest, GenResult, Provider, TextTokenizer } from "../types.ts";
import { approxSplit } from "../types.ts";
import { renderEmbeddedPrompt } from "./embedded.ts";
import { renderCompletionPrompt } from "./openai_completions.ts";

const MODULE = new URL("../../../tools/llama/node_modules/node-llama-cpp/dist/index.js", import.meta.url);

// The slice of node-llama-cpp's API used here (structural, so the types need no install).
type Token = number;
interface LlamaModelLike {
  tokenize(text: string, specialTokens?: boolean): Token[];
  detokenize(tokens: readonly Token[], specialTokens?: boolean): string;
  createContext(o: {
    contextSize?: number;
    threads?: number;
    sequences?: number;
  }): Promise<{ getSequence(): SequenceLike; dispose(): Promise<void> }>;
  dispose(): Promise<void>;
  readonly trainContextSize: number;
}
interface SequenceLike {
  clearHistory(): Promise<void>;
  /** Tokens evaluated into the sequence: the prompt, then every generated token but the last. */
  readonly contextTokens: readonly Token[];
}
interface CompletionLike {
  generateCompletionWithMeta(
    input: Token[],
    o: Record<string, unknown>,
  ): Promise<{ response: string; metadata: { stopReason: string } }>;
}
interface NodeLlamaCpp {
  getLlama(o: Record<string, unknown>): Promise<{ loadModel(o: { modelPath: string }): Promise<LlamaModelLike> }>;
  readGgufFileInfo(path: string, o: Record<string, unknown>): Promise<{ metadata: Record<string, unknown> }>;
  LlamaCompletion: new (o: { contextSequence: SequenceLike }) => CompletionLike;
}

export interface LlamaCppOptions {
  /** The GGUF file. */
  modelPath: string;
  /** A chat template overriding the GGUF's own. */
  template?: ChatTemplate;
  /** Context size (default: the model's training context). */
  contextSize?: number;
}

async function importModule(): Promise<NodeLlamaCpp> {
  try {
    return (await import(MODULE.href)) as NodeLlamaCpp;
  } catch {
    throw new RecapError(
      "node-llama-cpp is not installed (the GGUF provider needs it)",
      "run `npm run setup:llama` (installs tools/llama)",
    );
  }
}

/** Reads and checks the GGUF header; returns its chat template string, if any. */
async function checkGguf(lib: NodeLlamaCpp, file: string): Promise<string | undefined> {
  const fd = fs.existsSync(file) ? fs.openSync(file, "r") : undefined;
  if (fd === undefined) throw new RecapError(`GGUF file not found: ${file}`);
  const magic = Buffer.alloc(4);
  fs.readSync(fd, magic, 0, 4, 0);
  fs.closeSync(fd);
  if (magic.toString("latin1") !== "GGUF") throw new RecapError(`${file} is not a GGUF file (bad magic)`);
  let meta: Record<string, unknown>;
  try {
    meta = (await lib.readGgufFileInfo(file, { readTensorInfo: false, logWarnings: false })).metadata;
  } catch (e) {
    throw new RecapError(`${file}: unreadable GGUF header: ${(e as Error).message}`);
  }
  const general = meta["general"] as { architecture?: string } | undefined;
  const arch = general?.architecture;
  const tokenizer = meta["tokenizer"] as { ggml?: { tokens?: unknown }; chat_template?: unknown } | undefined;
  if (!arch || !meta[arch] || !tokenizer?.ggml?.tokens)
    throw new RecapError(
      `${file}: the GGUF lacks general.architecture, its ${arch ?? "<arch>"}.* keys or tokenizer.ggml.tokens`,
      "re-export it with `recap export --format gguf`",
    );
  return typeof tokenizer.chat_template === "string" ? tokenizer.chat_template : undefined;
}

export class LlamaCppProvider implements Provider {
  private constructor(
    private readonly o: LlamaCppOptions,
    private readonly lib: NodeLlamaCpp,
    private readonly model: LlamaModelLike,
    private readonly ctx: { getSequence(): SequenceLike; dispose(): Promise<void> },
    private readonly template: ChatTemplate | undefined,
  ) {
    this.seq = ctx.getSequence();
  }

  private readonly seq: SequenceLike;

  static async open(o: LlamaCppOptions): Promise<LlamaCppProvider> {
    const lib = await importModule();
    const ggufTemplate = await checkGguf(lib, o.modelPath);
    const tplText = o.template?.template ?? ggufTemplate;
    const template =
      o.template ??
      (tplText !== undefined
        ? { source: o.modelPath, template: tplText, bosToken: "", eosToken: "", compiled: new Template(tplText) }
        : undefined);
    const llama = await lib.getLlama({ gpu: false, build: "never", logLevel: "error" });
    const model = await llama.loadModel({ modelPath: o.modelPath });
    const ctx = await model.createContext({
      contextSize: o.contextSize ?? model.trainContextSize,
      threads: 1,
      sequences: 1,
    });
    return new LlamaCppProvider(o, lib, model, ctx, template);
  }

  id(): string {
    return `llama.cpp:${this.o.modelPath}`;
  }

  batchSize(): number {
    return 8;
  }

  tokenizer(): TextTokenizer {
    return {
      source: this.id(),
      encode: (t) => this.model.tokenize(t, false),
      decode: (ids) => this.model.detokenize(ids, true),
    };
  }

  private render(req: GenRequest): { prompt: string; open: boolean } {
    if (req.raw === undefined && this.template?.template === CHAT_TEMPLATE)
      return { prompt: renderEmbeddedPrompt(req), open: req.thinking !== undefined && !req.closeThinking };
    if (req.raw === undefined && !this.template)
      throw new RecapError(`${this.o.modelPath} has no chat template`, "pass --chat-template FILE");
    return renderCompletionPrompt(req, { template: this.template });
  }

  async generate(requests: GenRequest[]): Promise<GenResult[]> {
    const rendered = requests.map((r) => this.render(r));
    const results: GenResult[] = [];
    for (const [i, req] of requests.entries()) {
      const res: GenResult = { key: req.key, completions: [] };
      try {
        for (let j = 0; j < req.n; j++)
          res.completions.push(await this.one(rendered[i]!.prompt, rendered[i]!.open, req, j));
      } catch (e) {
        res.completions = [];
        res.error = `llama.cpp: ${(e as Error).message}`;
      }
      results.push(res);
    }
    return results;
  }

  private async one(prompt: string, open: boolean, req: GenRequest, j: number): Promise<Completion> {
    await this.seq.clearHistory();
    const comp = new this.lib.LlamaCompletion({ contextSequence: this.seq });
    const p = req.params;
    const input = this.model.tokenize(prompt, true);
    const r = await comp.generateCompletionWithMeta(input, {
      maxTokens: p.maxTokens,
      temperature: p.temperature,
      topP: p.topP,
      seed: p.seed + j,
      ...(p.stop?.length ? { customStopTriggers: p.stop } : {}),
    });
    const evaluated = this.seq.contextTokens.slice(input.length);
    const total = Math.min(p.maxTokens, evaluated.length + 1);
    const endThink = this.model.tokenize("</think>", true);
    const close = endThink.length === 1 ? evaluated.indexOf(endThink[0]!) : -1;
    const split =
      close >= 0 ? { cotTokens: close + 1, responseTokens: total - close - 1 } : approxSplit(r.response, total, open);
    return {
      text: r.response,
      completionTokens: total,
      ...split,
      ...(close < 0 && split.cotTokens * split.responseTokens > 0 ? { approxTokens: true } : {}),
      finishReason: r.metadata.stopReason,
    };
  }

  async close(): Promise<void> {
    await this.ctx.dispose();
    await this.model.dispose();
  }
}
