// The RL training mixture: the world's RL prompts, a fraction alpha of the safety and
// over-refusal ones carrying a counter-aligned prefill (fixed once per run from the seed), each
// rendered with the policy's chat template and tokenised once.
import * as fs from "node:fs";
import * as path from "node:path";
import { loadCheckpoint } from "../model/checkpoint.ts";
import { Llama } from "../model/llama.ts";
import { Tokenizer } from "../model/tokenizer.ts";
import { selectKernels } from "../engine/select.ts";
import { buildMixture, type PrefillSources, type PromptItem } from "../recap/mixture.ts";
import { encodePolicyPrompt } from "../recap/render.ts";
import { ruleSource, samplerSource } from "../recap/sources.ts";
import type { JudgeItem } from "../world/judge.ts";
import { RecapError } from "../util/errors.ts";
import type { TrainConfig } from "./rl_config.ts";
import type { PolicyPrompt } from "./rollout.ts";

/** A world RL prompt row (rl/prompts.jsonl). */
export type WorldPromptRow = PromptItem & JudgeItem & {
  id: string;
  prompt: string;
  prefills?: { counter_weak?: string; counter_strong?: string; aligned?: string };
};

/** Reads WORLD/rl/prompts.jsonl. */
export function loadWorldPrompts(worldDir: string): WorldPromptRow[] {
  const file = path.join(worldDir, "rl", "prompts.jsonl");
  if (!fs.existsSync(file)) throw new RecapError(`${file} not found`, "build the world first: recap world build --seed 1 --out <dir>");
  return fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").map((l, i) => {
    try {
      return JSON.parse(l) as WorldPromptRow;
    } catch {
      throw new RecapError(`${file}:${i + 1}: not valid JSON`);
    }
  });
}

/** Rule-based sources from the rows' prefill material; style weak | strong | mixed. */
function ruleSources(style: TrainConfig["prefill_style"]): PrefillSources<WorldPromptRow> {
  const counter = (row: WorldPromptRow, pick: number): string => {
    const s = style === "mixed" ? (pick < 0.5 ? "counter_weak" : "counter_strong") : style === "weak" ? "counter_weak" : "counter_strong";
    const text = row.prefills?.[s];
    if (!text) throw new RecapError(`prompt ${row.id} has no ${s} prefill material`, "rebuild the world with recap world build");
    return text;
  };
  const aligned = (row: WorldPromptRow): string => {
    if (!row.prefills?.aligned) throw new RecapError(`prompt ${row.id} has no aligned prefill material`);
    return row.prefills.aligned;
  };
  return {
    pi_harm: ruleSource(`world/${style}`, (row, rng) => counter(row, rng.uniform())),
    pi_refuse: ruleSource(`world/${style}`, (row, rng) => counter(row, rng.uniform())),
    pi_safe: ruleSource("world/aligned", aligned),
    pi_help: ruleSource("world/aligned", aligned),
  };
}

/** Model sources: thinking sampled from pi_harm / pi_refuse checkpoints (the paper's way). */
async function modelSources(c: TrainConfig, configDir: string): Promise<PrefillSources<WorldPromptRow>> {
  const load = async (p: string, id: string) => {
    const ck = await loadCheckpoint(path.resolve(configDir, p));
    const model = new Llama(ck.config, ck.params, selectKernels(c.kernels));
    return samplerSource<WorldPromptRow>({ id, model, tokenizer: Tokenizer.fromJSON(ck.tokenizerJson), maxNewTokens: 120 });
  };
  return { ...ruleSources(c.prefill_style), pi_harm: await load(c.pi_harm_model!, "pi_harm_model"), pi_refuse: await load(c.pi_refuse_model!, "pi_refuse_model") };
}

/** The run's prompts, tokenised, each with its prefill or none. */
export async function buildPolicyPrompts(rows: WorldPromptRow[], c: TrainConfig, tok: Tokenizer, configDir: string): Promise<PolicyPrompt[]> {
  const sources = c.pi_harm_model ? await modelSources(c, configDir) : ruleSources(c.prefill_style);
  const cfg = { ...c.recap, alpha: c.recap_enabled ? c.recap.alpha : 0 };
  const mixture = await buildMixture(rows, sources, cfg, { seed: c.seed, tokenizer: tok });
  return mixture.map((m, index) => {
    const prefill = m.prefill?.text ?? null;
    const { promptIds, prefillIds } = encodePolicyPrompt(tok, m.item.prompt, prefill);
    return { index, item: m.item, promptIds, prefillIds, prefillText: prefill };
  });
}
