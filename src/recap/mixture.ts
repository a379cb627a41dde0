// The RECAP training mixture (paper Sec. 3.1): a fraction alpha of the safety and over-refusal
// prompts get a counter-aligned prefill — harmful / jailbreak prompts unsafe thinking from
// pi_harm, borderline / benign prompts refusal thinking from pi_refuse — cut to l_pre; math
// prompts never get one (unless math_alpha > 0: beyond the paper, a fraction of the math prompts
// get flawed arithmetic from pi_math); the rest stay clean. The aligned switch (Fig. 3c ablation) swaps in
// pi_safe / pi_help. The mixture is built once over the training prompts (D_prefill).
//
// Exactness: with E eligible (non-math) prompts, exactly round(alpha * E) are prefilled (ties
// round up), chosen jointly over all eligible sources by a seeded Fisher-Yates shuffle — not per
// source, so the split between pi_harm and pi_refuse items follows the shuffle. Math prompts are
// chosen apart, round(math_alpha * M) of the M math prompts, from the seed's stream 2, so a
// math_alpha of 0 leaves the paper's mixture exactly as it was. Everything is a function of
// (items, config, seed): selection uses the seed's streams 0 and 2, and item i's source draws
// from stream 1 forked by i, so the result does not depend on the order sources answer in.
import { Rng } from "../engine/rng.ts";
import type { Tokenizer } from "../model/tokenizer.ts";
import { RecapError } from "../util/errors.ts";
import type { RecapDataConfig } from "./config.ts";
import type { PrefillSource } from "./sources.ts";
import { type PrefillUnit, truncatePrefill } from "./truncate.ts";

export const PROMPT_SOURCES = ["harmful", "jailbreak", "borderline", "benign", "math"] as const;
export type PromptSource = (typeof PROMPT_SOURCES)[number];

export interface PromptItem {
  id: string;
  prompt: string;
  source: PromptSource;
}

export type PrefillRole = "pi_harm" | "pi_refuse" | "pi_safe" | "pi_help" | "pi_math";
export type PrefillSources<I> = Partial<Record<PrefillRole, PrefillSource<I>>>;

export interface Prefill {
  /** The cut thinking (after the opener, no "</think>"); the opener is the policy template's
   *  (recap.think_open), added where the turn is rendered (src/recap/render.ts). */
  thinking: string;
  role: PrefillRole;
  sourceId: string;
  /** Words or tokens of the cut thinking (think_open not counted). */
  count: number;
  unit: PrefillUnit;
  /** The source's whole thinking fitted within l_pre. */
  complete: boolean;
}

export interface MixtureRow<I> {
  item: I;
  prefill: Prefill | null;
}

/** Which policy writes the prefill for a safety or over-refusal prompt; null for math (its
 *  prefills, when math_alpha > 0, come from pi_math and are chosen apart: selectMathPrefilled). */
export function prefillRole(source: PromptSource, aligned: boolean): PrefillRole | null {
  switch (source) {
    case "harmful":
    case "jailbreak":
      return aligned ? "pi_safe" : "pi_harm";
    case "borderline":
    case "benign":
      return aligned ? "pi_help" : "pi_refuse";
    case "math":
      return null;
    default:
      throw new RecapError(
        `unknown prompt source "${String(source)}"`,
        `valid sources are: ${PROMPT_SOURCES.join(", ")}`,
      );
  }
}

/** round(fraction * |pool|) of the pool's indices, chosen by a seeded shuffle, ascending. */
function chooseFraction(pool: number[], fraction: number, rng: Rng): number[] {
  const n = Math.round(fraction * pool.length);
  rng.shuffle(pool);
  return pool.slice(0, n).sort((a, b) => a - b);
}

/** Indices of the items whose source passes `keep`. */
function indicesWhere(items: readonly { source: PromptSource }[], keep: (s: PromptSource) => boolean): number[] {
  return items.flatMap((it, i) => (keep(it.source) ? [i] : []));
}

