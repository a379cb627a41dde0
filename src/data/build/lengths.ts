// Prompt lengths in the policy's tokens, and the `max_prompt_tokens` limit of `recap data build`.
//
// Why: the engines size prompts differently and none of them handles an over-long prefilled prompt
// well. verl filters rows by the length of the *clean* rendering of the messages and never cuts
// the prefilled text its agent loop sends, so one long prefilled prompt breaks its batch; OpenRLHF
// cuts a long prompt from the left (losing the BOS and the question). So the build measures every
// rendered prompt (encoded as the engines encode it: no special tokens added, the template's BOS
// text counts as the token it is) and, with a limit, refuses (default) or drops the longer rows.
import { RecapError } from "../../util/errors.ts";
import type { BuiltRow } from "./rows.ts";
import type { TextTokenizer } from "../../lm/types.ts";

export interface LengthStats {
  n: number;
  min: number;
  mean: number;
  max: number;
}

export interface PromptTokenSummary {
  /** The tokenizer.json the lengths were counted with. */
  tokenizer: string;
  /** Rows without a prefill (the generation prompt). */
  clean: LengthStats;
  /** Rows with a prefill (generation prompt + `<think>\n` + the cut thinking). */
  prefilled: LengthStats;
  /** The limit applied (null: none set). */
  max_prompt_tokens: number | null;
  /** Rows over the limit (before any drop), and how many of them were dropped. */
  over_limit: number;
  dropped: { clean: number; prefilled: number };
}

export type LongPromptPolicy = "refuse" | "drop";

function stats(xs: readonly number[]): LengthStats {
  if (xs.length === 0) return { n: 0, min: 0, mean: 0, max: 0 };
  let min = Infinity,
    max = -Infinity,
    sum = 0;
  for (const x of xs) {
    min = Math.min(min, x);
    max = Math.max(max, x);
    sum += x;
  }
  return { n: xs.length, min, mean: sum / xs.length, max };
}

/** The token count of each row's rendered prompt. */
export function promptLengths(rows: readonly BuiltRow[], tok: TextTokenizer): number[] {
  return rows.map((r) => tok.encode(r.promptText).length);
}

function describe(r: BuiltRow, len: number): string {
  return `row "${r.item.id}" (set ${r.item.set}, ${r.provenance ? "prefilled" : "clean"}) with ${len} tokens`;
}

/** Refuses rows over `limit` when `policy` is "refuse" (a RecapError naming the longest row and
 *  the fix); with "drop", returns the rows that fit. `limit` undefined keeps every row. */
export function applyPromptLimit(
  rows: readonly BuiltRow[],
  lens: readonly number[],
  limit: number | undefined,
  policy: LongPromptPolicy,
  tokenizer: string,
): { rows: BuiltRow[]; summary: PromptTokenSummary } {
  const over = limit === undefined ? [] : rows.flatMap((_r, i) => (lens[i]! > limit ? [i] : []));
  if (over.length > 0 && policy === "refuse") {
    const worst = over.reduce((a, i) => (lens[i]! > lens[a]! ? i : a), over[0]!);
    throw new RecapError(
      `${over.length} of ${rows.length} prompts are longer than max_prompt_tokens ${limit}; the longest is ${describe(rows[worst]!, lens[worst]!)}`,
      "raise max_prompt_tokens (and the engine's prompt limit with it: verl data.max_prompt_length, OpenRLHF --max_len minus --max_new_tokens), " +
        "shorten the prefills (recap.l_pre), or set long_prompts: drop to leave those rows out",
    );
  }
  const drop = new Set(over);
  const kept = rows.filter((_, i) => !drop.has(i));
  const part = (prefilled: boolean) =>
    lens.filter((_, i) => !drop.has(i) && (rows[i]!.provenance !== null) === prefilled);
  const dropped = {
    clean: over.filter((i) => rows[i]!.provenance === null).length,
    prefilled: over.filter((i) => rows[i]!.provenance !== null).length,
  };
  return {
    rows: kept,
    summary: {
      tokenizer,
      clean: stats(part(false)),
      prefilled: stats(part(true)),
      max_prompt_tokens: limit ?? null,
      over_limit: over.length,
      dropped,
    },
  };
}
