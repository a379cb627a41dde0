// `recap study`: the reproduction study as resumable stages. The world, the base and the SFT
// baseline come from the demo's stages (shared by every arm; base and SFT baseline are evaluated
// once, as reference columns: neither depends on the RL seed), then
// each arm runs over every seed — one RL run from the base and its evaluation (the demo's suites,
// attacks and sampling) — in OUT/arms/ARM/seedK/, each with its own stage ledger, so a cut-short
// study resumes where it stopped and a finished arm is never redone. The summary aggregates each
// arm over its finished seeds (mean, 95% Student-t interval over seeds) with training diagnostics
// read from the run's metrics.jsonl.
import * as fs from "node:fs";
import * as path from "node:path";
import { type DemoConfig, mergeDeep } from "../demo/config.ts";
import { type Ctx, baseStage, evalStage, preset, rlStage, sftStage, worldStage } from "../demo/stages.ts";
import { readState } from "../demo/state.ts";
import { modelSummary } from "../demo/summary.ts";
import { loadRun } from "../eval/report/data.ts";
import { TrainConfigSchema } from "../train/rl_config.ts";
import { loadConfigFile, validateConfig } from "../util/config_file.ts";
import { RecapError } from "../util/errors.ts";
import { checkOutDir } from "../util/out_dir.ts";
import { WORLD_VERSION } from "../world/lexicon.ts";
import { STUDY_METRICS, type SeedStats, aggregateSeeds } from "./aggregate.ts";
import { ARM_PRESETS, type StudyConfig, armDemoConfig, studyDemoConfig } from "./config.ts";
import { type TrainingDiagnostics, trainingDiagnostics } from "./diagnostics.ts";
import { writeStudyReport } from "./report.ts";

export interface StudyOptions {
  config: StudyConfig;
  out: string;
  /** Only these arms (default: every arm, in the config's order). */
  arms?: string[];
  /** One line per stage event (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface ArmResult {
  preset: string;
  note: string;
  rl: Record<string, unknown>;
  train: Record<string, unknown>;
  /** Seeds whose run and evaluation finished (in this invocation or before). */
  seeds: number[];
  metrics: Record<string, SeedStats>;
  training: Record<string, SeedStats>;
  /** Per seed: the evaluation folder. */
  eval_dirs: string[];
}

export interface StudySummary {
  world_version: string;
  demo: DemoConfig;
  seeds: number[];
  /** The base model, evaluated once (it does not depend on the RL seed). */
  base: Record<string, number | null>;
  /** The SFT baseline (the base fine-tuned on safe traces; the paper's SFT row), run once. */
  sft: Record<string, number | null>;
  arms: Record<string, ArmResult>;
  /** Arms of the config not finished (left out by --arms and not run before). */
  pending: string[];
  /** Seconds of work behind the results, summed over every stage of every arm and seed. */
  seconds: number;
  files: { markdown: string; html: string; json: string; plots: string[] };
}

/** Every arm's train config resolved before any work, so that a bad override fails now and not
 *  when its arm's turn comes an hour later. */
async function checkArmTrainConfigs(s: StudyConfig, demo: DemoConfig): Promise<void> {
  for (const [name, arm] of Object.entries(s.arms)) {
    const raw = await loadConfigFile(preset(ARM_PRESETS[arm.preset]), TrainConfigSchema);
    const c = armDemoConfig(demo, arm, s.seeds[0]!);
    validateConfig(mergeDeep({ ...raw, steps: c.rl.steps, recap: { ...raw.recap, alpha: c.rl.alpha, l_pre: c.rl.l_pre } }, arm.train), TrainConfigSchema, `study arm ${name} (train)`);
  }
}

function seedFinished(dir: string): boolean {
  if (!fs.existsSync(dir)) return false;
  const st = readState(dir).stages;
  return st["rl"] !== undefined && st["eval rl"] !== undefined;
}

