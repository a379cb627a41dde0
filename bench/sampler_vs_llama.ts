// `node --import tsx bench/sampler_vs_llama.ts [--json] [--markdown] [--repeats N]`: our KV-cache
// sampler against llama.cpp (node-llama-cpp 3.21.1, CPU prebuilt) on the same model, measured
// in one run at batch 1, 16 and 64 with the same thread count (1 and 2).
//
// Model: the `tiny` preset (seed 0), exported to an f32 GGUF (F32 KV cache, no flash attention
// on the llama.cpp side). Workload as `npm run bench`'s sample: 16-token prompts, 112 new tokens,
// temperature 1; new tokens/s = generated tokens / wall time (prefill included), best of N.
// Ours: `sample` on the `wasm` kernels (1 thread) and `wasm-threads` (2 threads).
// llama.cpp: one context with B sequences (node-llama-cpp batches the sequences' tokens into one
// decode per step), `threads` 1 or 2, each sequence driven by `evaluate`. llama.cpp ends a
// sequence at the end-of-generation token, so its generated tokens are counted, not assumed.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Rng } from "../src/engine/rng.ts";
import { disposeKernels, selectKernels } from "../src/engine/select.ts";
import { exportGguf } from "../src/export/export.ts";
import { createComparableContext, loadGgufModel, loadLlamaCpp } from "../src/export/llama_cpp.ts";
import type { LlamaCpp, LlamaCppModel } from "../src/export/llama_cpp.ts";
import { trainBpe } from "../src/model/bpe_train.ts";
import { CHAT_TEMPLATE } from "../src/model/chat_template.ts";
import { presetConfig } from "../src/model/config.ts";
import { Llama, initParams } from "../src/model/llama.ts";
import { sample } from "../src/model/sampler.ts";
import { SEED_CORPUS } from "../src/model/seed_corpus.ts";

const args = process.argv.slice(2);
const repeats = Number(args[args.indexOf("--repeats") + 1] ?? 3) || 3;
const BATCHES = [1, 16, 64],
  PROMPT = 16,
  NEW = 112;
const log = (s: string) => process.stderr.write(s + "\n");

interface Row {
  engine: string;
  threads: number;
  batch: number;
  tokens: number;
  seconds: number;
  tokens_per_s: number;
}

function benchOurs(kernels: string, threads: number, prompts: number[][]): Row {
  const config = presetConfig("tiny");
  const m = new Llama(config, initParams(config, 0), selectKernels(kernels));
  sample(m, prompts, { maxNewTokens: 8, seed: 0 }); // warm-up (JIT tier-up)
  let best: Row | null = null;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const res = sample(m, prompts, { maxNewTokens: NEW, seed: r + 1 });
    const seconds = (performance.now() - t0) / 1000,
      tokens = res.reduce((n, x) => n + x.tokens.length, 0);
    if (!best || tokens / seconds > best.tokens_per_s)
      best = {
        engine: `recap ${kernels}`,
        threads,
        batch: prompts.length,
        tokens,
        seconds,
        tokens_per_s: tokens / seconds,
      };
  }
  return best!;
}

async function llamaOnce(
  model: LlamaCppModel,
  threads: number,
  prompts: number[][],
  seed: number,
): Promise<{ tokens: number; seconds: number }> {
  const B = prompts.length;
  const ctx = await createComparableContext(model, {
    contextSize: PROMPT + NEW,
    sequences: B,
    threads,
    batchSize: Math.max(512, B * PROMPT),
  });
  try {
    const seqs = prompts.map(() => ctx.getSequence());
    const t0 = performance.now();
    const counts = await Promise.all(
      seqs.map(async (seq, b) => {
        let n = 0;
        for await (const _ of seq.evaluate(prompts[b]!, { temperature: 1, seed: seed + b })) if (++n >= NEW) break;
        return n;
      }),
    );
    return { tokens: counts.reduce((a, b) => a + b, 0), seconds: (performance.now() - t0) / 1000 };
  } finally {
    await ctx.dispose();
  }
}

