// `npm run bench -- [--json] [--kernels ref,wasm,wasm-threads] [--steps N] [--ref-steps N]
//                  [--no-torch] [--profile]`: speed of the engine on the `tiny` preset, measured
// side by side in one run with the PyTorch anchor (Debian's python3-torch with OpenBLAS, same
// model, same thread count) when it is installed.
//   train:  forward + backward + AdamW on 16 x 128 tokens → tokens/s (mean over the timed steps
//           after 2 warm-up steps; `ref` takes ~10 s a step, so it gets --ref-steps, default 1)
//   sample: KV-cache sampling, 16-token prompt + 112 new tokens at batch 1, 16, 64, and the RL
//           group shape at batch 256 (120-token prompts, 100 new) → new tokens/s (best of 3
//           after a warm-up, as the anchor; 1 for ref)
//   matmul: GFLOP/s of the matmul shapes of a tiny training step and of decoding
//   memory: peak RSS of a separate process running 5 training steps
// Keys: train.<kernel>, sample.<kernel>.batch<B>, matmul.<kernel>.<case MxKxN>, memory.<kernel>;
// kernel = ref | wasm | wasm-threads | wasm-fma | wasm-fma-threads | torch (2 threads) | torch-1t. `load` is the machine's load
// average before and after (other processes skew every number: compare within one run).
// Human summary on stderr; with --json one JSON document on stdout.
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import type { Kernels } from "../src/engine/kernels.ts";
import { Rng } from "../src/engine/rng.ts";
import { DEFAULT_ORDER, KERNEL_NAMES, disposeKernels, selectKernels } from "../src/engine/select.ts";
import { decayedParamNames, presetConfig } from "../src/model/config.ts";
import { Llama, initParams } from "../src/model/llama.ts";
import { AdamW } from "../src/model/optim.ts";
import { sample } from "../src/model/sampler.ts";
import { lmTrainStep } from "../src/model/train_step.ts";
import { profileSample, profileTrain } from "./profile.ts";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const json = args.includes("--json");
const kernelNames = (flag("--kernels") ?? KERNEL_NAMES.join(",")).split(",");
const trainSteps = Number(flag("--steps") ?? 10);
const refSteps = Number(flag("--ref-steps") ?? 1);
const sampleBatches = [1, 16, 64, 256];
const PROMPT = 16,
  NEW = 112,
  TRAIN_B = 16,
  TRAIN_T = 128;
/** Batch 256 has the shape of an RL step's groups: 16 prompts x G = 16, 120-token prompts (a chat
 *  prompt with a prefill), 100 new tokens. The other batches: 16-token prompts, 112 new tokens. */
const RL_BATCH = 256,
  RL_PROMPT = 120,
  RL_NEW = 100;
const sampleShape = (B: number) =>
  B === RL_BATCH ? { prompt: RL_PROMPT, fresh: RL_NEW } : { prompt: PROMPT, fresh: NEW };
const log = (s: string) => process.stderr.write(s + "\n");

function benchTrain(kernels: string): { tokens_per_s: number; step_ms: number; step_ms_min: number; steps: number } {
  const config = presetConfig("tiny");
  const m = new Llama(config, initParams(config, 0), selectKernels(kernels));
  const opt = new AdamW(m.params, m.kernels, decayedParamNames(config));
  const rng = new Rng(1);
  const N = TRAIN_B * TRAIN_T;
  const batch = {
    B: TRAIN_B,
    T: TRAIN_T,
    ids: Int32Array.from({ length: N }, () => rng.int(config.vocab_size)),
    targets: Int32Array.from({ length: N }, () => rng.int(config.vocab_size)),
    weights: new Float32Array(N).fill(1),
  };
  const steps = kernels === "ref" ? refSteps : trainSteps;
  for (let w = 0; w < (kernels === "ref" ? 1 : 2); w++) lmTrainStep(m, opt, batch, { lr: 1e-3 }); // warm-up (JIT tier-up)
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    lmTrainStep(m, opt, batch, { lr: 1e-3 });
    times.push(performance.now() - t0);
  }
  const stepMs = times.reduce((a, b) => a + b, 0) / steps;
  return { tokens_per_s: N / (stepMs / 1000), step_ms: stepMs, step_ms_min: Math.min(...times), steps };
}

