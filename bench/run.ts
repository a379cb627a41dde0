// `npm run bench -- [--json] [--kernels ref,...] [--steps N] [--no-torch]`: speed of the engine on
// the `tiny` preset, measured side by side in one run with the PyTorch anchor (Debian's
// python3-torch with OpenBLAS, same model, same thread count) when it is installed.
//   train:  forward + backward + AdamW on 16 x 128 tokens  → tokens/s
//   sample: KV-cache sampling, 16-token prompt + 112 new tokens at batch 1, 16, 64 → new tokens/s
// Keys: train.<kernel>, sample.<kernel>.batch<B>; kernel = ref | ... | torch (2 threads) | torch-1t.
// Human summary on stderr; with --json one JSON document on stdout.
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import { KERNEL_NAMES, selectKernels } from "../src/engine/select.ts";
import { Rng } from "../src/engine/rng.ts";
import { decayedParamNames, presetConfig } from "../src/model/config.ts";
import { Llama, initParams } from "../src/model/llama.ts";
import { AdamW } from "../src/model/optim.ts";
import { sample } from "../src/model/sampler.ts";
import { lmTrainStep } from "../src/model/train_step.ts";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const json = args.includes("--json");
const kernelNames = (flag("--kernels") ?? KERNEL_NAMES.join(",")).split(",");
const trainSteps = Number(flag("--steps") ?? 3);
const sampleBatches = [1, 16, 64];
const PROMPT = 16, NEW = 112, TRAIN_B = 16, TRAIN_T = 128;
const log = (s: string) => process.stderr.write(s + "\n");

function benchTrain(kernels: string): { tokens_per_s: number; step_ms: number } {
  const config = presetConfig("tiny");
  const m = new Llama(config, initParams(config, 0), selectKernels(kernels));
  const opt = new AdamW(m.params, m.kernels, decayedParamNames(config));
  const rng = new Rng(1);
  const N = TRAIN_B * TRAIN_T;
  const batch = {
    B: TRAIN_B, T: TRAIN_T,
    ids: Int32Array.from({ length: N }, () => rng.int(config.vocab_size)),
    targets: Int32Array.from({ length: N }, () => rng.int(config.vocab_size)),
    weights: new Float32Array(N).fill(1),
  };
  lmTrainStep(m, opt, batch, { lr: 1e-3 }); // warm-up (JIT tier-up)
  const t0 = performance.now();
  for (let s = 0; s < trainSteps; s++) lmTrainStep(m, opt, batch, { lr: 1e-3 });
  const stepMs = (performance.now() - t0) / trainSteps;
  return { tokens_per_s: N / (stepMs / 1000), step_ms: stepMs };
}

function benchSample(kernels: string, B: number): { tokens_per_s: number } {
  const config = presetConfig("tiny");
  const m = new Llama(config, initParams(config, 0), selectKernels(kernels));
  const rng = new Rng(2);
  const prompts = Array.from({ length: B }, () => Array.from({ length: PROMPT }, () => rng.int(config.vocab_size)));
  sample(m, prompts, { maxNewTokens: 8, seed: 0 }); // warm-up
  const t0 = performance.now();
  sample(m, prompts, { maxNewTokens: NEW, seed: 0 });
  return { tokens_per_s: (B * NEW) / ((performance.now() - t0) / 1000) };
}

function torchAnchor(threads: number): unknown {
  const r = spawnSync("/usr/bin/python3", ["bench/torch_bench.py", "--threads", String(threads), "--json"], {
    encoding: "utf8", timeout: 600_000,
  });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? r.stderr.trim().split("\n").at(-1) ?? "unknown";
    return { skipped: `PyTorch anchor unavailable (${why}); install it with: apt-get install python3-torch libopenblas0-openmp` };
  }
  return JSON.parse(r.stdout);
}

const result: Record<string, unknown> = {
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? "unknown", node: process.version },
  config: { preset: "tiny", train: `${TRAIN_B}x${TRAIN_T} tokens, ${trainSteps} timed steps`, sample: `prompt ${PROMPT}, ${NEW} new tokens` },
  train: {} as Record<string, unknown>,
  sample: {} as Record<string, unknown>,
};
const train = result["train"] as Record<string, unknown>;
const samp = result["sample"] as Record<string, unknown>;
for (const k of kernelNames) {
  log(`train [${k}] ...`);
  train[k] = benchTrain(k);
  log(`  ${JSON.stringify(train[k])}`);
  const byBatch: Record<string, unknown> = {};
  for (const B of sampleBatches) {
    log(`sample [${k}] batch ${B} ...`);
    byBatch[`batch${B}`] = benchSample(k, B);
    log(`  ${JSON.stringify(byBatch[`batch${B}`])}`);
  }
  samp[k] = byBatch;
}
if (!args.includes("--no-torch")) {
  for (const threads of [1, 2]) {
    log(`torch anchor, ${threads} thread(s) ...`);
    const key = threads === 2 ? "torch" : `torch-${threads}t`;
    const t = torchAnchor(threads) as Record<string, unknown>;
    if ("skipped" in t) {
      result[`${key}_info`] = t;
      log(`  ${t["skipped"]}`);
      continue;
    }
    train[key] = t["train"];
    samp[key] = t["sample"];
    result[`${key}_info`] = { threads, version: t["torch_version"], blas: t["blas"] };
    log(`  train ${JSON.stringify(t["train"])} sample ${JSON.stringify(t["sample"])}`);
  }
}
if (json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
