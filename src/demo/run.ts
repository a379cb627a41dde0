// `recap demo`: the whole method on the CPU, as stages that each resume where they stopped:
//   world → base LRM (shipped or trained) → SFT baseline → DAPO and RECAP (same base, seed and
//   budget) → evaluation of the four models (suites x attacks, world judge) → report.html,
//   summary.json and Table 2 in miniature on stdout.
// The stages live in stages.ts (shared with `recap study`); their configs come from the presets in
// configs/ (world-base, world-sft-baseline, world-dapo, world-recap) with the demo's knobs laid
// over them, so a stage is exactly what the corresponding command would run.
import * as fs from "node:fs";
import * as path from "node:path";
import { loadRun } from "../eval/report/data.ts";
import { writeReport } from "../eval/report/index.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { checkOutDir } from "../util/out_dir.ts";
import { WORLD_VERSION } from "../world/lexicon.ts";
import type { DemoConfig } from "./config.ts";
import { type Ctx, baseStage, evalStage, rlStage, sftStage, worldStage } from "./stages.ts";
import { readState } from "./state.ts";
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

/** Runs (or resumes) the demo; returns the summary also written to OUT/summary.json. */
export async function runDemo(o: DemoOptions): Promise<{ summary: DemoSummary; table: string }> {
  const out = path.resolve(o.out); // stage configs hold absolute paths: relative ones would resolve against each stage's folder
  checkOutDir(out, "demo");
  fs.mkdirSync(out, { recursive: true });
  const x: Ctx = { c: o.config, out, state: readState(out), log: o.log ?? (() => {}), index: 0, total: 10 };
  const { dir: world, fp: worldFp } = await worldStage(x);
  const base = await baseStage(x, world, worldFp);
  const evals: Record<string, string> = {};
  evals["base"] = await evalStage(x, "base", world, base.ckpt, base.fp);
  const sft = await sftStage(x, world, base.ckpt, base.fp);
  evals["sft"] = await evalStage(x, "sft", world, sft.ckpt, sft.fp);
  const dapo = await rlStage(x, "dapo", "world-dapo.yaml", world, base.ckpt, base.fp);
  evals["dapo"] = await evalStage(x, "dapo", world, dapo.ckpt, dapo.fp);
  const recap = await rlStage(x, "recap", "world-recap.yaml", world, base.ckpt, base.fp);
  evals["recap"] = await evalStage(x, "recap", world, recap.ckpt, recap.fp);
  x.index++;
  x.log(`[${x.index}/${x.total}] report …`);
  const files = await writeReport(
    MODELS.map((m) => evals[m]!),
    path.join(out, "report.html"),
    {
      title: `recap demo (${o.preset}): base, SFT baseline, DAPO and RECAP on ${WORLD_VERSION}`,
    },
  );
  const per: Record<string, ModelSummary> = {};
  for (const m of MODELS) {
    const run = loadRun(evals[m]!, m);
    per[m] = modelSummary(run.cells, x.c.eval.suites, run.lines);
  }
  const stageSeconds = Object.fromEntries(Object.entries(x.state.stages).map(([k, v]) => [k, v.seconds]));
  const summaryFile = path.join(out, "summary.json");
  const summary: DemoSummary = {
    preset: o.preset,
    world_version: WORLD_VERSION,
    runs: Object.fromEntries(MODELS.map((m) => [m, per[m]!.metrics])),
    intervals: Object.fromEntries(MODELS.map((m) => [m, per[m]!.intervals])),
    items: Object.fromEntries(MODELS.map((m) => [m, per[m]!.items])),
    seconds: Object.values(stageSeconds).reduce((s, v) => s + v, 0),
    stage_seconds: stageSeconds,
    base_source: base.source,
    config: x.c,
    files: { report: files.html, markdown: files.markdown, summary: path.resolve(summaryFile) },
  };
  await writeFileAtomic(summaryFile, JSON.stringify(summary, null, 2) + "\n");
  const table = formatTable(per);
  await writeFileAtomic(path.join(out, "table.txt"), table);
  return { summary, table };
}
