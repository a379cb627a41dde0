// From prompts and sampled thinking to training rows: which prompts are prefilled (exactly
// round(alpha * eligible) of the harmful + over-refusal prompts, math never: selectPrefilled of
// src/recap/mixture.ts, so the choice equals the one buildMixture makes for the same items and
// seed), each prefill cut to l_pre words or tokens (src/recap/truncate.ts), and the policy's
// prompt rendered with its own chat template: the generation prompt for clean rows, and for
// prefilled rows the same text continued with `<think>\n` (exactly once) and the cut thinking, so
// the prompt ends inside the thinking and the engine trains only the tokens after it.
// Sample seeds are a function of (seed, item id), not of the item's position, so adding or
// reordering prompts keeps the cached samples of the others valid.
import { createHash } from "node:crypto";
import { Rng } from "../../engine/rng.ts";
import { selectPrefilled } from "../../recap/mixture.ts";
import { truncatePrefill } from "../../recap/truncate.ts";
import type { PrefillUnit } from "../../recap/truncate.ts";
import type { ChatMessage } from "../../lm/types.ts";
import { RecapError } from "../../util/errors.ts";
import type { ChatTemplate } from "../../lm/templates.ts";
import { renderMessages, renderPrefilled } from "../../lm/templates.ts";
import type { CachedPrefill } from "./cache.ts";
import type { BuildItem } from "./prompts.ts";
import type { SourceRole } from "./sample.ts";
import type { TextTokenizer } from "../../lm/types.ts";
import { forTruncation } from "../../lm/tokenizer.ts";

export interface Provenance {
  role: SourceRole;
  source_model: string;
  endpoint: string;
  l_pre: number;
  unit: PrefillUnit;
  /** Words or tokens the cut prefill holds (fewer than l_pre when the thinking was shorter). */
  length: number;
  /** The whole sampled thinking fitted within l_pre. */
  complete: boolean;
  seed: number;
  finish_reason: string;
  cache_key: string;
}

export interface BuiltRow {
  item: BuildItem;
  /** The rendered prompt the policy continues. */
  promptText: string;
  /** The cut thinking ("" for clean rows). */
  prefill: string;
  provenance: Provenance | null;
}

/** The sample seed of an item: 31 bits of sha256(seed, id). */
export function itemSeed(seed: number, id: string): number {
  return createHash("sha256").update(`${seed}\u0000${id}`).digest().readUInt32BE(0) >>> 1;
}

/** Indices of the items that get a prefill (exact alpha over the non-math items). */
export function chooseItems(items: readonly BuildItem[], alpha: number, seed: number): Set<number> {
  return new Set(selectPrefilled(items, alpha, new Rng(seed).fork(0)));
}

export function roleOf(item: BuildItem): SourceRole {
  if (item.kind === "math") throw new Error("math prompts are never prefilled");
  return item.kind === "harmful" ? "pi_harm" : "pi_refuse";
}

/** The chat an item is: [system?, user]. */
export function messagesOf(item: BuildItem, system?: string): ChatMessage[] {
  return [
    ...(system !== undefined ? [{ role: "system", content: system }] : []),
    { role: "user", content: item.prompt },
  ];
}

export interface RenderSettings {
  template: ChatTemplate;
  extra?: Record<string, unknown>;
  system?: string;
  l_pre: number;
  unit: PrefillUnit;
  tokenizer?: TextTokenizer;
}

/** A clean row: the generation prompt (refused if the template closes the thinking itself). */
export function cleanRow(item: BuildItem, s: RenderSettings): BuiltRow {
  const promptText = renderMessages(s.template, messagesOf(item, s.system), true, s.extra ? { extra: s.extra } : {});
  if (/<\/think>\s*$/.test(promptText))
    throw new RecapError(
      `${s.template.source}: the generation prompt closes the thinking (thinking disabled?)`,
      "enable thinking, e.g. policy.template_extra {enable_thinking: true} for Qwen3",
    );
  return { item, promptText, prefill: "", provenance: null };
}

/** A prefilled row from the sampled thinking. */
export function prefilledRow(item: BuildItem, rec: CachedPrefill, s: RenderSettings): BuiltRow {
  const cut = truncatePrefill(rec.text, {
    unit: s.unit,
    l_pre: s.l_pre,
    ...(s.tokenizer ? { tokenizer: forTruncation(s.tokenizer) } : {}),
  });
  const promptText = renderPrefilled(
    s.template,
    messagesOf(item, s.system),
    cut.text,
    s.extra ? { extra: s.extra } : {},
  );
  return {
    item,
    promptText,
    prefill: cut.text,
    provenance: {
      role: roleOf(item),
      source_model: rec.model,
      endpoint: rec.url,
      l_pre: s.l_pre,
      unit: s.unit,
      length: cut.count,
      complete: cut.complete,
      seed: rec.seed,
      finish_reason: rec.finish_reason,
      cache_key: rec.key,
    },
  };
}

/** The label every export carries (a JSON string the reward server reads). */
export function labelOf(item: BuildItem): string {
  const l: Record<string, unknown> = { datasource: item.datasource, id: item.id };
  if (item.answer !== undefined) l["answer"] = item.answer;
  if (item.kind !== "math") l["prompt"] = item.question;
  return JSON.stringify(l);
}
