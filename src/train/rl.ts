// The RL trainer: DAPO / GRPO with or without RECAP's counter-aligned prefills.
// Each step: draw prompts from the mixture (a fraction alpha of the safety and over-refusal
// prompts carry a prefill, fixed once per run), sample G rollouts per prompt from the current
// policy, score them with the world's judge (+ DAPO overlong shaping), drop groups by the dynamic
// sampling rule and draw more prompts until the batch is full (or max_rounds), then run
// `updates_per_batch` passes of clipped policy-gradient updates over minibatches. Only the tokens
// after the prefill are optimised (src/rl/layout.ts builds the one loss mask).
// With `curriculum` set, alpha and l_pre instead follow the recovery rate (src/train/curriculum.ts):
// every eligible prompt is prebuilt at each level, each draw decides its prefill, and the
// controller's state moves after each step and is saved with the checkpoint.
// Departures from the paper: safety is rewarded by the exact world judge (binary; Table 7's
// variant) or, with `guard_model`, by a tiny world guard's P(safe) (continuous, as Granite
// Guardian's), and over-refusal by the judge's rubric instead of an LLM rubric; the behaviour
// log-probs are the sampler's (the same policy and weights as a recompute, checked equal in a test) instead of a
// separate forward pass; the learning rate is constant after warm-up.
import * as fs from "node:fs";
import * as path from "node:path";
import { withScope } from "../engine/kernels.ts";
import { selectKernels } from "../engine/select.ts";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.ts";
import { tokenizerConfig } from "../model/chat_template.ts";
import { decayedParamNames } from "../model/config.ts";
import { backward, forward } from "../model/forward.ts";
import { Llama } from "../model/llama.ts";
import { AdamW } from "../model/optim.ts";
import { Tokenizer } from "../model/tokenizer.ts";
import { recoverDirAtomic, writeFileAtomic } from "../util/atomic.ts";
import { hashConfig, resumeRun, truncateMetrics } from "./run_files.ts";
import { RecapError } from "../util/errors.ts";
import { checkOutDir } from "../util/out_dir.ts";
import { progressBar } from "../util/progress.ts";
import { streamIndices } from "./sft_data.ts";
import type { TrainConfig } from "./rl_config.ts";
import { type PolicyPrompt, type RolloutGroup, generateGroups } from "./rollout.ts";
import {
  buildCurriculumPrompts,
  buildPolicyPrompts,
  curriculumPrompt,
  loadWorldPrompts,
  type WorldPromptRow,
} from "./rl_prompts.ts";
import { curriculumMetrics, recoveryRate, stepMetrics } from "./rl_metrics.ts";
import { type CurriculumState, initialCurriculum, nextCurriculum, parseCurriculumState } from "./curriculum.ts";
import { type PackedUpdate, packMicroBatches } from "./rl_batch.ts";
import { overlongPenalty } from "../rl/overlong.ts";
import { WorldGuard } from "../reward/guard_model.ts";
import { type RewardRoute, makeWorldRoute, worldGuardRoute } from "../reward/routes.ts";
import { type FillOptions, emptyFill, fillStep } from "../rl/dynamic_sampling.ts";
import { aggregationUnits } from "../rl/aggregate.ts";
import { POLICY_LOSSES } from "../rl/policy_loss.ts";
import { lrAt } from "./schedule.ts";
import { type GenerationLimitCheck, checkGenerationLimit } from "./generation_limit.ts";
import type { PolicyLossConfig } from "../rl/policy_loss.ts";

export interface TrainOptions {
  config: TrainConfig;
  configDir: string;
  out: string;
  resume?: boolean;
  maxSteps?: number;
  /** Called after each step's metrics are written, before any save (tests simulate a crash). */
  onStep?: (step: number) => void;
}

export interface TrainSummary {
  steps: number;
  seconds: number;
  kernels: string;
  checkpoint: string;
  first_reward: number;
  last_reward: number;
  /** The generation limit against the base corpus's longest answer (null: no corpus in the world). */
  generation_limit: GenerationLimitCheck | null;
}

interface State {
  model: Llama;
  ref: Llama | null;
  tokenizer: Tokenizer;
  opt: AdamW;
  step: number;
  cursor: number;
  curriculum: CurriculumState | null; // null when the curriculum is off
  guard: WorldGuard | null; // the continuous safety reward's guard, or null (the exact judge)
}

/** What a step draws prompts from: `n` rows (streamIndices), each draw turned into the prompt to
 *  roll out by `pick(row, pos)`, pos being the draw's position in the prompt stream. */