async function benchLlama(llama: LlamaCpp, file: string, threads: number, prompts: number[][]): Promise<Row> {
  const model = await loadGgufModel(llama, file);
  try {
    await llamaOnce(
      model,
      threads,
      prompts.map((p) => p.slice(0, 4)),
      0,
    ); // warm-up
    let best = { tokens: 0, seconds: Infinity, rate: 0 };
    for (let r = 0; r < repeats; r++) {
      const o = await llamaOnce(model, threads, prompts, 100 * r);
      if (o.tokens / o.seconds > best.rate) best = { ...o, rate: o.tokens / o.seconds };
    }
    return {
      engine: "llama.cpp",
      threads,
      batch: prompts.length,
      tokens: best.tokens,
      seconds: best.seconds,
      tokens_per_s: best.rate,
    };
  } finally {
    await model.dispose();
  }
}

async function main(): Promise<void> {
  const load = await loadLlamaCpp();
  if (!load.ok) log(`llama.cpp side skipped: ${load.reason}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-bench-llama-"));
  const file = path.join(tmp, "tiny.gguf");
  const config = presetConfig("tiny");
  const tokenizer = trainBpe([SEED_CORPUS], config.vocab_size);
  await exportGguf(
    { config, params: initParams(config, 0), tokenizer, chatTemplate: CHAT_TEMPLATE, name: "tiny" },
    file,
    "f32",
  );
  const rows: Row[] = [];
  const loadBefore = os.loadavg();
  for (const B of BATCHES) {
    const rng = new Rng(2);
    const prompts = Array.from({ length: B }, () =>
      Array.from({ length: PROMPT }, () => 7 + rng.int(tokenizer.vocabSize - 7)),
    );
    for (const [kernels, threads] of [
      ["wasm", 1],
      ["wasm-threads", 2],
    ] as const) {
      rows.push(benchOurs(kernels, threads, prompts));
      if (load.ok) rows.push(await benchLlama(load.llama, file, threads, prompts));
    }
    for (const r of rows.filter((x) => x.batch === B))
      log(
        `batch ${B}: ${r.engine} (${r.threads}t) ${r.tokens_per_s.toFixed(0)} tokens/s (${r.tokens} tokens in ${r.seconds.toFixed(2)} s)`,
      );
  }
  if (load.ok) await load.llama.dispose();
  disposeKernels();
  fs.rmSync(tmp, { recursive: true, force: true });
  const machine = {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model ?? "unknown",
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
  const doc = {
    machine,
    llama_cpp: load.ok ? `node-llama-cpp ${load.version}` : null,
    workload: { preset: "tiny", prompt: PROMPT, new_tokens: NEW, repeats },
    load: { before: loadBefore, after: os.loadavg() },
    rows,
  };
  if (args.includes("--json")) process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
  if (args.includes("--markdown")) process.stdout.write(markdown(rows) + "\n");
}

function markdown(rows: Row[]): string {
  const get = (e: string, t: number, b: number) =>
    rows.find((r) => r.engine.startsWith(e) && r.threads === t && r.batch === b);
  const lines = [
    "| batch | threads | recap tokens/s | llama.cpp tokens/s | recap / llama.cpp |",
    "|---|---|---|---|---|",
  ];
  for (const b of BATCHES)
    for (const t of [1, 2]) {
      const o = get("recap", t, b),
        l = get("llama.cpp", t, b);
      lines.push(
        `| ${b} | ${t} | ${o ? Math.round(o.tokens_per_s).toLocaleString("en") : "-"} | ${l ? Math.round(l.tokens_per_s).toLocaleString("en") : "-"} | ${o && l ? (o.tokens_per_s / l.tokens_per_s).toFixed(2) + "x" : "-"} |`,
      );
    }
  return lines.join("\n");
}

await main();