function benchSample(
  kernels: string,
  B: number,
): { tokens_per_s: number; seconds: number; prompt: number; new: number } {
  const config = presetConfig("tiny");
  const m = new Llama(config, initParams(config, 0), selectKernels(kernels));
  const rng = new Rng(2);
  const { prompt, fresh } = sampleShape(B);
  const prompts = Array.from({ length: B }, () => Array.from({ length: prompt }, () => rng.int(config.vocab_size)));
  sample(m, prompts, { maxNewTokens: 8, seed: 0 }); // warm-up
  let best = Infinity;
  for (let r = 0; r < (kernels === "ref" ? 1 : 3); r++) {
    const t0 = performance.now();
    sample(m, prompts, { maxNewTokens: fresh, seed: r });
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return { tokens_per_s: (B * fresh) / best, seconds: best, prompt, new: fresh };
}

/** [label, M, K, N, transA, transB]: the matmuls of a tiny training step and of decoding. */
const MATMULS: [string, number, number, number, boolean, boolean][] = [
  ["fwd x W^T (NT) 2048x128x384", 2048, 128, 384, false, true],
  ["fwd x W^T (NT) 2048x384x128", 2048, 384, 128, false, true],
  ["fwd x W^T (NT) 2048x128x512", 2048, 128, 512, false, true],
  ["bwd dy W (NN) 2048x384x128", 2048, 384, 128, false, false],
  ["bwd dy W (NN) 2048x128x384", 2048, 128, 384, false, false],
  ["bwd dW += dy^T x (TN) 384x2048x128", 384, 2048, 128, true, false],
  ["bwd dW += dy^T x (TN) 128x2048x384", 128, 2048, 384, true, false],
  ["decode (NT) 16x128x384", 16, 128, 384, false, true],
  ["decode (NT) 64x128x384", 64, 128, 384, false, true],
];

function benchMatmul(name: string): Record<string, number> {
  const k: Kernels = selectKernels(name);
  const out: Record<string, number> = {};
  const rng = new Rng(3);
  for (const [label, M, K, N, tA, tB] of MATMULS) {
    const mark = k.mark();
    const a = k.alloc(M * K),
      b = k.alloc(K * N),
      c = k.alloc(M * N); // operands in kernel memory
    for (let i = 0; i < a.length; i++) a[i] = rng.normal();
    for (let i = 0; i < b.length; i++) b[i] = rng.normal();
    const flops = 2 * M * K * N;
    const reps = name === "ref" ? 1 : Math.max(5, Math.round(2e9 / flops));
    for (let i = 0; i < (name === "ref" ? 1 : Math.max(3, reps / 4)); i++) k.matmul(c, a, b, M, K, N, tA, tB, false);
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) k.matmul(c, a, b, M, K, N, tA, tB, false);
    out[label] = flops / (((performance.now() - t0) / reps) * 1e6);
    k.release(mark);
  }
  return out;
}

function peakRss(kernels: string): unknown {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", "bench/train_rss.ts", "--kernels", kernels, "--steps", kernels === "ref" ? "1" : "5"],
    {
      encoding: "utf8",
      timeout: 600_000,
    },
  );
  if (r.status !== 0) return { error: r.stderr.trim().split("\n").at(-1) ?? "failed" };
  return JSON.parse(r.stdout);
}

/** The anchor's environment: ours without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE. Some machines
 *  set them as a guard for old OpenBLAS builds; on a current OpenBLAS they pick slower kernels
 *  (~40% fewer training tokens/s here), which would flatter every ratio. */
export function anchorEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { OPENBLAS_CORETYPE: _c, OPENBLAS_L2_SIZE: _l, ...rest } = env;
  return rest;
}

function torchAnchor(threads: number): unknown {
  const r = spawnSync("/usr/bin/python3", ["bench/torch_bench.py", "--threads", String(threads), "--json"], {
    encoding: "utf8",
    timeout: 900_000,
    env: anchorEnv(),
  });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? r.stderr.trim().split("\n").at(-1) ?? "unknown";
    return {
      skipped: `PyTorch anchor unavailable (${why}); install it with: apt-get install python3-torch libopenblas0-openmp`,
    };
  }
  return JSON.parse(r.stdout);
}

