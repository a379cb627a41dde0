// `recap study`: the reproduction study as resumable stages. Per base (its own world seed), the
// world, the base and the SFT baseline come from the demo's stages in OUT/bases/NAME (base and SFT
// baseline are evaluated once, as reference columns: neither depends on the RL seed), with the
// world guard when an arm rewards safety continuously (guard_stage.ts). Then, seed by seed, each
// arm of the base runs — one RL run and its evaluation (the demo's suites, attacks and sampling)
// — in OUT/arms/ARM/BASE/seedK/, each with its own stage ledger, so a cut-short study resumes
// where it stopped, a finished run is never redone, and the arms stay paired seed for seed. Arms
// left out by --arms are reported on the runs they finished earlier. The summary aggregates each
// arm over its runs (mean, 95% Student-t interval over the (base, seed) runs, every run's value
// kept), splits the spread into base-to-base and seed-to-seed, pairs arms by (base, seed) for
// the configured comparisons, and reads training diagnostics from each run's metrics.jsonl.
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
import { STUDY_METRICS, type SeedStats, aggregateSeeds, seedStats } from "./aggregate.ts";
import {
  ARM_PRESETS,
  type StudyArm,
  type StudyBase,
  type StudyConfig,
  armBases,
  armDemoConfig,
  baseDemoConfig,
  studyBases,
  studyDemoConfig,
} from "./config.ts";
import { type GuardSettings, guardStage } from "./guard_stage.ts";
import { type TrainingDiagnostics, stepSeries, trainingDiagnostics } from "./diagnostics.ts";
import { type ImportedRecord, loadImportedRecord } from "./imported.ts";
import { writeStudyReport } from "./report.ts";

export interface StudyOptions {
  config: StudyConfig;
  out: string;
  /** Only these arms (default: every arm, in the config's order). */
  arms?: string[];
  /** An earlier study.json of this study (imported.ts): its runs count as finished where this
   *  folder lacks them, and are reported from their recorded values. */
  importFrom?: string;
  /** One line per stage event (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface RunRef {
  base: string;
  seed: number;
}

export interface ArmResult {
  preset: string;
  note: string;
  rl: Record<string, unknown>;
  train: Record<string, unknown>;
  safety_reward: "binary" | "continuous";
  /** The arm's bases and seeds; `runs` lists the (base, seed) runs in the order of every
   *  SeedStats' `values`. */
  bases: string[];
  seeds: number[];
  runs: RunRef[];
  metrics: Record<string, SeedStats>;
  /** Per metric, with more than one base: the spread of the base means, and the pooled spread of
   *  runs around their base's mean (RL seeds). */
  variance: Record<string, { between_bases_sd: number; within_base_sd: number }>;
  training: Record<string, SeedStats>;
  /** Per metric of the config's training curves: per run (in `runs` order), the value at each step. */
  curves: Record<string, (number | null)[][]>;
  /** Per run: the evaluation folder. */
  eval_dirs: string[];
}

export interface BaseResult {
  name: string;
  world_seed: number;
  source: string;
  /** The base model and the SFT baseline, evaluated once each. */
  base: Record<string, number | null>;
  sft: Record<string, number | null>;
  /** The guard's calibration on held-out pairs, when an arm of this base uses it. */
  guard: Record<string, unknown> | null;
}

export interface StudySummary {
  world_version: string;
  demo: DemoConfig;
  seeds: number[];
  bases: Record<string, BaseResult>;
  arms: Record<string, ArmResult>;
  /** A - B per (base, seed) run both arms have. */
  comparisons: Record<string, { runs: RunRef[]; metrics: Record<string, SeedStats> }>;
  /** Arms of the config with no finished run (left out by --arms and not run before). */
  pending: string[];
  /** Arms reported on part of their runs (still running, or cut short earlier and left out by
   *  --arms): the runs still missing. Their statistics cover only the finished runs. */
  incomplete: Record<string, RunRef[]>;
  /** Runs reported from an earlier record (--import) rather than from this folder, per arm. */
  imported: { file: string; runs: Record<string, RunRef[]> } | null;
  /** Seconds of work behind the results of this folder, summed over every stage of every arm and
   *  run (imported runs not counted). */
  seconds: number;
  files: { markdown: string; html: string; json: string; summary: string; plots: string[] };
}