/** Indices (ascending) of the prompts that get a prefill: round(alpha * eligible) of them. */
export function selectPrefilled(items: readonly { source: PromptSource }[], alpha: number, rng: Rng): number[] {
  if (!(alpha >= 0 && alpha <= 1))
    throw new RecapError(`alpha must be in [0, 1], got ${alpha}`, "the paper's default is 0.5");
  return chooseFraction(
    indicesWhere(items, (s) => prefillRole(s, false) !== null),
    alpha,
    rng,
  ); // (E) non-math prompts
}

/** Indices (ascending) of the math prompts that get a pi_math prefill: round(mathAlpha * M). */
export function selectMathPrefilled(items: readonly { source: PromptSource }[], mathAlpha: number, rng: Rng): number[] {
  if (!(mathAlpha >= 0 && mathAlpha <= 1))
    throw new RecapError(
      `math_alpha must be in [0, 1], got ${mathAlpha}`,
      "0 is the paper's setting (math never prefilled)",
    );
  return chooseFraction(
    indicesWhere(items, (s) => s === "math"),
    mathAlpha,
    rng,
  ); // (M) math prompts
}

export interface BuildOptions {
  seed: number;
  /** Needed when cfg.unit is "tokens". */
  tokenizer?: Tokenizer;
}

/** The mixture: every item, with its prefill or null. Sources are checked before any is called. */
export async function buildMixture<I extends PromptItem>(
  items: readonly I[],
  sources: PrefillSources<I>,
  cfg: RecapDataConfig,
  opts: BuildOptions,
): Promise<MixtureRow<I>[]> {
  if (cfg.unit === "tokens" && !opts.tokenizer)
    throw new RecapError('prefill unit "tokens" needs the policy\'s tokenizer', 'pass a tokenizer or use unit "words"');
  const root = new Rng(opts.seed);
  const chosen = selectPrefilled(items, cfg.alpha, root.fork(0));
  const roles = new Map<number, PrefillRole>(chosen.map((i) => [i, prefillRole(items[i]!.source, cfg.aligned)!]));
  for (const i of selectMathPrefilled(items, cfg.math_alpha ?? 0, root.fork(2))) roles.set(i, "pi_math");
  for (const role of new Set(roles.values()))
    if (!sources[role])
      throw new RecapError(
        `no prefill source for ${role}`,
        role === "pi_math"
          ? "math_alpha > 0 needs a pi_math source (the world's math rows carry one from recap-world/3)"
          : cfg.aligned
            ? "the aligned ablation needs pi_safe and pi_help sources"
            : "give pi_harm and pi_refuse sources",
      );
  const streams = root.fork(1);
  const rows: MixtureRow<I>[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const role = roles.get(i);
    if (role === undefined) {
      rows.push({ item, prefill: null });
      continue;
    }
    const res = await sources[role]!.prefill(item, streams.fork(i));
    // Sources give the thinking after the opener; one that echoes the opener is read the same.
    const body =
      cfg.think_open !== "" && res.text.startsWith(cfg.think_open) ? res.text.slice(cfg.think_open.length) : res.text;
    const cut = truncatePrefill(body, { unit: cfg.unit, l_pre: cfg.l_pre, tokenizer: opts.tokenizer });
    rows.push({
      item,
      prefill: {
        thinking: cut.text,
        role,
        sourceId: res.sourceId,
        count: cut.count,
        unit: cfg.unit,
        complete: cut.complete,
      },
    });
  }
  return rows;
}

/** Per prompt source: how many items, how many prefilled. */
export function mixtureCounts<I extends PromptItem>(
  rows: readonly MixtureRow<I>[],
): Record<PromptSource, { total: number; prefilled: number }> {
  const out = Object.fromEntries(PROMPT_SOURCES.map((s) => [s, { total: 0, prefilled: 0 }])) as Record<
    PromptSource,
    { total: number; prefilled: number }
  >;
  for (const r of rows) {
    const c = out[r.item.source];
    c.total++;
    if (r.prefill) c.prefilled++;
  }
  return out;
}