/** Runs (or resumes) the study; writes OUT/study.json, OUT/study.md, OUT/study.html and plots. */
export async function runStudy(o: StudyOptions): Promise<StudySummary> {
  const s = o.config;
  const out = path.resolve(o.out);
  const names = o.arms ?? Object.keys(s.arms);
  const unknown = names.filter((n) => !(n in s.arms));
  if (unknown.length > 0) throw new RecapError(`unknown arm(s) ${unknown.join(", ")}`, `arms of this study: ${Object.keys(s.arms).join(", ")}`);
  const demo = studyDemoConfig(s);
  await checkArmTrainConfigs(s, demo);
  const log = o.log ?? (() => {});
  checkOutDir(out, "demo");
  fs.mkdirSync(out, { recursive: true });

  const shared: Ctx = { c: demo, out, state: readState(out), log, index: 0, total: 5, label: "study" };
  const { dir: world, fp: worldFp } = await worldStage(shared);
  const base = await baseStage(shared, world, worldFp);
  const baseEval = await evalStage(shared, "base", world, base.ckpt, base.fp);
  const sft = await sftStage(shared, world, base.ckpt, base.fp);
  const sftEval = await evalStage(shared, "sft", world, sft.ckpt, sft.fp);
  let seconds = Object.values(shared.state.stages).reduce((t, r) => t + r.seconds, 0);

  const baseRun = loadRun(baseEval, "base");
  const sftRun = loadRun(sftEval, "sft");
  const arms: Record<string, ArmResult> = {};
  const pending: string[] = [];
  const summary: StudySummary = {
    world_version: WORLD_VERSION, demo, seeds: s.seeds,
    base: modelSummary(baseRun.cells, demo.eval.suites, baseRun.lines).metrics,
    sft: modelSummary(sftRun.cells, demo.eval.suites, sftRun.lines).metrics,
    arms, pending, seconds, files: { markdown: "", html: "", json: "", plots: [] },
  };
  // Every arm of the config, in order: the selected ones run (or resume); the others join the
  // summary only when every seed finished earlier (their stages are then skipped, or refused if
  // the config changed since).
  for (const name of Object.keys(s.arms)) {
    const arm = s.arms[name]!;
    if (!names.includes(name) && !s.seeds.every((seed) => seedFinished(path.join(out, "arms", name, `seed${seed}`)))) {
      pending.push(name);
      continue;
    }
    const perSeed: Record<string, number | null>[] = [];
    const perSeedTraining: TrainingDiagnostics[] = [];
    const evalDirs: string[] = [];
    for (const seed of s.seeds) {
      const dir = path.join(out, "arms", name, `seed${seed}`);
      fs.mkdirSync(dir, { recursive: true });
      const c = armDemoConfig(demo, arm, seed);
      const x: Ctx = { c, out: dir, state: readState(dir), log: (l) => log(`${name} seed ${seed}: ${l}`), index: 0, total: 2, label: `study arm ${name} seed ${seed}` };
      const rl = await rlStage(x, "rl", ARM_PRESETS[arm.preset], world, base.ckpt, base.fp, arm.train);
      const evalDir = await evalStage(x, "rl", world, rl.ckpt, rl.fp);
      seconds += Object.values(x.state.stages).reduce((t, r) => t + r.seconds, 0);
      const run = loadRun(evalDir, name);
      perSeed.push(modelSummary(run.cells, demo.eval.suites, run.lines).metrics);
      perSeedTraining.push(trainingDiagnostics(path.join(dir, "rl", "metrics.jsonl"), c.rl.prompts_per_step));
      evalDirs.push(evalDir);
    }
    arms[name] = {
      preset: arm.preset, note: arm.note, rl: arm.rl, train: arm.train, seeds: s.seeds, eval_dirs: evalDirs,
      metrics: aggregateSeeds(perSeed, STUDY_METRICS.map(([k]) => k)),
      training: aggregateSeeds(perSeedTraining as unknown as Record<string, number | null>[], Object.keys(perSeedTraining[0] ?? {})),
    };
    // The tables so far, after every arm: a long study can be read while it runs.
    const rest = Object.keys(s.arms).slice(Object.keys(s.arms).indexOf(name) + 1);
    summary.seconds = seconds;
    summary.files = await writeStudyReport(out, s, { ...summary, pending: [...pending, ...rest] });
  }
  summary.seconds = seconds;
  summary.files = await writeStudyReport(out, s, summary);
  return summary;
}