/** Every arm's train config resolved before any work, so that a bad override fails now and not
 *  when its arm's turn comes an hour later. */
async function checkArmTrainConfigs(s: StudyConfig, demo: DemoConfig): Promise<void> {
  for (const [name, arm] of Object.entries(s.arms)) {
    const raw = await loadConfigFile(preset(ARM_PRESETS[arm.preset]), TrainConfigSchema);
    const c = armDemoConfig(demo, arm, s.seeds[0]!);
    validateConfig(
      mergeDeep(
        { ...raw, steps: c.rl.steps, recap: { ...raw.recap, alpha: c.rl.alpha, l_pre: c.rl.l_pre } },
        arm.train,
      ),
      TrainConfigSchema,
      `study arm ${name} (train)`,
    );
  }
}

function runFinished(dir: string): boolean {
  if (!fs.existsSync(dir)) return false;
  const st = readState(dir).stages;
  return st["rl"] !== undefined && st["eval rl"] !== undefined;
}

/** The same (base, seed) run. */
const sameRun = (a: RunRef, b: RunRef) => a.base === b.base && a.seed === b.seed;

const runDir = (out: string, arm: string, base: string, seed: number) =>
  path.join(out, "arms", arm, base, `seed${seed}`);

interface PreparedBase {
  b: StudyBase;
  c: DemoConfig;
  world: string;
  ckpt: string;
  fp: string;
  guard: { ckpt: string; fp: string } | null;
  result: BaseResult;
  seconds: number;
}

/** A base's shared stages in OUT/bases/NAME: world, base, their evaluations, SFT baseline, guard. */
async function prepareBase(
  out: string,
  demo: DemoConfig,
  b: StudyBase,
  guardSettings: GuardSettings | null,
  log: (l: string) => void,
): Promise<PreparedBase> {
  const withGuard = guardSettings !== null;
  const c = baseDemoConfig(demo, b);
  const dir = path.join(out, "bases", b.name);
  fs.mkdirSync(dir, { recursive: true });
  const x: Ctx = {
    c,
    out: dir,
    state: readState(dir),
    log: (l) => log(`base ${b.name}: ${l}`),
    index: 0,
    total: withGuard ? 6 : 5,
    label: `study base ${b.name}`,
  };
  const { dir: world, fp: worldFp } = await worldStage(x);
  // A base trained here takes its world's seed as init seed (as configs/world-base-seed2.yaml).
  const base = await baseStage(x, world, worldFp, b.world_seed);
  const baseEval = await evalStage(x, "base", world, base.ckpt, base.fp);
  const sft = await sftStage(x, world, base.ckpt, base.fp);
  const sftEval = await evalStage(x, "sft", world, sft.ckpt, sft.fp);
  const guard = guardSettings ? await guardStage(x, world, base.ckpt, base.fp, guardSettings) : null;
  const baseRun = loadRun(baseEval, "base"),
    sftRun = loadRun(sftEval, "sft");
  const cal = guard ? (x.state.stages["guard"]?.result ?? null) : null;
  return {
    b,
    c,
    world,
    ckpt: base.ckpt,
    fp: base.fp,
    guard,
    seconds: Object.values(x.state.stages).reduce((t, r) => t + r.seconds, 0),
    result: {
      name: b.name,
      world_seed: b.world_seed,
      source: base.source,
      base: modelSummary(baseRun.cells, c.eval.suites, baseRun.lines).metrics,
      sft: modelSummary(sftRun.cells, c.eval.suites, sftRun.lines).metrics,
      guard: cal,
    },
  };
}

