// Training diagnostics of one RL run, read from its metrics.jsonl: what explains an evaluation
// result (how much signal RECAP's prefilled rollouts carried, how many groups dynamic sampling
// kept). Early = the mean over the first 5 steps, late = over the last 5.
import * as fs from "node:fs";
import { RecapError } from "../util/errors.ts";

export interface TrainingDiagnostics {
  /** Mean reward of all rollouts, early and late. */
  reward_early: number | null;
  reward_late: number | null;
  /** Mean reward of rollouts from prefilled prompts (RECAP only), early and late. */
  prefilled_reward_early: number | null;
  prefilled_reward_late: number | null;
  /** Kept prompt groups per step over the steps' target, averaged over the run. */
  kept_share: number | null;
  /** Dropped groups per kept group (dynamic sampling's cost), averaged over the run. */
  dropped_per_kept: number | null;
  /** Generated tokens per rollout, over the run. */
  gen_tokens: number | null;
  /** Adaptive curriculum only: its l_pre and alpha over the last 5 steps (null without one). */
  curriculum_l_pre_late: number | null;
  curriculum_alpha_late: number | null;
}

const WINDOW = 5;

function meanOf(rows: Record<string, number>[], key: string): number | null {
  const xs = rows.map((r) => r[key]).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  return xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Reads a run's metrics.jsonl (one JSON object per step). */
export function trainingDiagnostics(file: string, promptsPerStep: number): TrainingDiagnostics {
  return diagnosticsOf(readMetrics(file), promptsPerStep);
}

/** Per step, the value of each of `keys` (null where a step lacks it). */
export function stepSeries(file: string, keys: readonly string[]): Record<string, (number | null)[]> {
  const rows = readMetrics(file);
  return Object.fromEntries(
    keys.map((k) => [k, rows.map((r) => (typeof r[k] === "number" && Number.isFinite(r[k]) ? r[k] : null))]),
  );
}

function readMetrics(file: string): Record<string, number>[] {
  let rows: Record<string, number>[];
  try {
    rows = fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, number>);
  } catch (e) {
    throw new RecapError(
      `${file}: cannot read the run's metrics (${(e as Error).message})`,
      "the RL stage did not finish: re-run the study to resume it",
    );
  }
  return rows;
}

/** The diagnostics of per-step metric rows (pure). */
export function diagnosticsOf(rows: Record<string, number>[], promptsPerStep: number): TrainingDiagnostics {
  const early = rows.slice(0, WINDOW),
    late = rows.slice(-WINDOW);
  const kept = meanOf(rows, "sampling/kept_groups");
  const perKept = rows
    .filter((r) => (r["sampling/kept_groups"] ?? 0) > 0)
    .map((r) => ({ v: (r["sampling/dropped_groups"] ?? 0) / r["sampling/kept_groups"]! }));
  return {
    reward_early: meanOf(early, "reward/mean"),
    reward_late: meanOf(late, "reward/mean"),
    prefilled_reward_early: meanOf(early, "reward/prefilled"),
    prefilled_reward_late: meanOf(late, "reward/prefilled"),
    kept_share: kept === null ? null : kept / promptsPerStep,
    dropped_per_kept: meanOf(
      perKept.map((p) => ({ v: p.v })),
      "v",
    ),
    gen_tokens: meanOf(rows, "rollout/gen_tokens"),
    curriculum_l_pre_late: meanOf(late, "curriculum/l_pre"),
    curriculum_alpha_late: meanOf(late, "curriculum/alpha"),
  };
}

/** Labels of the diagnostics for tables: key, label, rate. */
export const DIAGNOSTIC_LABELS: readonly (readonly [keyof TrainingDiagnostics, string, boolean])[] = [
  ["reward_early", "training reward, first 5 steps", false],
  ["reward_late", "training reward, last 5 steps", false],
  ["prefilled_reward_early", "reward of prefilled rollouts, first 5 steps", false],
  ["prefilled_reward_late", "reward of prefilled rollouts, last 5 steps", false],
  ["kept_share", "kept groups / target per step", false],
  ["dropped_per_kept", "dropped groups per kept group", false],
  ["gen_tokens", "generated tokens per rollout", false],
  ["curriculum_l_pre_late", "curriculum l_pre, last 5 steps", false],
  ["curriculum_alpha_late", "curriculum alpha, last 5 steps", false],
];
