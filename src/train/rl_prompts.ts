import * as path from "node:path";
import { loadCheckpoint } from "../model/checkpoint.ts";
import { Llama } from "../model/llama.ts";
import { Tokenizer } from "../model/tokenizer.ts";
import { selectKernels } from "../engine/select.ts";
import { buildMixture, type PrefillSources, type PromptItem } from "../recap/mixture.ts";
import { encodePolicyPrompt } from "../recap/render.ts";
import { type PrefillResult, type PrefillSource, ruleSource, samplerSource } from "../recap/sources.ts";
import type { JudgeItem } from "../world/judge.ts";
import { RecapError } from "../util/errors.ts";
import type { TrainConfig } from "./rl_config.ts";
import { type CurriculumState, drawsPrefill } from "./curriculum.ts";
import type { PolicyPrompt } from "./rollout.ts";
import { readWorldJsonl } from "../world/read.ts";
import { type PrefillKind, prefillOf } from "../recap/prefill_kinds.ts";

/** A world RL prompt row (rl/prompts.jsonl). */
export type WorldPromptRow = PromptItem &
  JudgeItem & {
    id: string;
    prompt: string;
    /** Prefill material by kind (src/recap/prefill_kinds.ts). */
    prefills?: Record<string, string | undefined>;
  };

/** Reads WORLD/rl/prompts.jsonl. */
export function loadWorldPrompts(worldDir: string): WorldPromptRow[] {
  return readWorldJsonl<WorldPromptRow>(path.join(worldDir, "rl", "prompts.jsonl"));
}

/** Rule-based sources from the rows' prefill material; style weak | strong | mixed. */
function ruleSources(style: TrainConfig["prefill_style"]): PrefillSources<WorldPromptRow> {
  const counter = (row: WorldPromptRow, pick: number): string => {
    const kind: PrefillKind = style === "mixed" ? (pick < 0.5 ? "weak" : "strong") : style;
    const text = prefillOf(row.prefills, kind);
    if (!text)
      throw new RecapError(
        `prompt ${row.id} has no ${kind} prefill material`,
        "rebuild the world with recap world build",
      );
    return text;
  };
  const aligned = (row: WorldPromptRow): string => {
    const text = prefillOf(row.prefills, "aligned");
    if (!text) throw new RecapError(`prompt ${row.id} has no aligned prefill material`);
    return text;
  };
  return {
    pi_harm: ruleSource(`world/${style}`, (row, rng) => counter(row, rng.uniform())),
    pi_refuse: ruleSource(`world/${style}`, (row, rng) => counter(row, rng.uniform())),
    pi_math: ruleSource(`world/${style}`, (row, rng) => counter(row, rng.uniform())),
    pi_safe: ruleSource("world/aligned", aligned),
    pi_help: ruleSource("world/aligned", aligned),
  };
}

/** Model sources: thinking sampled from pi_harm / pi_refuse checkpoints (the paper's way). */
async function modelSources(c: TrainConfig, configDir: string): Promise<PrefillSources<WorldPromptRow>> {
  const load = async (p: string, id: string) => {
    const ck = await loadCheckpoint(path.resolve(configDir, p));
    const model = new Llama(ck.config, ck.params, selectKernels(c.kernels));
    model.source = `checkpoint ${path.resolve(configDir, p)}`;
    return samplerSource<WorldPromptRow>({
      id,
      model,
      tokenizer: Tokenizer.fromJSON(ck.tokenizerJson),
      maxNewTokens: 120,
    });
  };
  return {
    ...ruleSources(c.prefill_style),
    pi_harm: await load(c.pi_harm_model!, "pi_harm_model"),
    pi_refuse: await load(c.pi_refuse_model!, "pi_refuse_model"),
  };
}

