// The one loss aggregation: a per-token loss matrix (B, T) and the loss mask (B, T) become one
// scalar, by a named mode, together with the per-token weights d(aggregate)/d(lossMat), so a
// per-token derivative composes into dLogp = weights * dLossMat/dlogp. The mask is 0/1 (any
// nonzero entry counts as an optimised token). Only masked positions are ever read: whatever
// sits in lossMat where the mask is 0 (NaN, Infinity) cannot leak in.
//
// Modes (N_b = optimised tokens of row b, N = sum of N_b):
//   token-mean               (DAPO)    sum_b sum_t m L / N                    weights m / N
//   seq-mean-token-mean      (GRPO)    mean over rows with N_b > 0 of         weights m / (N_b * B')
//                                      sum_t m L / N_b  (B' = such rows)
//   seq-mean-token-sum-norm  (Dr.GRPO) mean over all B rows of                weights m / (norm_len * B)
//                                      sum_t m L / norm_len
// Departures: rows without optimised tokens are left out of seq-mean-token-mean (as current verl
// does; a 0/0 mean has no value). For seq-mean-token-sum-norm the constant norm_len must be given
// (Dr.GRPO's MAX_TOKENS, e.g. max_new_tokens): verl falls back to the padded width T, which
// changes from batch to batch, so the step size would follow the batch's longest response. We
// then average over the B rows (Dr.GRPO's 1/G), where older verl divides the batch sum by T
// only. An empty mask gives value 0 and zero weights.
import { RecapError } from "../util/errors.ts";

export const AGG_MODES = ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"] as const;
export type AggMode = (typeof AGG_MODES)[number];

export interface AggregateOptions {
  B: number;
  T: number;
  /** The constant divisor of seq-mean-token-sum-norm (required by that mode only). */
  norm_len?: number;
}

export interface AggregateResult {
  value: number;
  weights: Float64Array; // (B, T) d value / d lossMat; 0 wherever the mask is 0
}

/** Aggregates lossMat (B, T) over the mask (B, T) by `mode`. */
export function aggregate(
  lossMat: ArrayLike<number>,
  mask: ArrayLike<number>,
  mode: string,
  opts: AggregateOptions,
): AggregateResult {
  const { B, T } = opts;
  if (lossMat.length !== B * T || mask.length !== B * T)
    throw new RecapError(
      `aggregate: lossMat and mask must have B*T = ${B * T} entries, got ${lossMat.length} and ${mask.length}`,
    );
  const counts = new Float64Array(B); // (B) optimised tokens per row
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) if (mask[b * T + t] !== 0) counts[b]! += 1;
  const scale = rowScales(mode, counts, opts); // (B) weight of one optimised token of row b
  const weights = new Float64Array(B * T); // (B, T)
  let value = 0;
  for (let b = 0; b < B; b++) {
    const s = scale[b]!;
    if (s === 0) continue;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (mask[i] === 0) continue;
      weights[i] = s;
      value += s * lossMat[i]!;
    }
  }
  return { value, weights };
}

/** The units `mode` averages over in mask (B, T): optimised tokens (token-mean), rows with an
 *  optimised token (seq-mean-token-mean) or every row (seq-mean-token-sum-norm). A trainer that
 *  splits a minibatch into micro-batches weights each micro-batch's aggregate by its share of
 *  the units, so that the sum equals the aggregate over the whole minibatch. */
export function aggregationUnits(
  mask: ArrayLike<number>,
  mode: string,
  opts: Pick<AggregateOptions, "B" | "T">,
): number {
  const { B, T } = opts;
  if (mode === "token-mean") {
    let n = 0;
    for (let i = 0; i < B * T; i++) if (mask[i] !== 0) n++;
    return n;
  }
  if (mode === "seq-mean-token-mean") {
    let rows = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        if (mask[b * T + t] !== 0) {
          rows++;
          break;
        }
      }
    }
    return rows;
  }
  if (mode === "seq-mean-token-sum-norm") return B;
  throw new RecapError(`unknown aggregation mode "${mode}"`, `use one of ${AGG_MODES.join(", ")}`);
}

/** The weight of each optimised token of row b under `mode` (0 for rows that do not count). */
function rowScales(mode: string, counts: Float64Array, opts: AggregateOptions): Float64Array {
  const B = counts.length;
  const scale = new Float64Array(B); // (B)
  if (mode === "token-mean") {
    const n = counts.reduce((a, c) => a + c, 0);
    if (n > 0) scale.fill(1 / n);
  } else if (mode === "seq-mean-token-mean") {
    const rows = counts.reduce((a, c) => a + (c > 0 ? 1 : 0), 0);
    for (let b = 0; b < B; b++) if (counts[b]! > 0) scale[b] = 1 / (counts[b]! * rows);
  } else if (mode === "seq-mean-token-sum-norm") {
    const L = opts.norm_len;
    if (L === undefined || !(L > 0))
      throw new RecapError(
        `aggregation seq-mean-token-sum-norm needs a constant norm_len > 0, got ${L}`,
        "set norm_len to max_new_tokens (a constant across steps)",
      );
    if (B > 0) scale.fill(1 / (L * B));
  } else {
    throw new RecapError(`unknown aggregation mode "${mode}"`, `valid aggregation modes are: ${AGG_MODES.join(", ")}`);
  }
  return scale;
}

/** Mean of x over the masked positions (0 for an empty mask): the metrics' reduction. */
export function maskedMean(x: ArrayLike<number>, mask: ArrayLike<number>): number {
  let s = 0,
    n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    s += x[i]!;
    n++;
  }
  return n > 0 ? s / n : 0;
}
