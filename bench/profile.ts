// `node --import tsx bench/profile.ts [--kernels wasm-threads] [--steps 3] [--seq 128] [--json]`: where the time
// goes, by op, in one training step of the `tiny` preset (16 x 128 tokens) and in sampling
// (decode steps at batch 16 and 64). Every kernel call is timed through a wrapper; "other (JS)"
// is the rest of the wall time (the sampler, the optimizer's norm, allocation, id checks).
// Also used by bench/run.ts (--profile) to put the profile into the benchmark's JSON.
import type { Kernels } from "../src/engine/kernels.ts";
import { Rng } from "../src/engine/rng.ts";
import { selectKernels } from "../src/engine/select.ts";
import { decayedParamNames, presetConfig } from "../src/model/config.ts";
import { Llama, initParams } from "../src/model/llama.ts";
import { AdamW } from "../src/model/optim.ts";
import { sample } from "../src/model/sampler.ts";
import { lmTrainStep } from "../src/model/train_step.ts";

export interface OpTimes {
  [op: string]: { ms: number; calls: number };
}

/** kernels with every op timed into `times` (matmul keyed by transpose case and shape). */
export function timedKernels(k: Kernels, times: OpTimes): Kernels {
  const add = (key: string, ms: number) => {
    const e = (times[key] ??= { ms: 0, calls: 0 });
    e.ms += ms;
    e.calls++;
  };
  const wrapped: Record<string, unknown> = {
    name: k.name,
    alloc: k.alloc.bind(k),
    mark: k.mark.bind(k),
    release: k.release.bind(k),
  };
  if (k.allocUninit) wrapped["allocUninit"] = k.allocUninit.bind(k);
  for (const [key, fn] of Object.entries(k)) {
    if (typeof fn !== "function" || key in wrapped || key === "dispose") continue;
    wrapped[key] = (...args: unknown[]) => {
      const t0 = performance.now();
      const r = (fn as (...a: unknown[]) => unknown).apply(k, args);
      const label =
        key === "matmul" ? `matmul ${args[6] ? "T" : "N"}${args[7] ? "T" : "N"} ${args[3]}x${args[4]}x${args[5]}` : key;
      add(label, performance.now() - t0);
      return r;
    };
  }
  return wrapped as unknown as Kernels;
}

export interface Profile {
  total_ms: number;
  ops: { op: string; ms: number; calls: number; share: number }[];
}

function summarise(times: OpTimes, total: number, per: number): Profile {
  let inKernels = 0;
  const ops = Object.entries(times).map(([op, t]) => {
    inKernels += t.ms;
    return { op, ms: t.ms / per, calls: t.calls / per, share: t.ms / total };
  });
  ops.push({ op: "other (JS)", ms: (total - inKernels) / per, calls: 0, share: (total - inKernels) / total });
  ops.sort((a, b) => b.ms - a.ms);
  return { total_ms: total / per, ops };
}

/** Profile of one training step of 16 x T tokens (mean over `steps` after a warm-up). T = 128 is
 *  the bench's step; T = 320 has the width of an RL micro-batch (16 rollouts of a prompt, a
 *  prefill and an answer). */
export function profileTrain(kernels: string, steps: number, T = 128): Profile {
  const config = presetConfig("tiny");
  const times: OpTimes = {};
  const base = selectKernels(kernels);
  const m = new Llama(config, initParams(config, 0), timedKernels(base, times));
  const opt = new AdamW(m.params, m.kernels, decayedParamNames(config));
  const rng = new Rng(1);
  const B = 16,
    N = B * T;
  const batch = {
    B,
    T,
    ids: Int32Array.from({ length: N }, () => rng.int(config.vocab_size)),
    targets: Int32Array.from({ length: N }, () => rng.int(config.vocab_size)),
    weights: new Float32Array(N).fill(1),
  };
  lmTrainStep(m, opt, batch, { lr: 1e-3 });
  for (const k of Object.keys(times)) delete times[k];
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) lmTrainStep(m, opt, batch, { lr: 1e-3 });
  return summarise(times, performance.now() - t0, steps);
}

/** Profile of sampling at batch B: per decode step (16-token prompts, 112 new tokens). */
export function profileSample(kernels: string, B: number): Profile {
  const config = presetConfig("tiny");
  const times: OpTimes = {};
  const m = new Llama(config, initParams(config, 0), timedKernels(selectKernels(kernels), times));
  const rng = new Rng(2);
  const prompts = Array.from({ length: B }, () => Array.from({ length: 16 }, () => rng.int(config.vocab_size)));
  sample(m, prompts, { maxNewTokens: 8, seed: 0 });
  for (const k of Object.keys(times)) delete times[k];
  const t0 = performance.now();
  sample(m, prompts, { maxNewTokens: 112, seed: 0 });
  return summarise(times, performance.now() - t0, 112);
}

function print(title: string, p: Profile): void {
  process.stderr.write(`\n${title}: ${p.total_ms.toFixed(2)} ms\n`);
  for (const o of p.ops) {
    if (o.share < 0.005) continue;
    process.stderr.write(
      `  ${o.op.padEnd(28)} ${o.ms.toFixed(3).padStart(9)} ms  ${(100 * o.share).toFixed(1).padStart(5)}%  ${o.calls ? `${o.calls} calls` : ""}\n`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const flag = (n: string) => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
  const kernels = flag("--kernels") ?? "wasm-threads";
  const T = Number(flag("--seq") ?? 128);
  const train = profileTrain(kernels, Number(flag("--steps") ?? 3), T);
  print(`train step, 16 x ${T} tokens [${kernels}]`, train);
  const s16 = profileSample(kernels, 16),
    s64 = profileSample(kernels, 64);
  print(`decode step, batch 16 [${kernels}]`, s16);
  print(`decode step, batch 64 [${kernels}]`, s64);
  if (args.includes("--json"))
    process.stdout.write(JSON.stringify({ kernels, train, sample16: s16, sample64: s64 }, null, 2) + "\n");
}
