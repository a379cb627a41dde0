// `recap demo`: the whole method on the CPU, as stages that each resume where they stopped:
//   world → base LRM (shipped or trained) → SFT baseline → DAPO and RECAP (same base, seed and
//   budget) → evaluation of the four models (suites x attacks, world judge) → report.html,
//   summary.json and Table 2 in miniature on stdout.
// The stage configs come from the presets in configs/ (world-base, world-sft-baseline,
// world-dapo, world-recap) with the demo's knobs laid over them, so a stage is exactly what the
// corresponding command would run (the resolved config of each is written in its folder).
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAttackList } from "../eval/attacks/index.ts";
import { resolveGrader } from "../eval/graders/resolve.ts";
import { HttpOptionsSchema } from "../eval/providers/http.ts";
import { openProvider } from "../eval/providers/index.ts";
import { runEval } from "../eval/runner.ts";
import { resolveSuites } from "../eval/suites.ts";
import { loadRun } from "../eval/report/data.ts";
import { writeReport } from "../eval/report/index.ts";
import { runTrain } from "../train/rl.ts";
import { TrainConfigSchema } from "../train/rl_config.ts";
import { runSft } from "../train/sft.ts";
import { SftConfigSchema } from "../train/sft_config.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { loadConfigFile, validateConfig } from "../util/config_file.ts";
import { buildWorld } from "../world/build.ts";
import { parseWorldConfig } from "../world/config.ts";
import { WORLD_VERSION } from "../world/lexicon.ts";
import { writeWorld } from "../world/write.ts";
import type { DemoConfig } from "./config.ts";
import { REPO_ROOT, copyShipped, shippedBaseDir, shippedMismatch } from "./shipped.ts";
import { type DemoState, fingerprint, finished, readState, writeState } from "./state.ts";
import { type ModelSummary, formatTable, modelSummary } from "./summary.ts";

export const MODELS = ["base", "sft", "dapo", "recap"] as const;

export interface DemoOptions {
  config: DemoConfig;
  preset: string;
  out: string;
  /** One line per stage event (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface DemoSummary {
  preset: string;
  world_version: string;
  runs: Record<string, Record<string, number | null>>;
  intervals: Record<string, Record<string, [number, number] | null>>;
  items: Record<string, Record<string, number>>;
  /** Seconds of work behind the results: every stage's time, summed over interrupted runs too. */
  seconds: number;
  stage_seconds: Record<string, number>;
  base_source: string;
  config: DemoConfig;
  files: { report: string; markdown: string; summary: string };
}

interface Ctx {
  c: DemoConfig;
  out: string;
  state: DemoState;
  log: (line: string) => void;
  index: number;
  total: number;
}

/** Runs one stage unless it finished with the same fingerprint; records it when done. */
async function stage(x: Ctx, name: string, fpInput: unknown, body: () => Promise<Record<string, unknown>>): Promise<{ fp: string; result: Record<string, unknown> }> {
  x.index++;
  const fp = fingerprint(fpInput);
  const done = finished(x.state, name, fp, x.out);
  if (done) {
    x.log(`[${x.index}/${x.total}] ${name}: done earlier (${done.seconds.toFixed(0)} s), skipped`);
    return { fp, result: done.result };
  }
  x.log(`[${x.index}/${x.total}] ${name} …`);
  const t0 = performance.now();
  const result = await body();
  const seconds = (performance.now() - t0) / 1000;
  x.state.stages[name] = { fingerprint: fp, seconds, finished_at: new Date().toISOString(), result };
  await writeState(x.out, x.state);
  x.log(`[${x.index}/${x.total}] ${name}: ${seconds.toFixed(0)} s`);
  return { fp, result };
}

function preset(file: string): string {
  return path.join(REPO_ROOT, "configs", file);
}

async function worldStage(x: Ctx): Promise<{ dir: string; fp: string }> {
  const dir = path.join(x.out, "world");
  const { fp } = await stage(x, "world", { v: WORLD_VERSION, seed: x.c.world_seed }, async () => {
    await writeWorld(dir, buildWorld(x.c.world_seed, parseWorldConfig({})));
    return { dir };
  });
  return { dir, fp };
}