/** Per metric: the SD of the base means and the pooled within-base SD of the runs. */
function varianceByBase(
  perRun: Record<string, number | null>[],
  runs: RunRef[],
  keys: readonly string[],
): ArmResult["variance"] {
  const out: ArmResult["variance"] = {};
  const names = [...new Set(runs.map((r) => r.base))];
  if (names.length < 2) return out;
  for (const k of keys) {
    const groups = names.map((n) =>
      runs.flatMap((r, i) => (r.base === n && typeof perRun[i]![k] === "number" ? [perRun[i]![k] as number] : [])),
    );
    if (groups.some((g) => g.length === 0)) continue;
    const means = groups.map((g) => g.reduce((a, v) => a + v, 0) / g.length);
    const grand = means.reduce((a, v) => a + v, 0) / means.length;
    const between = Math.sqrt(means.reduce((a, m) => a + (m - grand) ** 2, 0) / (means.length - 1));
    const ss = groups.reduce((a, g, i) => a + g.reduce((t, v) => t + (v - means[i]!) ** 2, 0), 0);
    const df = groups.reduce((a, g) => a + g.length - 1, 0);
    out[k] = { between_bases_sd: between, within_base_sd: df > 0 ? Math.sqrt(ss / df) : NaN };
  }
  return out;
}

/** Runs (or resumes) the study; writes OUT/study.json (the format), OUT/summary.json
 *  (everything), OUT/study.md, OUT/study.html and plots. */
