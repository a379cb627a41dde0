// The token layout of a rollout batch and THE loss mask (built here and nowhere else).
//
// Row b of a batch holds one rollout as a token sequence seq_b of length L_b = P + F + G:
//   seq_b[0 .. P-1]          prompt tokens (the rendered chat up to and including "<|assistant|>")
//   seq_b[P .. P+F-1]        prefill tokens (the injected thinking; F = 0 for a clean prompt)
//   seq_b[P+F .. P+F+G-1]    generated tokens (the policy's own continuation, with its final
//                            stop token if it stopped)
//   then padding up to the batch width.
// The forward (src/model/forward.ts) takes ids (B, T) and targets (B, T) with
//   ids[b, t] = seq_b[t]      and      targets[b, t] = seq_b[t + 1]      (pad beyond L_b),
// so logprobs[b, t] = log p(seq_b[t + 1] | seq_b[0 .. t]).
// The generated token seq_b[P + F + i] (i = 0 .. G-1) is scored at t = P + F + i - 1, hence the
// optimised positions of row b are exactly
//   t = P + F - 1  ..  P + F + G - 2        (G positions; none when G = 0).
// Every other position is zero in the mask: t < P + F - 1 predicts a prompt or prefill token
// (context, never loss — counting the prefill as completion is the prefix-as-completion bug),
// t > P + F + G - 2 predicts padding. A row needs P + F >= 1 (the first generated token must be
// predicted from something) and P + F + G - 1 <= T (its last scored position fits in the width).
// A row of L tokens therefore needs only T = L - 1 positions: its last token appears as a target.
import { RecapError } from "../util/errors.ts";

/** Segment lengths of one row, in tokens. */
export interface RowLayout {
  promptLen: number;
  prefillLen: number;
  genLen: number;
}

/** A batch of B rows of width T. */
export interface BatchLayout {
  B: number;
  T: number;
  rows: readonly RowLayout[];
}

/** The first optimised position of a row (the one that scores the first generated token). */
export function firstGenPosition(row: RowLayout): number {
  return row.promptLen + row.prefillLen - 1;
}

function checkLayout(layout: BatchLayout): void {
  const { B, T, rows } = layout;
  if (!Number.isInteger(B) || B < 0 || !Number.isInteger(T) || T < 1)
    throw new RecapError(`bad batch shape B=${B}, T=${T}`, "B must be an integer >= 0 and T an integer >= 1");
  if (rows.length !== B)
    throw new RecapError(
      `the layout has ${rows.length} rows for a batch of B=${B}`,
      "give one row layout per batch row",
    );
  rows.forEach((r, b) => {
    for (const k of ["promptLen", "prefillLen", "genLen"] as const)
      if (!Number.isInteger(r[k]) || r[k] < 0)
        throw new RecapError(`row ${b}: ${k} must be an integer >= 0, got ${r[k]}`);
    if (r.genLen > 0 && r.promptLen + r.prefillLen < 1)
      throw new RecapError(
        `row ${b} has generated tokens but no prompt or prefill before them`,
        "a row needs promptLen + prefillLen >= 1",
      );
    const last = r.promptLen + r.prefillLen + r.genLen - 1; // = last scored position + 1
    if (r.genLen > 0 && last > T)
      throw new RecapError(
        `row ${b} needs ${last} positions but the batch width is T=${T}`,
        "make T at least promptLen + prefillLen + genLen - 1",
      );
  });
}

/** The loss mask (B, T): 1 where a generated token is scored, 0 at prompt, prefill and pad. */
export function lossMask(layout: BatchLayout): Float32Array {
  checkLayout(layout);
  const { B, T, rows } = layout;
  const mask = new Float32Array(B * T); // (B, T)
  for (let b = 0; b < B; b++) {
    const r = rows[b]!;
    const t0 = firstGenPosition(r);
    for (let i = 0; i < r.genLen; i++) mask[b * T + t0 + i] = 1;
  }
  return mask;
}

/** One rollout's tokens, by segment. */
export interface RolloutTokens {
  prompt: readonly number[];
  prefill: readonly number[];
  generated: readonly number[];
}

export interface PackedBatch extends BatchLayout {
  ids: Int32Array; // (B, T) seq_b[t], padId beyond the row
  targets: Int32Array; // (B, T) seq_b[t + 1], padId beyond the row
  mask: Float32Array; // (B, T) lossMask of the layout
}

/** Packs rollouts into the forward's ids/targets and the loss mask. T defaults to the smallest
 *  width that fits every row (max L_b - 1, at least 1). */
export function packBatch(rollouts: readonly RolloutTokens[], padId: number, T?: number): PackedBatch {
  const rows: RowLayout[] = rollouts.map((r) => ({
    promptLen: r.prompt.length,
    prefillLen: r.prefill.length,
    genLen: r.generated.length,
  }));
  const width = T ?? Math.max(1, ...rollouts.map((r) => r.prompt.length + r.prefill.length + r.generated.length - 1));
  const B = rollouts.length;
  const mask = lossMask({ B, T: width, rows });
  const ids = new Int32Array(B * width).fill(padId); // (B, T)
  const targets = new Int32Array(B * width).fill(padId); // (B, T)
  rollouts.forEach((r, b) => {
    const seq = [...r.prompt, ...r.prefill, ...r.generated]; // (L_b)
    for (let t = 0; t < width; t++) {
      if (t < seq.length) ids[b * width + t] = seq[t]!;
      if (t + 1 < seq.length) targets[b * width + t] = seq[t + 1]!;
    }
  });
  return { B, T: width, rows, ids, targets, mask };
}

/** Places per-row values of the generated tokens (e.g. the sampler's log-probs, G_b per row) at
 *  their scored positions in a (B, T) array; zero elsewhere. */
export function scatterGenerated(layout: BatchLayout, values: readonly ArrayLike<number>[]): Float32Array {
  checkLayout(layout);
  const { B, T, rows } = layout;
  if (values.length !== B) throw new RecapError(`scatterGenerated: ${values.length} value rows for B=${B}`);
  const out = new Float32Array(B * T); // (B, T)
  for (let b = 0; b < B; b++) {
    const r = rows[b]!,
      v = values[b]!;
    if (v.length !== r.genLen)
      throw new RecapError(`scatterGenerated: row ${b} has ${v.length} values for ${r.genLen} generated tokens`);
    const t0 = firstGenPosition(r);
    for (let i = 0; i < r.genLen; i++) out[b * T + t0 + i] = v[i]!;
  }
  return out;
}
