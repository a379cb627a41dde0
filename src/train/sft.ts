// Supervised fine-tuning loop: next-token cross-entropy on chat-formatted sequences (assistant
// tokens only by default), AdamW with warm-up + cosine decay, atomic resumable checkpoints.
// Run folder: OUT/checkpoint (HF folder + trainer sidecar, replaced atomically), OUT/metrics.jsonl
// (one line per step), OUT/config.json (the resolved config), OUT/summary.json (at the end).
// Resume is exact: the data order is a function of (seed, step) and the sidecar holds the step
// and Adam's moments, so a resumed run ends with the same weights as an uninterrupted one.
import * as fs from "node:fs";
import * as path from "node:path";
import { selectKernels } from "../engine/select.ts";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.ts";
import { decayedParamNames } from "../model/config.ts";
import type { LlamaConfig } from "../model/config.ts";
import { freshModel } from "../model/init.ts";
import { Llama } from "../model/llama.ts";
import { AdamW } from "../model/optim.ts";
import { Tokenizer } from "../model/tokenizer.ts";
import { tokenizerConfig } from "../model/chat_template.ts";
import { forward } from "../model/forward.ts";
import { withScope } from "../engine/kernels.ts";
import { crossEntropyGrad, lmTrainStep } from "../model/train_step.ts";
import { recoverDirAtomic, writeFileAtomic } from "../util/atomic.ts";
import { hashConfig, resumeRun, truncateMetrics } from "./run_files.ts";
import { RecapError } from "../util/errors.ts";
import { checkOutDir } from "../util/out_dir.ts";
import { progressBar } from "../util/progress.ts";
import type { SftConfig } from "./sft_config.ts";
import { lrAt } from "./schedule.ts";
import { type SftRow, batchIndices, makeBatch, readTexts, tokenizeRows } from "./sft_data.ts";

export interface SftOptions {
  config: SftConfig;
  /** Folder that relative paths in the config are resolved against. */
  configDir: string;
  out: string;
  resume?: boolean;
  /** Stop after this many total steps (for tests and interrupted runs); the schedule still uses config.steps. */
  maxSteps?: number;
  /** Called after each step's metrics are written, before any save (tests simulate a crash here). */
  onStep?: (step: number) => void;
}

export interface SftSummary {
  steps: number;
  final_loss: number;
  eval_loss?: number;
  seconds: number;
  kernels: string;
  checkpoint: string;
}

interface Setup {
  model: Llama;
  tokenizer: Tokenizer;
  opt: AdamW;
  startStep: number;
}

