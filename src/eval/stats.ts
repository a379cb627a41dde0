// Statistics for the evaluation: 95% intervals everywhere.
//   proportions  Wilson score interval (good coverage at small n and near 0 or 1, never outside
//                [0, 1], unlike the normal approximation).
//   means and derived quantities (helpfulness on 0/0.5/1, token counts, pass@k, J(beta))
//                percentile bootstrap, B = 1000 resamples of the items, seeded (reproducible).
//   pass@k       the unbiased estimator 1 − C(n−c, k) / C(n, k) (Chen et al. 2021), computed as
//                1 − prod_{i=n−c+1}^{n} (1 − k / i), which never forms a large binomial.
import { Rng } from "../engine/rng.ts";

export interface Interval {
  /** Point estimate. */
  value: number;
  lo: number;
  hi: number;
  /** Sample size behind it. */
  n: number;
}

export const Z95 = 1.959963984540054;
export const BOOTSTRAP_RESAMPLES = 1000;

/** Wilson score interval for k successes out of n (value NaN and [0, 1] when n = 0). */
export function wilson(k: number, n: number, z = Z95): Interval {
  if (n === 0) return { value: NaN, lo: 0, hi: 1, n: 0 };
  const p = k / n,
    z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At k = 0 and k = n the bound is exactly 0 or 1; rounding would leave 1e-16 off.
  return { value: p, lo: k <= 0 ? 0 : Math.max(0, centre - half), hi: k >= n ? 1 : Math.min(1, centre + half), n };
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** The q-quantile (linear interpolation) of sorted values. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q,
    i = Math.floor(pos),
    f = pos - i;
  const a = sorted[i]!,
    b = sorted[Math.min(i + 1, sorted.length - 1)]!;
  return a + (b - a) * f;
}

/**
 * Percentile bootstrap of a statistic over several independent samples: each resample draws every
 * sample's items with replacement (independently) and evaluates `stat` on the resampled arrays.
 */
export function bootstrap<T>(
  samples: readonly (readonly T[])[],
  stat: (resampled: T[][]) => number,
  seed = 0,
  B = BOOTSTRAP_RESAMPLES,
): Interval {
  const n = Math.min(...samples.map((s) => s.length));
  const value = stat(samples.map((s) => [...s]));
  if (samples.length === 0 || n === 0 || !Number.isFinite(value)) return { value, lo: NaN, hi: NaN, n: Math.max(0, n) };
  const rng = new Rng(seed);
  const stats: number[] = [];
  for (let b = 0; b < B; b++) {
    const re = samples.map((s) => Array.from({ length: s.length }, () => s[rng.int(s.length)]!));
    stats.push(stat(re));
  }
  stats.sort((a, c) => a - c);
  return { value, lo: quantileSorted(stats, 0.025), hi: quantileSorted(stats, 0.975), n };
}

/** Mean with a bootstrap interval. */
export function meanCI(xs: readonly number[], seed = 0): Interval {
  return bootstrap([xs], ([a]) => mean(a!), seed);
}

/** Unbiased pass@k from n samples with c correct (k <= n). */
export function passAtK(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) || k < 1 || k > n || c < 0 || c > n)
    throw new RangeError(`pass@k needs integers 1 <= k <= n and 0 <= c <= n, got n=${n} c=${c} k=${k}`);
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** Mean pass@k over problems (each `{n, c}`) with a bootstrap interval over problems. */
export function passAtKCI(problems: readonly { n: number; c: number }[], k: number, seed = 0): Interval {
  const usable = problems.filter((p) => p.n >= k);
  return bootstrap([usable], ([ps]) => mean(ps!.map((p) => passAtK(p.n, p.c, k))), seed);
}
