// Optional access to llama.cpp through node-llama-cpp 3.21.1, installed apart from the main
// package in tools/llama (`npm run setup:llama`, CPU prebuilt only). Used by the parity test and
// the sampler benchmark; nothing else depends on it. Loading never throws: a missing package or
// a prebuilt binary that does not load comes back as a reason, so callers can skip and say why.
//
// Settings that matter on a small CPU machine (DESIGN §6): gpu false, build "never" (no compile),
// threads 1 by default (llama.cpp's default thread count is far slower on 2 cores), F32 KV
// cache and no flash attention, so its numbers are comparable with ours. Files are checked with
// checkLlamaGguf before loading, because a missing key aborts the process inside llama.cpp.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { decodeGguf } from "./gguf.ts";
import { checkLlamaGguf } from "./gguf_llama.ts";

// biome-ignore lint/suspicious/noConfusingVoidType: node-llama-cpp's own signature (next() takes nothing or tokens)
type NextInput = void | number | number[];

/** The subset of node-llama-cpp's API used here (its own typings live in tools/llama). */
export interface LlamaCppSequence {
  controlledEvaluate(
    input: (
      | number
      | [number, { generateNext?: { probabilities?: boolean; token?: boolean; options?: { temperature?: number } } }]
    )[],
  ): Promise<({ next: { token?: number | null; probabilities?: Map<number, number> } } | undefined)[]>;
  evaluate(
    tokens: number[],
    options?: { temperature?: number; seed?: number },
  ): AsyncGenerator<number, void, NextInput>;
  clearHistory(): Promise<void>;
  dispose(): void;
}
export interface LlamaCppContext {
  getSequence(): LlamaCppSequence;
  dispose(): Promise<void>;
}
export interface LlamaCppModel {
  tokenize(text: string, specialTokens?: boolean): number[];
  detokenize(tokens: readonly number[], specialTokens?: boolean): string;
  readonly tokens: { eos: number | null; bos: number | null };
  createContext(options: Record<string, unknown>): Promise<LlamaCppContext>;
  dispose(): Promise<void>;
}
export interface LlamaCpp {
  loadModel(options: { modelPath: string; gpuLayers?: number }): Promise<LlamaCppModel>;
  dispose(): Promise<void>;
}

export type LlamaCppLoad = { ok: true; llama: LlamaCpp; version: string } | { ok: false; reason: string };

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const NODE_LLAMA_CPP_DIR = path.join(REPO_ROOT, "tools/llama/node_modules/node-llama-cpp");

/** Loads node-llama-cpp (from `dir`, default tools/llama's copy) and its CPU binary, or says why it cannot. */
export async function loadLlamaCpp(dir = NODE_LLAMA_CPP_DIR): Promise<LlamaCppLoad> {
  const entry = path.join(dir, "dist/index.js");
  if (!fs.existsSync(entry))
    return { ok: false, reason: `node-llama-cpp is not installed (${entry} is missing): run \`npm run setup:llama\`` };
  let version = "unknown";
  try {
    version = (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string }).version;
    const lib = (await import(pathToFileURL(entry).href)) as {
      getLlama(o: Record<string, unknown>): Promise<LlamaCpp>;
      LlamaLogLevel: Record<string, unknown>;
    };
    const llama = await lib.getLlama({
      gpu: false,
      build: "never",
      logLevel: lib.LlamaLogLevel["error"],
      progressLogs: false,
    });
    return { ok: true, llama, version };
  } catch (e) {
    return {
      ok: false,
      reason: `node-llama-cpp ${version} is installed but its prebuilt binary did not load: ${(e as Error).message.split("\n")[0]}`,
    };
  }
}

/** Validates a GGUF file fully, then loads it on the CPU. */
export async function loadGgufModel(llama: LlamaCpp, file: string): Promise<LlamaCppModel> {
  checkLlamaGguf(decodeGguf(new Uint8Array(fs.readFileSync(file)), file), file);
  return llama.loadModel({ modelPath: file, gpuLayers: 0 });
}

/** A context with our comparison settings: F32 KV cache, no flash attention, `threads` threads. */
export function createComparableContext(
  model: LlamaCppModel,
  o: { contextSize: number; sequences?: number; threads?: number; batchSize?: number },
): Promise<LlamaCppContext> {
  return model.createContext({
    contextSize: o.contextSize,
    sequences: o.sequences ?? 1,
    threads: o.threads ?? 1,
    batchSize: o.batchSize,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
  });
}

/** llama.cpp's next-token log-probs after every position of `ids` (row t predicts ids[t+1]). */
export async function llamaCppLogprobs(seq: LlamaCppSequence, ids: number[], V: number): Promise<Float64Array[]> {
  await seq.clearHistory();
  const out = await seq.controlledEvaluate(ids.map((id) => [id, { generateNext: { probabilities: true } }]));
  return ids.map((_, t) => {
    const probs = out[t]?.next.probabilities;
    if (!probs) throw new Error(`llama.cpp returned no probabilities at position ${t}`);
    const row = new Float64Array(V).fill(-Infinity);
    for (const [id, p] of probs) if (id < V) row[id] = Math.log(p);
    return row;
  });
}

/** llama.cpp's greedy continuation of `prompt` (at most maxTokens; `stop` is kept when drawn).
 *  Stepped with controlledEvaluate, because `evaluate` ends at end-of-generation tokens without
 *  yielding them. */
export async function llamaCppGreedy(
  seq: LlamaCppSequence,
  prompt: number[],
  maxTokens: number,
  stop: number,
): Promise<number[]> {
  await seq.clearHistory();
  const greedy = { generateNext: { token: true, options: { temperature: 0 } } };
  const out: number[] = [];
  let input: Parameters<LlamaCppSequence["controlledEvaluate"]>[0] = [
    ...prompt.slice(0, -1),
    [prompt[prompt.length - 1]!, greedy],
  ];
  while (out.length < maxTokens) {
    const res = await seq.controlledEvaluate(input);
    const t = res[input.length - 1]?.next.token;
    if (t === undefined || t === null) throw new Error("llama.cpp produced no token");
    out.push(t);
    if (t === stop) break;
    input = [[t, greedy]];
  }
  return out;
}