/** Runs (or resumes) SFT; returns the summary also written to OUT/summary.json. */
export async function runSft(o: SftOptions): Promise<SftSummary> {
  const c = o.config;
  const t0 = performance.now();
  checkOutDir(o.out, "train");
  const ckptDir = path.join(o.out, "checkpoint");
  await recoverDirAtomic(ckptDir); // a kill mid-swap: checkpoint/ back from its sibling, stale temps gone
  const dataFile = path.resolve(o.configDir, c.data);
  const texts = readTexts(dataFile);
  const setup = await setUp(o, ckptDir, texts);
  const { model, tokenizer, opt } = setup;
  const maxLen = model.config.max_position_embeddings;
  const rows = tokenizeRows(texts, tokenizer, c.loss_on, maxLen, dataFile);
  const evalRows = c.eval_data
    ? tokenizeRows(readTexts(path.resolve(o.configDir, c.eval_data)), tokenizer, c.loss_on, maxLen, c.eval_data)
    : null;
  fs.mkdirSync(o.out, { recursive: true });
  await writeFileAtomic(path.join(o.out, "config.json"), JSON.stringify(c, null, 2) + "\n");
  const metricsFile = path.join(o.out, "metrics.jsonl");
  truncateMetrics(metricsFile, setup.startStep);
  const end = Math.min(c.steps, o.maxSteps ?? c.steps);
  const bar = progressBar("sft", end, ["loss"]);
  bar.update(setup.startStep);
  let loss = NaN,
    evalLoss: number | undefined;
  try {
    for (let step = setup.startStep; step < end; step++) {
      const ts = performance.now();
      const batch = makeBatch(
        batchIndices(rows.length, c.batch_size, c.seed, step).map((i) => rows[i]!),
        tokenizer.specialIds.pad,
      );
      const lr = lrAt(c, step);
      const s = lmTrainStep(
        model,
        opt,
        batch,
        {
          lr,
          beta1: c.beta1,
          beta2: c.beta2,
          weightDecay: c.weight_decay,
          maxGradNorm: c.grad_clip,
        },
        c.length_buckets,
      );
      loss = s.loss;
      const done = step + 1;
      const line: Record<string, number> = {
        step: done,
        loss: s.loss,
        lr,
        grad_norm: s.gradNorm,
        tokens: s.tokens,
        tokens_per_s: (batch.B * batch.T) / ((performance.now() - ts) / 1000),
      };
      if (evalRows && (done % c.eval_every === 0 || done === end))
        line["eval_loss"] = evalLoss = meanLoss(model, evalRows, tokenizer.specialIds.pad);
      fs.appendFileSync(metricsFile, JSON.stringify(line) + "\n");
      bar.update(done, { loss: s.loss.toFixed(4) });
      o.onStep?.(done);
      if (done % c.save_every === 0 || done === end) await save(ckptDir, model, tokenizer, opt, done, c);
    }
  } finally {
    bar.stop(); // a failing run must not be kept alive by the bar's timer
  }
  const summary: SftSummary = {
    steps: end,
    final_loss: loss,
    seconds: (performance.now() - t0) / 1000,
    kernels: model.kernels.name,
    checkpoint: ckptDir,
    ...(evalLoss !== undefined ? { eval_loss: evalLoss } : {}),
  };
  await writeFileAtomic(path.join(o.out, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  return summary;
}

/** Builds the model, tokenizer and optimiser: from the run's own checkpoint (resume), a base
 *  checkpoint, or a fresh init with a tokenizer trained on the data. */
async function setUp(o: SftOptions, ckptDir: string, texts: string[]): Promise<Setup> {
  const c = o.config;
  const kernels = selectKernels(c.kernels);
  const hasCkpt = fs.existsSync(path.join(ckptDir, "config.json"));
  if (hasCkpt && !o.resume)
    throw new RecapError(
      `${o.out} already holds a checkpoint`,
      "pass --resume to continue it, or choose another --out",
    );
  if (o.resume && hasCkpt) {
    const r = await resumeRun(ckptDir, o.out, c, kernels);
    return { model: r.model, tokenizer: r.tokenizer, opt: r.opt, startStep: r.state.step };
  }
  let config: LlamaConfig, params: Map<string, Float32Array>, tokenizer: Tokenizer;
  if (c.base) {
    const ck = await loadCheckpoint(path.resolve(o.configDir, c.base));
    ({ config, params } = ck);
    tokenizer = Tokenizer.fromJSON(ck.tokenizerJson);
  } else {
    const fresh = freshModel(c.init!.preset, c.init!.seed, {
      corpus: texts.join("\n"),
      overrides: c.init!.overrides as Partial<LlamaConfig> | undefined,
    });
    ({ config, params, tokenizer } = fresh);
  }
  const model = new Llama(config, params, kernels);
  model.source = c.base
    ? `checkpoint ${path.resolve(o.configDir, c.base)} (trained in ${o.out})`
    : `the model trained in ${o.out}`;
  return { model, tokenizer, opt: new AdamW(model.params, kernels, decayedParamNames(config)), startStep: 0 };
}

async function save(
  dir: string,
  model: Llama,
  tokenizer: Tokenizer,
  opt: AdamW,
  step: number,
  c: SftConfig,
): Promise<void> {
  await saveCheckpoint(dir, {
    config: model.config,
    params: model.params,
    tokenizerJson: tokenizer.toJSON(),
    tokenizerConfig: tokenizerConfig(tokenizer, model.config.max_position_embeddings),
    trainerState: { step, rngState: [c.seed], m: opt.m, v: opt.v, extra: { config_hash: hashConfig(c), kind: "sft" } },
  });
}

/** Mean cross-entropy over the weighted tokens of `rows` (batches of 32, no update). */
export function meanLoss(model: Llama, rows: SftRow[], padId: number): number {
  let total = 0,
    count = 0;
  for (let i = 0; i < rows.length; i += 32) {
    const batch = makeBatch(rows.slice(i, i + 32), padId);
    withScope(model.kernels, () => {
      const { logprobs } = forward(model, batch.ids, batch.targets, batch.B, batch.T);
      const { loss, tokens } = crossEntropyGrad(logprobs, batch.weights);
      total += loss * tokens;
      count += tokens;
    });
  }
  return count > 0 ? total / count : NaN;
}
