// `node --import tsx bench/train_rss.ts --kernels K --steps N`: runs N training steps of the
// `tiny` preset (16 x 128 tokens) in a fresh process and prints one JSON line with its peak
// resident memory, so bench/run.ts can report the memory of a training run uncontaminated by
// the rest of the benchmark.
import { Rng } from "../src/engine/rng.ts";
import { disposeKernels, selectKernels } from "../src/engine/select.ts";
import { decayedParamNames, presetConfig } from "../src/model/config.ts";
import { Llama, initParams } from "../src/model/llama.ts";
import { AdamW } from "../src/model/optim.ts";
import { lmTrainStep } from "../src/model/train_step.ts";

const args = process.argv.slice(2);
const flag = (n: string) => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
const kernels = selectKernels(flag("--kernels"));
const steps = Number(flag("--steps") ?? 5);
const config = presetConfig("tiny");
const m = new Llama(config, initParams(config, 0), kernels);
const opt = new AdamW(m.params, kernels, decayedParamNames(config));
const rng = new Rng(1);
const B = 16,
  T = 128,
  N = B * T;
const batch = {
  B,
  T,
  ids: Int32Array.from({ length: N }, () => rng.int(config.vocab_size)),
  targets: Int32Array.from({ length: N }, () => rng.int(config.vocab_size)),
  weights: new Float32Array(N).fill(1),
};
let loss = 0;
for (let s = 0; s < steps; s++) loss = lmTrainStep(m, opt, batch, { lr: 1e-3 }).loss;
const wasmBytes = (kernels as { arena?: { size: number } }).arena?.size;
process.stdout.write(
  JSON.stringify({
    kernels: kernels.name,
    steps,
    loss,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024,
    ...(wasmBytes ? { wasm_memory_mib: wasmBytes / 2 ** 20 } : {}),
  }) + "\n",
);
disposeKernels();
