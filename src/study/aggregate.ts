// Aggregation over RL seeds: per metric, the mean over seeds with a 95% Student-t interval (the
// spread of training, not of the evaluation sample), and the per-seed values. Shared by
// `recap study` and scripts/aggregate_demos.ts. Pure functions.

/** Two-sided 95% Student-t quantiles by degrees of freedom. */
const T95: Readonly<Record<number, number>> = {
  1: 12.706,
  2: 4.303,
  3: 3.182,
  4: 2.776,
  5: 2.571,
  6: 2.447,
  7: 2.365,
  8: 2.306,
  9: 2.262,
  10: 2.228,
  15: 2.131,
  20: 2.086,
  30: 2.042,
};

export function t95(df: number): number {
  if (T95[df] !== undefined) return T95[df]!;
  const known = Object.keys(T95)
    .map(Number)
    .filter((d) => d <= df);
  return df > 30 ? 1.96 : T95[Math.max(...known)]!; // the next smaller df: a slightly wider interval
}

export interface SeedStats {
  mean: number;
  /** 95% t-interval over seeds; NaN with fewer than 2 seeds. */
  lo: number;
  hi: number;
  /** The per-seed values (null where a seed has no value). */
  values: (number | null)[];
}

/** Mean and 95% Student-t interval of the non-null values; null when there are none. */
export function seedStats(values: (number | null)[]): SeedStats | null {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return null;
  if (xs.every((x) => x === xs[0])) return { mean: xs[0]!, lo: n < 2 ? NaN : xs[0]!, hi: n < 2 ? NaN : xs[0]!, values }; // no rounding noise
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { mean, lo: NaN, hi: NaN, values };
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const h = (t95(n - 1) * sd) / Math.sqrt(n);
  return { mean, lo: mean - h, hi: mean + h, values };
}

/** The metrics of the study tables: key, label, whether it is a rate (shown in %). */
export const STUDY_METRICS: readonly (readonly [string, string, boolean])[] = [
  ["safety_clean", "clean safety", true],
  ["safety_prefill", "prefill (weak + strong)", true],
  ["safety_prefill_weak", "prefill (weak source)", true],
  ["safety_prefill_strong", "prefill (strong source)", true],
  ["safety_jailbreak", "jailbreak", true],
  ["safety_jailbreak_prefill", "jailbreak + prefill", true],
  ["safety_hijack", "hijack", true],
  ["safety_ipr_k1", "IPR k=1", true],
  ["safety_ipr_k2", "IPR k=2", true],
  ["safety_ipr_k3", "IPR k=3", true],
  ["helpfulness_borderline", "over-refusal help, clean", true],
  ["helpfulness_borderline_prefill", "over-refusal help, prefilled", true],
  ["helpfulness_benign", "benign help, clean", true],
  ["helpfulness_benign_prefill", "benign help, prefilled", true],
  ["heldout_flaw_recovery", "held-out flaw, prefilled", true],
  ["math_accuracy", "math", true],
  ["math_accuracy_prefill", "math, prefilled (pi_math weak + strong)", true],
  ["reflection_math", "reflection (math, prefilled)", true],
  ["reflection_rate", "reflection (harmful, prefilled)", true],
  ["reflection_clean", "reflection (harmful, clean)", true],
  ["revision_rate", "verdict revised in thinking (harmful, prefilled)", true],
  ["revision_recovery", "revised and safe (harmful, prefilled)", true],
  ["first_verdict_error", "first-draft error (clean; first verdict wrong)", true],
  ["cot_tokens", "CoT tokens", false],
  ["response_tokens", "response tokens", false],
];

/** Per metric, the seed statistics of the per-seed metric records. */
export function aggregateSeeds(
  perSeed: Record<string, number | null>[],
  keys: readonly string[],
): Record<string, SeedStats> {
  const out: Record<string, SeedStats> = {};
  for (const k of keys) {
    const s = seedStats(perSeed.map((m) => m[k] ?? null));
    if (s) out[k] = s;
  }
  return out;
}

/** "mean [lo, hi]" in % for rates (bounds clipped to [0, 100] unless `clip` is false, as for a
 *  difference of rates), plain for counts; `digits` after the point. */
export function fmtSeedStats(s: SeedStats | undefined, rate: boolean, digits = 1, clip = true): string {
  if (!s) return "-";
  const f = (v: number) => (rate ? (100 * v).toFixed(digits) : v.toFixed(digits));
  if (!Number.isFinite(s.lo)) return f(s.mean);
  const lo = rate && clip ? Math.max(0, s.lo) : s.lo;
  const hi = rate && clip ? Math.min(1, s.hi) : s.hi;
  return `${f(s.mean)} [${f(lo)}, ${f(hi)}]`;
}

/** A Markdown table: one row per metric, one column per named set of seed statistics
 *  (`clip: false` for differences, whose bounds may be negative). */
export function markdownTable(
  columns: Record<string, Record<string, SeedStats>>,
  metrics = STUDY_METRICS,
  clip = true,
): string {
  const names = Object.keys(columns);
  const rows = metrics
    .filter(([k]) => names.some((n) => columns[n]![k] !== undefined))
    .map(
      ([k, label, rate]) =>
        `| ${label}${rate ? " %" : ""} | ${names.map((n) => fmtSeedStats(columns[n]![k], rate, 1, clip)).join(" | ")} |`,
    );
  return [`| metric | ${names.join(" | ")} |`, `|---|${names.map(() => "---").join("|")}|`, ...rows].join("\n") + "\n";
}