export async function runStudy(o: StudyOptions): Promise<StudySummary> {
  const s = o.config;
  const out = path.resolve(o.out);
  const names = o.arms ?? Object.keys(s.arms);
  const unknown = names.filter((n) => !(n in s.arms));
  if (unknown.length > 0)
    throw new RecapError(
      `unknown arm(s) ${unknown.join(", ")}`,
      `arms of this study: ${Object.keys(s.arms).join(", ")}`,
    );
  const demo = studyDemoConfig(s);
  await checkArmTrainConfigs(s, demo);
  const log = o.log ?? (() => {});
  const rec = o.importFrom ? loadImportedRecord(o.importFrom, s, WORLD_VERSION) : null;
  if (rec && rec.ignored.length > 0)
    log(`import: arms of ${rec.file} not in this config, left out: ${rec.ignored.join(", ")}`);
  checkOutDir(out, "study");
  fs.mkdirSync(out, { recursive: true });

  // The arms in this summary: those selected (run to the end now), and the others on the runs
  // that finished earlier (none: pending; some: incomplete, with the missing runs named).
  const reward = (a: StudyArm) => a.safety_reward ?? s.safety_reward;
  const allRuns = (n: string): RunRef[] =>
    armBases(s, s.arms[n]!).flatMap((b) => s.seeds.map((seed) => ({ base: b.name, seed })));
  const done = (n: string, r: RunRef) => runFinished(runDir(out, n, r.base, r.seed));
  // A run of the record stands in for a run this folder lacks (never for one it has).
  const imported = (n: string, r: RunRef) => (rec?.arms[n] ?? []).some((q) => sameRun(q, r)) && !done(n, r);
  const included = Object.keys(s.arms).filter(
    (n) => names.includes(n) || allRuns(n).some((r) => done(n, r) || imported(n, r)),
  );
  const pending = Object.keys(s.arms).filter((n) => !included.includes(n));
  const incomplete: Record<string, RunRef[]> = {};
  const arms: Record<string, ArmResult> = {};
  const summary: StudySummary = {
    world_version: WORLD_VERSION,
    demo,
    seeds: s.seeds,
    bases: {},
    arms,
    comparisons: {},
    pending,
    incomplete,
    imported: null,
    seconds: 0,
    files: { markdown: "", html: "", json: "", summary: "", plots: [] },
  };
  const keys = STUDY_METRICS.map(([k]) => k);
  const curveKeys = [...new Set(s.training_curves.map((t) => t.metric))];
  const acc = new Map<string, Acc>();
  // The report of the runs so far: an included arm's runs not in it are "incomplete" (still to
  // run now, or cut short earlier and left out by --arms).
  const report = async () => {
    const took: Record<string, RunRef[]> = {};
    for (const name of included) {
      const a = withImported(
        acc.get(name),
        rec,
        name,
        studyBases(s).map((b) => b.name),
        s.seeds,
      );
      if (a) arms[name] = armResult(s, name, a, keys);
      const here = acc.get(name)?.runs ?? [];
      const from = a?.runs.filter((r) => !here.some((h) => sameRun(h, r))) ?? [];
      if (from.length > 0) took[name] = from;
    }
    summary.imported = rec ? { file: rec.file, runs: took } : null;
    for (const k of Object.keys(incomplete)) delete incomplete[k];
    for (const n of included) {
      const have = arms[n]?.runs ?? [];
      const missing = allRuns(n).filter((r) => !have.some((h) => sameRun(h, r)));
      if (missing.length > 0) incomplete[n] = missing;
    }
    summary.comparisons = pairedComparisons(s, arms);
    summary.files = await writeStudyReport(out, s, summary);
  };
  // Base by base (so the first base's runs come before the second base is trained); within a
  // base seed by seed, every arm at a seed before the next seed, so that a study cut short has
  // paired runs across its arms. The report is rewritten after every seed.
  for (const b of studyBases(s)) {
    const here = included.filter((n) => armBases(s, s.arms[n]!).some((x) => x.name === b.name));
    if (here.length === 0) continue;
    // A run of this base to do now, or finished in this folder: else the base is the record's.
    const local = (name: string, r: RunRef) => done(name, r) || (names.includes(name) && !imported(name, r));
    if (!s.seeds.some((seed) => here.some((name) => local(name, { base: b.name, seed })))) {
      const ib = rec?.bases[b.name];
      if (ib) summary.bases[b.name] = { ...ib };
      continue;
    }
    const p = await prepareBase(
      out,
      demo,
      b,
      here.some((n) => reward(s.arms[n]!) === "continuous") ? s.guard : null,
      log,
    );
    summary.bases[b.name] = p.result;
    summary.seconds += p.seconds;
    for (const seed of s.seeds) {
      for (const name of here) {
        if (!local(name, { base: b.name, seed })) continue;
        const arm = s.arms[name]!;
        const a = acc.get(name) ?? { perRun: [], training: [], curves: [], runs: [], evalDirs: [] };
        acc.set(name, a);
        const dir = runDir(out, name, b.name, seed);
        fs.mkdirSync(dir, { recursive: true });
        const c = armDemoConfig(p.c, arm, seed);
        const continuous = reward(arm) === "continuous";
        const train = continuous ? mergeDeep(arm.train, { guard_model: p.guard!.ckpt }) : arm.train;
        const x: Ctx = {
          c,
          out: dir,
          state: readState(dir),
          log: (l) => log(`${name} ${b.name} seed ${seed}: ${l}`),
          index: 0,
          total: 2,
          label: `study arm ${name} base ${b.name} seed ${seed}`,
        };
        const rl = await rlStage(
          x,
          "rl",
          ARM_PRESETS[arm.preset],
          p.world,
          p.ckpt,
          continuous ? `${p.fp}+guard:${p.guard!.fp}` : p.fp,
          train,
        );
        const evalDir = await evalStage(x, "rl", p.world, rl.ckpt, rl.fp);
        summary.seconds += Object.values(x.state.stages).reduce((t, r) => t + r.seconds, 0);
        const run = loadRun(evalDir, name);
        a.perRun.push(modelSummary(run.cells, c.eval.suites, run.lines).metrics);
        a.training.push(trainingDiagnostics(path.join(dir, "rl", "metrics.jsonl"), c.rl.prompts_per_step));
        a.curves.push(stepSeries(path.join(dir, "rl", "metrics.jsonl"), curveKeys));
        a.runs.push({ base: b.name, seed });
        a.evalDirs.push(evalDir);
      }
      await report();
    }
  }
  await report();
  return summary;
}