async function baseStage(x: Ctx, world: string, worldFp: string): Promise<{ ckpt: string; fp: string; source: string }> {
  const dir = path.join(x.out, "base");
  const ckpt = path.join(dir, "checkpoint");
  const shipped = shippedBaseDir(x.c.world_seed);
  const why = x.c.base === "shipped" ? shippedMismatch(shipped, world) : "base: train";
  const source = why === undefined ? `shipped (${path.relative(REPO_ROOT, shipped)})` : "trained (configs/world-base.yaml)";
  const kernels = x.c.kernels ? { kernels: x.c.kernels } : {};
  const { fp } = await stage(x, "base", { worldFp, source, kernels, steps: why === undefined ? null : x.c.base_train_steps ?? null }, async () => {
    if (why === undefined) {
      x.log(`  using the shipped base ${path.relative(REPO_ROOT, shipped)} (trained on this world's corpus)`);
      await copyShipped(shipped, ckpt);
      return { checkpoint: ckpt, source };
    }
    if (x.c.base === "shipped") x.log(`  training the base instead of the shipped one: ${why}`);
    const raw = await loadConfigFile(preset("world-base.yaml"), SftConfigSchema);
    const steps = x.c.base_train_steps ?? raw.steps;
    const config = validateConfig({
      ...raw, data: path.resolve(world, "corpora/base_sft.jsonl"), steps, warmup_steps: Math.min(raw.warmup_steps, steps), ...kernels,
    }, SftConfigSchema, "demo base");
    const s = await runSft({ config, configDir: dir, out: dir, resume: true });
    return { checkpoint: s.checkpoint, source, steps: s.steps, final_loss: s.final_loss };
  });
  return { ckpt, fp, source };
}

async function sftStage(x: Ctx, world: string, base: string, baseFp: string): Promise<{ ckpt: string; fp: string }> {
  const dir = path.join(x.out, "sft");
  const raw = await loadConfigFile(preset("world-sft-baseline.yaml"), SftConfigSchema);
  const config = validateConfig({
    ...raw, data: path.resolve(world, "corpora/sft_baseline.jsonl"), base, steps: x.c.sft_baseline_steps,
    warmup_steps: Math.min(raw.warmup_steps, x.c.sft_baseline_steps), ...(x.c.kernels ? { kernels: x.c.kernels } : {}),
  }, SftConfigSchema, "demo sft baseline");
  const { fp } = await stage(x, "sft", { baseFp, config: { ...config, data: undefined, base: undefined } }, async () => {
    const s = await runSft({ config, configDir: dir, out: dir, resume: true });
    return { checkpoint: s.checkpoint, steps: s.steps, final_loss: s.final_loss };
  });
  return { ckpt: path.join(dir, "checkpoint"), fp };
}

async function rlStage(x: Ctx, name: "dapo" | "recap", world: string, base: string, baseFp: string): Promise<{ ckpt: string; fp: string }> {
  const dir = path.join(x.out, name);
  const raw = await loadConfigFile(preset(name === "dapo" ? "world-dapo.yaml" : "world-recap.yaml"), TrainConfigSchema);
  const r = x.c.rl;
  const config = validateConfig({
    ...raw, world, base, steps: r.steps, prompts_per_step: r.prompts_per_step, group_size: r.group_size,
    max_new_tokens: r.max_new_tokens, lr: r.lr, seed: r.seed, save_every: Math.max(1, Math.min(10, r.steps)),
    recap: { ...raw.recap, alpha: r.alpha, l_pre: r.l_pre }, ...(x.c.kernels ? { kernels: x.c.kernels } : {}),
  }, TrainConfigSchema, `demo ${name}`);
  const { fp } = await stage(x, name, { baseFp, config: { ...config, world: undefined, base: undefined } }, async () => {
    await writeFileAtomic(path.join(x.out, `${name}.config.json`), JSON.stringify(config, null, 2) + "\n");
    const s = await runTrain({ config, configDir: dir, out: dir, resume: true });
    return { checkpoint: s.checkpoint, steps: s.steps, first_reward: s.first_reward, last_reward: s.last_reward };
  });
  return { ckpt: path.join(dir, "checkpoint"), fp };
}