/** The run's prompts, tokenised, each with its prefill or none. */
export async function buildPolicyPrompts(
  rows: WorldPromptRow[],
  c: TrainConfig,
  tok: Tokenizer,
  configDir: string,
): Promise<PolicyPrompt[]> {
  const sources = c.pi_harm_model ? await modelSources(c, configDir) : ruleSources(c.prefill_style);
  const cfg = {
    ...c.recap,
    alpha: c.recap_enabled ? c.recap.alpha : 0,
    math_alpha: c.recap_enabled ? c.recap.math_alpha : 0,
  };
  const mixture = await buildMixture(rows, sources, cfg, { seed: c.seed, tokenizer: tok });
  return mixture.map((m, index) => {
    const thinking = m.prefill?.thinking ?? null;
    const { promptIds, prefillIds } = encodePolicyPrompt(tok, m.item.prompt, thinking, undefined, c.recap.think_open);
    return { index, item: m.item, promptIds, prefillIds, prefillThinking: thinking };
  });
}

/** The adaptive curriculum's prompts (src/train/curriculum.ts), built once per run: every row
 *  clean, and every eligible (non-math) row prefilled at each level's l_pre. `index` is the
 *  prompt's position in the table [clean rows, level 0 rows, level 1 rows, ...], so the clean and
 *  prefilled forms of a row never share a rollout group. */
export interface CurriculumPrompts {
  clean: PolicyPrompt[]; // (N) index = row
  levels: (PolicyPrompt | null)[][]; // (L, N) index = (k + 1) * N + row; null for math rows
}

/** One mixture per level with alpha = 1 from the run's seed and sources (item i's source draws
 *  come from a stream forked by i, so each level cuts the same thinking: a longer level extends a
 *  shorter one), each source asked once per item. */
export async function buildCurriculumPrompts(
  rows: WorldPromptRow[],
  c: TrainConfig,
  tok: Tokenizer,
  configDir: string,
): Promise<CurriculumPrompts> {
  if (!c.curriculum) throw new RecapError("buildCurriculumPrompts needs a config with curriculum");
  const sources = onePerItem(c.pi_harm_model ? await modelSources(c, configDir) : ruleSources(c.prefill_style));
  const n = rows.length;
  const clean = rows.map((item, index) => ({
    index,
    item,
    ...encodePolicyPrompt(tok, item.prompt, null),
    prefillThinking: null,
  }));
  const levels: (PolicyPrompt | null)[][] = [];
  for (const [k, l_pre] of c.curriculum.levels.entries()) {
    const mixture = await buildMixture(
      rows,
      sources,
      { ...c.recap, alpha: 1, math_alpha: 0, l_pre },
      { seed: c.seed, tokenizer: tok },
    );
    levels.push(
      mixture.map((m, row) => {
        if (!m.prefill) return null;
        return {
          index: (k + 1) * n + row,
          item: m.item,
          ...encodePolicyPrompt(tok, m.item.prompt, m.prefill.thinking, undefined, c.recap.think_open),
          prefillThinking: m.prefill.thinking,
        };
      }),
    );
  }
  return { clean, levels };
}

/** The prompt for `row` drawn at stream position `pos`: prefilled at the state's level when the
 *  row is eligible and the seeded per-draw coin (drawsPrefill) falls under the state's alpha. */
export function curriculumPrompt(
  t: CurriculumPrompts,
  row: number,
  pos: number,
  s: Pick<CurriculumState, "level" | "alpha">,
  seed: number,
): PolicyPrompt {
  const pre = t.levels[s.level]?.[row] ?? null; // null for math rows (never prefilled)
  return pre !== null && drawsPrefill(seed, pos, s.alpha) ? pre : t.clean[row]!;
}

/** Sources that compute each item's thinking once and replay it: buildMixture hands an item the
 *  same seeded stream in every build, so the replay is what the source would return again. */
function onePerItem<I>(sources: PrefillSources<I>): PrefillSources<I> {
  const wrap = (src: PrefillSource<I>): PrefillSource<I> => {
    const seen = new Map<I, Promise<PrefillResult>>();
    return {
      id: src.id,
      prefill(item, rng) {
        if (!seen.has(item)) seen.set(item, Promise.resolve(src.prefill(item, rng)));
        return seen.get(item)!;
      },
    };
  };
  return Object.fromEntries(Object.entries(sources).map(([role, src]) => [role, wrap(src)])) as PrefillSources<I>;
}