/** The eval folder of an imported run: it has none here. */
const IMPORTED = "(imported)";

/** An arm's runs of this folder with the record's runs it lacks, in (base, seed) order; an
 *  imported run has the record's training curves (if it kept them) and no eval folder (IMPORTED). */
function withImported(
  a: Acc | undefined,
  rec: ImportedRecord | null,
  name: string,
  baseOrder: string[],
  seeds: number[],
): Acc | undefined {
  const mine = a ?? { perRun: [], training: [], curves: [], runs: [], evalDirs: [] };
  const have = mine.runs;
  const extra = (rec?.arms[name] ?? []).filter((q) => !have.some((r) => sameRun(r, q)));
  if (extra.length === 0) return a;
  const rows = [
    ...mine.runs.map((run, i) => ({
      run,
      perRun: mine.perRun[i]!,
      training: mine.training[i]!,
      curves: mine.curves[i]!,
      evalDir: mine.evalDirs[i]!,
    })),
    ...extra.map((q) => ({
      run: { base: q.base, seed: q.seed },
      perRun: q.metrics,
      training: q.training as unknown as TrainingDiagnostics,
      curves: q.curves,
      evalDir: IMPORTED,
    })),
  ];
  const rank = (r: RunRef) => baseOrder.indexOf(r.base) * 1e6 + seeds.indexOf(r.seed);
  rows.sort((x, y) => rank(x.run) - rank(y.run));
  return {
    perRun: rows.map((r) => r.perRun),
    training: rows.map((r) => r.training),
    curves: rows.map((r) => r.curves),
    runs: rows.map((r) => r.run),
    evalDirs: rows.map((r) => r.evalDir),
  };
}

/** One arm's runs so far: each run's metrics, training diagnostics, (base, seed) and eval folder. */
interface Acc {
  perRun: Record<string, number | null>[];
  training: TrainingDiagnostics[];
  curves: Record<string, (number | null)[]>[];
  runs: RunRef[];
  evalDirs: string[];
}

function armResult(s: StudyConfig, name: string, a: Acc, keys: string[]): ArmResult {
  const arm = s.arms[name]!;
  return {
    preset: arm.preset,
    note: arm.note,
    rl: arm.rl,
    train: arm.train,
    safety_reward: arm.safety_reward ?? s.safety_reward,
    bases: armBases(s, arm).map((b) => b.name),
    seeds: s.seeds,
    runs: [...a.runs],
    eval_dirs: [...a.evalDirs],
    metrics: aggregateSeeds(a.perRun, keys),
    variance: varianceByBase(a.perRun, a.runs, keys),
    curves: Object.fromEntries(
      [...new Set(s.training_curves.map((t) => t.metric))].map((k) => [k, a.curves.map((c) => c[k] ?? [])]),
    ),
    training: aggregateSeeds(
      a.training as unknown as Record<string, number | null>[],
      Object.keys(a.training[0] ?? {}),
    ),
  };
}

/** A - B per (base, seed) run of both, for every configured comparison whose arms are done. */
function pairedComparisons(s: StudyConfig, arms: Record<string, ArmResult>): StudySummary["comparisons"] {
  const out: StudySummary["comparisons"] = {};
  for (const [a, b] of s.comparisons) {
    const A = arms[a],
      B = arms[b];
    if (!A || !B) continue;
    const runs = A.runs.filter((r) => B.runs.some((q) => sameRun(q, r)));
    const metrics: Record<string, SeedStats> = {};
    for (const [k] of STUDY_METRICS) {
      const at = (x: ArmResult, r: RunRef) => x.metrics[k]?.values[x.runs.findIndex((q) => sameRun(q, r))] ?? null;
      const st = seedStats(
        runs.map((r) => {
          const va = at(A, r),
            vb = at(B, r);
          return va === null || vb === null ? null : va - vb;
        }),
      );
      if (st) metrics[k] = st;
    }
    out[`${a} - ${b}`] = { runs, metrics };
  }
  return out;
}