export interface PromptPool {
  n: number;
  pick(row: number, pos: number): PolicyPrompt;
}

/** Runs (or resumes) RL training; the run folder mirrors `recap sft`'s. */
export async function runTrain(o: TrainOptions): Promise<TrainSummary> {
  const c = o.config,
    t0 = performance.now();
  checkOutDir(o.out, "train");
  const ckptDir = path.join(o.out, "checkpoint");
  await recoverDirAtomic(ckptDir); // a kill mid-swap: checkpoint/ back from its sibling, stale temps gone
  const st = await setUp(o, ckptDir);
  const rows = loadWorldPrompts(path.resolve(o.configDir, c.world));
  const limit = checkGenerationLimit(
    path.resolve(o.configDir, c.world),
    st.tokenizer,
    c.max_new_tokens,
    c.objective.overlong.buffer_len,
  );
  if (limit?.warning && process.env["RECAP_QUIET"] !== "1") process.stderr.write(`warning: ${limit.warning}\n`);
  const pool = await promptPool(rows, c, st.tokenizer, o.configDir, st);
  fs.mkdirSync(o.out, { recursive: true });
  await writeFileAtomic(path.join(o.out, "config.json"), JSON.stringify(c, null, 2) + "\n");
  const metricsFile = path.join(o.out, "metrics.jsonl");
  truncateMetrics(metricsFile, st.step);
  const end = Math.min(c.steps, o.maxSteps ?? c.steps);
  const bar = progressBar(c.recap_enabled ? "train (recap)" : "train", end, ["reward", "kept", "pos_pre"]);
  bar.update(st.step);
  const rewards: number[] = [];
  try {
    while (st.step < end) {
      const ts = performance.now();
      const fill = await collectGroups(st, pool, c);
      const tr = performance.now();
      const upd = fill.kept.length > 0 ? update(st, fill.kept, c) : null;
      st.step++;
      const line = stepMetrics(st.step, fill, upd, {
        lr: rlLr(c, st.step - 1),
        rolloutS: (tr - ts) / 1000,
        updateS: (performance.now() - tr) / 1000,
      });
      if (c.curriculum && st.curriculum) {
        const rate = recoveryRate(fill);
        Object.assign(line, curriculumMetrics(st.curriculum, rate, c.curriculum));
        st.curriculum = nextCurriculum(st.curriculum, rate, c.curriculum);
      }
      rewards.push(line["reward/mean"] ?? 0);
      fs.appendFileSync(metricsFile, JSON.stringify(line) + "\n");
      bar.update(st.step, {
        reward: (line["reward/mean"] ?? 0).toFixed(3),
        kept: `${fill.kept.length}/${c.prompts_per_step}`,
        pos_pre: String(line["pos_adv/prefilled"] ?? 0),
      });
      o.onStep?.(st.step);
      if (st.step % c.save_every === 0 || st.step === end) await save(ckptDir, st, c);
    }
  } finally {
    bar.stop(); // a failing run must not be kept alive by the bar's timer
  }
  const summary: TrainSummary = {
    steps: st.step,
    seconds: (performance.now() - t0) / 1000,
    kernels: st.model.kernels.name,
    checkpoint: ckptDir,
    first_reward: rewards[0] ?? NaN,
    last_reward: rewards.at(-1) ?? NaN,
    generation_limit: limit,
  };
  await writeFileAtomic(path.join(o.out, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  return summary;
}

/** The fixed mixture (the paper's), or the curriculum's table read at `st.curriculum` as it is
 *  when a prompt is picked. */
export async function promptPool(
  rows: WorldPromptRow[],
  c: TrainConfig,
  tok: Tokenizer,
  configDir: string,
  st: { curriculum: CurriculumState | null },
): Promise<PromptPool> {
  if (!c.curriculum) {
    const prompts = await buildPolicyPrompts(rows, c, tok, configDir);
    return { n: prompts.length, pick: (row) => prompts[row]! };
  }
  const table = await buildCurriculumPrompts(rows, c, tok, configDir);
  return { n: table.clean.length, pick: (row, pos) => curriculumPrompt(table, row, pos, st.curriculum!, c.seed) };
}

/** RL's rate: constant after warm-up (the shared schedule at min_lr_ratio 1). */
const rlLr = (c: TrainConfig, s: number) =>
  lrAt({ lr: c.lr, warmup_steps: c.warmup_steps, min_lr_ratio: 1, steps: c.steps }, s);

async function setUp(o: TrainOptions, ckptDir: string): Promise<State> {
  const c = o.config;
  const kernels = selectKernels(c.kernels);
  const hasCkpt = fs.existsSync(path.join(ckptDir, "config.json"));
  if (hasCkpt && !o.resume)
    throw new RecapError(
      `${o.out} already holds a checkpoint`,
      "pass --resume to continue it, or choose another --out",
    );
  const basePath = path.resolve(o.configDir, c.base);
  if (!fs.existsSync(path.join(basePath, "config.json")))
    throw new RecapError(
      `base checkpoint ${basePath} not found`,
      "train the base model first (see docs/WORLD.md: recap sft with configs/world-base.yaml)",
    );
  const guard = c.guard_model ? await loadGuard(path.resolve(o.configDir, c.guard_model), c.kernels) : null;
  const needRef = c.objective.loss.name === "grpo" && c.objective.loss.kl_beta > 0;
  const base = await loadCheckpoint(basePath);
  const ref = needRef ? new Llama(base.config, base.params, kernels) : null;
  if (ref) ref.source = `checkpoint ${basePath}`;
  if (o.resume && hasCkpt) {
    const { model, tokenizer, opt, state: ts } = await resumeRun(ckptDir, o.out, c, kernels);
    const curriculum = c.curriculum ? parseCurriculumState(ts.extra?.["curriculum"], c.curriculum) : null;
    return {
      model,
      ref,
      tokenizer,
      opt,
      step: ts.step,
      cursor: Number(ts.extra?.["cursor"] ?? 0),
      curriculum,
      guard,
    };
  }
  const model = new Llama(base.config, base.params, kernels);
  model.source = `checkpoint ${basePath} (trained in ${o.out})`;
  const opt = new AdamW(model.params, kernels, decayedParamNames(base.config));
  const curriculum = c.curriculum ? initialCurriculum(c.curriculum, c.recap.alpha) : null;
  return { model, ref, tokenizer: Tokenizer.fromJSON(base.tokenizerJson), opt, step: 0, cursor: 0, curriculum, guard };
}

async function loadGuard(dir: string, kernels?: string): Promise<WorldGuard> {
  if (!fs.existsSync(path.join(dir, "config.json")))
    throw new RecapError(
      `guard_model ${dir} not found`,
      "train the world guard first (configs/world-guard.yaml), or remove guard_model to reward safety with the exact judge",
    );
  return WorldGuard.load(dir, kernels);
}

export interface Fill {
  kept: RolloutGroup[];
  all: RolloutGroup[];
  rounds: number;
  dropped: number;
}

/** The reward route of each prompt, from the routes `recap reward serve` serves: the world judge
 *  (binary with `reward: binary`), and with a guard the world guard's P(safe) for harmful requests. */
function rewardRouter(c: TrainConfig, guard: WorldGuard | null): (item: PolicyPrompt["item"]) => RewardRoute {
  const binary = c.reward === "binary";
  const world = makeWorldRoute({ binary });
  const safety = guard ? worldGuardRoute(guard, { binary }) : world;
  return (item) => (item.label === "harmful" ? safety : world);
}

/** Generation rounds until prompts_per_step groups pass the dynamic sampling rule: src/rl's
 *  fillStep decides each round (keep or drop by the registered rule, full or out of rounds);
 *  each round asks for exactly the groups still missing, so no round overfills the batch. */
async function collectGroups(st: State, pool: PromptPool, c: TrainConfig): Promise<Fill> {
  const ds = c.objective.dynamic_sampling;
  const opts: FillOptions = {
    rule: ds.rule,
    ruleConfig: ds,
    targetGroups: c.prompts_per_step,
    max_rounds: ds.max_rounds,
  };
  const ov = c.objective.overlong;
  const shape =
    ov.buffer_len > 0
      ? (r: number, len: number) =>
          r + overlongPenalty(len, { maxLen: c.max_new_tokens, buffer_len: ov.buffer_len, factor: ov.factor })
      : undefined;
  const all: RolloutGroup[] = [];
  let state = emptyFill<RolloutGroup>();
  while (!state.done) {
    const need = c.prompts_per_step - state.groups.length;
    const picked = streamIndices(pool.n, c.seed, st.cursor, need).map((row, k) => pool.pick(row, st.cursor + k));
    st.cursor += need;
    const seed = (c.seed * 1_000_003 + st.step * 101 + state.rounds) >>> 0;
    const groups = await generateGroups(st.model, st.tokenizer, picked, {
      groupSize: c.group_size,
      maxNewTokens: c.max_new_tokens,
      temperature: c.temperature,
      topP: c.top_p,
      seed,
      shape,
      route: rewardRouter(c, st.guard),
    });
    all.push(...groups);
    state = fillStep(state, groups, opts);
  }
  return { kept: [...state.groups], all, rounds: state.rounds, dropped: state.dropped };
}

export interface UpdateStats {
  metrics: Record<string, number>; // averaged over minibatch updates
  gradNorm: number;
  updates: number;
}

/** The parts of the trainer's state an update needs. */
export type PolicyState = Pick<State, "model" | "ref" | "opt" | "tokenizer" | "step">;

/** `updates_per_batch` passes of minibatch policy-gradient updates on the kept groups. Each
 *  minibatch (minibatch_groups groups; 0 = all) is one optimiser step, computed in micro-batches
 *  of at most micro_batch_rows rollouts (longest first, rl_batch.ts) whose gradients accumulate:
 *  each is packed to its own width, and its loss is weighted by its share of the minibatch's
 *  aggregation units (tokens for token-mean, sequences otherwise), so the step equals the one on
 *  the whole minibatch. */
export function update(st: PolicyState, groups: RolloutGroup[], c: TrainConfig): UpdateStats {
  const lossFn = POLICY_LOSSES.get(c.objective.loss.name);
  const perMb = c.minibatch_groups === 0 ? groups.length : c.minibatch_groups;
  const sums: Record<string, number> = {};
  let gradNorm = 0,
    updates = 0;
  for (let e = 0; e < c.updates_per_batch; e++) {
    for (let g0 = 0; g0 < groups.length; g0 += perMb) {
      const micro = packMicroBatches(groups.slice(g0, g0 + perMb), st.tokenizer.specialIds.pad, c, c.micro_batch_rows);
      const { metrics, norm } = minibatchStep(st, micro, lossFn, c);
      for (const [k, v] of Object.entries(metrics)) sums[k] = (sums[k] ?? 0) + v;
      gradNorm += norm;
      updates++;
    }
  }
  const metrics = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / updates]));
  return { metrics, gradNorm: gradNorm / updates, updates };
}