async function evalStage(x: Ctx, name: string, world: string, ckpt: string, modelFp: string): Promise<string> {
  const dir = path.join(x.out, "eval", name);
  const e = x.c.eval;
  await stage(x, `eval ${name}`, { modelFp, e }, async () => {
    const provider = await openProvider({ model: ckpt, ...(x.c.kernels ? { kernels: x.c.kernels } : {}), batchRows: e.batch, http: HttpOptionsSchema.parse({}) });
    try {
      const tok = provider.tokenizer?.();
      const summary = await runEval({
        provider, grader: resolveGrader("world"), suites: await resolveSuites(e.suites.join(","), world),
        attacks: parseAttackList(e.attacks.join(","), tok ? { tokenizer: tok } : {}), n: 1, limit: e.limit, outDir: dir,
        ...(e.plan ? { only: (suite: string, attack: string) => e.plan![suite]?.includes(attack) ?? true } : {}),
        params: { maxTokens: e.max_new_tokens, temperature: e.temperature, topP: e.top_p, seed: e.seed },
        identity: { demo_model: name },
        onStart: (line) => x.log(`  eval ${name}: ${line}`),
      });
      return { dir, cells: summary.cells.length };
    } finally {
      await provider.close?.();
    }
  });
  return dir;
}

/** Runs (or resumes) the demo; returns the summary also written to OUT/summary.json. */
export async function runDemo(o: DemoOptions): Promise<{ summary: DemoSummary; table: string }> {
  const out = path.resolve(o.out); // stage configs hold absolute paths: relative ones would resolve against each stage's folder
  fs.mkdirSync(out, { recursive: true });
  const x: Ctx = { c: o.config, out, state: readState(out), log: o.log ?? (() => {}), index: 0, total: 10 };
  const { dir: world, fp: worldFp } = await worldStage(x);
  const base = await baseStage(x, world, worldFp);
  const evals: Record<string, string> = {};
  evals["base"] = await evalStage(x, "base", world, base.ckpt, base.fp);
  const sft = await sftStage(x, world, base.ckpt, base.fp);
  evals["sft"] = await evalStage(x, "sft", world, sft.ckpt, sft.fp);
  const dapo = await rlStage(x, "dapo", world, base.ckpt, base.fp);
  evals["dapo"] = await evalStage(x, "dapo", world, dapo.ckpt, dapo.fp);
  const recap = await rlStage(x, "recap", world, base.ckpt, base.fp);
  evals["recap"] = await evalStage(x, "recap", world, recap.ckpt, recap.fp);
  x.index++;
  x.log(`[${x.index}/${x.total}] report …`);
  const files = await writeReport(MODELS.map((m) => evals[m]!), path.join(out, "report.html"), {
    title: `recap demo (${o.preset}): base, SFT baseline, DAPO and RECAP on ${WORLD_VERSION}`,
  });
  const per: Record<string, ModelSummary> = {};
  for (const m of MODELS) {
    const run = loadRun(evals[m]!, m);
    per[m] = modelSummary(run.cells, x.c.eval.suites, run.lines);
  }
  const stageSeconds = Object.fromEntries(Object.entries(x.state.stages).map(([k, v]) => [k, v.seconds]));
  const summaryFile = path.join(out, "summary.json");
  const summary: DemoSummary = {
    preset: o.preset, world_version: WORLD_VERSION,
    runs: Object.fromEntries(MODELS.map((m) => [m, per[m]!.metrics])),
    intervals: Object.fromEntries(MODELS.map((m) => [m, per[m]!.intervals])),
    items: Object.fromEntries(MODELS.map((m) => [m, per[m]!.items])),
    seconds: Object.values(stageSeconds).reduce((s, v) => s + v, 0),
    stage_seconds: stageSeconds, base_source: base.source, config: x.c,
    files: { report: files.html, markdown: files.markdown, summary: path.resolve(summaryFile) },
  };
  await writeFileAtomic(summaryFile, JSON.stringify(summary, null, 2) + "\n");
  const table = formatTable(per);
  await writeFileAtomic(path.join(out, "table.txt"), table);
  return { summary, table };
}
