// SFT step time with length-bucketed micro-batches (`length_buckets` of the SFT config) against
// one padded batch, side by side in one process: the same tiny model, the same batches of the
// world's base corpus, the steps of each setting interleaved so that machine noise hits all alike.
//   npx recap world build --seed 1 --out runs/world && node --import tsx bench/sft_buckets.ts [--steps N] [--kernels K] [--json]
import { disposeKernels, selectKernels } from "../src/engine/select.ts";
import { decayedParamNames } from "../src/model/config.ts";
import { freshModel } from "../src/model/init.ts";
import { Llama } from "../src/model/llama.ts";
import { AdamW } from "../src/model/optim.ts";
import { lengthBuckets, lmTrainStep } from "../src/model/train_step.ts";
import { batchIndices, makeBatch, readTexts, tokenizeRows } from "../src/train/sft_data.ts";

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : d;
};
const steps = Number(arg("--steps", "40"));
const kernelName = arg("--kernels", "wasm-threads");
const data = arg("--data", "runs/world/corpora/base_sft.jsonl");
const settings = [1, 2, 4, 8];

const texts = readTexts(data);
const { config, params, tokenizer: tok } = freshModel("tiny", 1, { corpus: texts.join("\n") }); // what `recap sft` starts from
const rows = tokenizeRows(texts, tok, "assistant", config.max_position_embeddings, data);
const kernels = selectKernels(kernelName);
const runs = settings.map((k) => {
  const model = new Llama(config, params, kernels);
  return { k, model, opt: new AdamW(model.params, kernels, decayedParamNames(config)), ms: 0, cells: 0 };
});
for (let step = -2; step < steps; step++) {
  // two warm-up steps (JIT tier-up), not timed
  const batch = makeBatch(
    batchIndices(rows.length, 32, 0, Math.max(0, step)).map((i) => rows[i]!),
    tok.specialIds.pad,
  ); // (B, T)
  for (const r of runs) {
    const t0 = performance.now();
    lmTrainStep(r.model, r.opt, batch, { lr: 3e-3 }, r.k);
    if (step < 0) continue;
    r.ms += performance.now() - t0;
    r.cells += r.k === 1 ? batch.B * batch.T : lengthBuckets(batch, r.k).reduce((a, p) => a + p.B * p.T, 0);
  }
}
disposeKernels();
const base = runs[0]!;
const out = runs.map((r) => ({
  length_buckets: r.k,
  ms_per_step: r.ms / steps,
  cells_per_step: r.cells / steps,
  time_vs_one_batch: r.ms / base.ms,
  cells_vs_one_batch: r.cells / base.cells,
}));
if (process.argv.includes("--json"))
  process.stdout.write(JSON.stringify({ kernels: kernelName, steps, data, results: out }, null, 2) + "\n");
else {
  process.stdout.write(
    `${data}, tiny preset, batch 32, ${kernelName}, ${steps} timed steps per setting (interleaved)\n`,
  );
  process.stdout.write("length_buckets  ms/step  (B,T) cells/step  time vs 1  cells vs 1\n");
  for (const o of out)
    process.stdout.write(
      `${String(o.length_buckets).padStart(14)}  ${o.ms_per_step.toFixed(0).padStart(7)}  ${o.cells_per_step.toFixed(0).padStart(16)}  ${o.time_vs_one_batch.toFixed(3).padStart(9)}  ${o.cells_vs_one_batch.toFixed(3).padStart(10)}\n`,
    );
}