function minibatchStep(
  st: PolicyState,
  micro: PackedUpdate[],
  lossFn: ReturnType<typeof POLICY_LOSSES.get>,
  c: TrainConfig,
): { metrics: Record<string, number>; norm: number } {
  const mode = c.objective.loss.aggregation;
  const units = micro.map((p) => aggregationUnits(p.mask, mode, { B: p.B, T: p.T }));
  const total = units.reduce((a, b) => a + b, 0) || 1;
  const metrics: Record<string, number> = {};
  st.model.zeroGrads();
  micro.forEach((mb, i) => {
    const w = units[i]! / total;
    withScope(st.model.kernels, () => {
      const { logprobs, cache } = forward(st.model, mb.ids, mb.targets, mb.B, mb.T);
      const refLogp = st.ref
        ? withScope(st.ref.kernels, () => forward(st.ref!, mb.ids, mb.targets, mb.B, mb.T).logprobs.slice())
        : undefined;
      const res = lossFn(
        { logp: logprobs, oldLogp: mb.oldLogp, advantages: mb.advantages, mask: mb.mask, refLogp, B: mb.B, T: mb.T },
        c.objective.loss as PolicyLossConfig,
      );
      backward(
        st.model,
        cache,
        Float32Array.from(res.dLogp, (d) => d * w),
      );
      for (const [k, v] of Object.entries({ ...res.metrics, "actor/loss": res.loss }))
        metrics[k] = (metrics[k] ?? 0) + (k === "actor/tokens" ? v : v * w);
    });
  });
  const stats = st.opt.update(st.model.params, st.model.grads, {
    lr: rlLr(c, st.step),
    beta1: c.beta1,
    beta2: c.beta2,
    weightDecay: c.weight_decay,
    maxGradNorm: c.grad_clip,
  });
  return { metrics, norm: stats.gradNorm };
}

async function save(dir: string, st: State, c: TrainConfig): Promise<void> {
  await saveCheckpoint(dir, {
    config: st.model.config,
    params: st.model.params,
    tokenizerJson: st.tokenizer.toJSON(),
    tokenizerConfig: tokenizerConfig(st.tokenizer, st.model.config.max_position_embeddings),
    trainerState: {
      step: st.step,
      rngState: [c.seed],
      m: st.opt.m,
      v: st.opt.v,
      extra: {
        config_hash: hashConfig(c),
        cursor: st.cursor,
        kind: "rl",
        ...(st.curriculum ? { curriculum: st.curriculum } : {}),
      },
    },
  });
}