const result: Record<string, unknown> = {
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? "unknown", node: process.version },
  config: {
    preset: "tiny",
    train: `${TRAIN_B}x${TRAIN_T} tokens, ${trainSteps} timed steps (ref ${refSteps})`,
    sample: `prompt ${PROMPT}, ${NEW} new tokens (batch ${RL_BATCH}: prompt ${RL_PROMPT}, ${RL_NEW} new), best of 3 (ref 1)`,
  },
  load: { before: os.loadavg() },
  train: {} as Record<string, unknown>,
  sample: {} as Record<string, unknown>,
  matmul: {} as Record<string, unknown>,
  memory: {} as Record<string, unknown>,
};
const train = result["train"] as Record<string, unknown>;
const samp = result["sample"] as Record<string, unknown>;
for (const k of kernelNames) {
  const ks = selectKernels(k) as Kernels & { threads?: number; variant?: string };
  log(`[${k}] ${ks.threads ?? 1} thread(s)${ks.variant ? `, ${ks.variant}` : ""}`);
  log(`train [${k}] ...`);
  train[k] = benchTrain(k);
  log(`  ${JSON.stringify(train[k])}`);
  const byBatch: Record<string, unknown> = {};
  for (const B of sampleBatches) {
    if (k === "ref" && B === RL_BATCH) continue; // about a minute of the reference: not informative
    log(`sample [${k}] batch ${B} ...`);
    byBatch[`batch${B}`] = benchSample(k, B);
    log(`  ${JSON.stringify(byBatch[`batch${B}`])}`);
  }
  samp[k] = byBatch;
  log(`matmul [${k}] ...`);
  (result["matmul"] as Record<string, unknown>)[k] = benchMatmul(k);
  log(`peak RSS of a training run [${k}] ...`);
  (result["memory"] as Record<string, unknown>)[k] = peakRss(k);
  log(`  ${JSON.stringify((result["memory"] as Record<string, unknown>)[k])}`);
}
if (args.includes("--profile")) {
  // The first benched set in the default order (no other set is started for it).
  const k = DEFAULT_ORDER.find((n) => kernelNames.includes(n)) ?? kernelNames[0]!;
  log(`profile [${k}] ...`);
  result["profile"] = {
    kernels: k,
    train: profileTrain(k, 3),
    sample16: profileSample(k, 16),
    sample64: profileSample(k, 64),
  };
}
disposeKernels();
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
(result["load"] as Record<string, unknown>)["after"] = os.loadavg();
summary();
if (json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");

/** Ratios against PyTorch with 2 threads, on stderr. */
function summary(): void {
  const get = (o: unknown, ...path: string[]): number | undefined => {
    let x: unknown = o;
    for (const p of path) x = (x as Record<string, unknown> | undefined)?.[p];
    return typeof x === "number" ? x : undefined;
  };
  const rows: [string, string[]][] = [
    ["train", ["tokens_per_s"]],
    ...sampleBatches.map((B) => [`sample b${B}`, [`batch${B}`, "tokens_per_s"]] as [string, string[]]),
  ];
  log(`\n${"tokens/s".padEnd(12)}${[...kernelNames, "torch"].map((k) => k.padStart(18)).join("")}   (x torch)`);
  for (const [label, path] of rows) {
    const src = label === "train" ? train : samp;
    const t = get(src, "torch", ...path);
    const cells = [...kernelNames, "torch"].map((k) => {
      const v = get(src, k, ...path);
      return (
        v === undefined ? "-" : `${Math.round(v)}${t && k !== "torch" ? ` ${(v / t).toFixed(2)}x` : ""}`
      ).padStart(18);
    });
    log(`${label.padEnd(12)}${cells.join("")}`);
  }
  const fmt = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  log(
    `load average at the start ${fmt((result["load"] as { before: number[] }).before)}, at the end ${fmt(os.loadavg())}`,
  );
}
