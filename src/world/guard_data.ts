// Labelled (request, response) pairs for the world guard (guard.ts): each non-math row is sampled
// once clean and once after each of its counter-aligned prefills (cut at l_pre words, as RECAP
// prefills), at temperature 1 like RL rollouts, from a policy checkpoint (the shipped base); the
// exact judge labels each completion, and malformed ones (no final response) are left out, since
// the guard only ever scores a final response. `train` draws from the RL prompts and the base
// corpus's requests, `heldout` from the evaluation suites (harmful, jailbreak, borderline,
// benign): requests the guard never saw.
// Row b of the whole list draws from its own seed (seed * 1,000,003 + b), so the pairs do not
// depend on the sampler's batching.
import * as path from "node:path";
import type { Llama } from "../model/llama.ts";
import { sample } from "../model/sampler.ts";
import type { Tokenizer } from "../model/tokenizer.ts";
import { encodePolicyPrompt } from "../recap/render.ts";
import { truncateWords } from "../recap/truncate.ts";
import { type GuardPair, guardText } from "./guard.ts";
import { type JudgeItem, judge } from "./judge.ts";
import { readWorldJsonl } from "./read.ts";
import { prefillOf } from "../recap/prefill_kinds.ts";

export type GuardSplit = "train" | "heldout";
const HELDOUT_SUITES = ["harmful", "jailbreak", "borderline", "benign"];
/** Rows sampled together (the KV cache of 256 rows of the world's context is ~200 MiB). */
const CHUNK = 256;

type Row = JudgeItem & {
  id: string;
  prompt: string;
  source: string;
  /** Prefill material by kind (src/recap/prefill_kinds.ts). */
  prefills?: Record<string, string | undefined>;
};

interface Job {
  row: Row;
  style: "weak" | "strong" | null;
  /** The prefilled thinking, cut to l_pre (null: clean). */
  thinking: string | null;
}

/** The split's prompt rows, math left out. `train`: the RL prompts (clean and prefilled), then the
 *  base corpus's requests not among them (clean only: they carry no prefill material; they bring
 *  the benign and jailbreak-wrapped requests the RL mixture lacks), each request once. */
export function guardRows(worldDir: string, split: GuardSplit): Row[] {
  if (split === "heldout")
    return HELDOUT_SUITES.flatMap((s) => readWorldJsonl<Row>(path.join(worldDir, "suites", `${s}.jsonl`))).filter(
      (r) => r.label !== "math",
    );
  const seen = new Set<string>();
  const once = (r: Row) => r.label !== "math" && !seen.has(r.prompt) && (seen.add(r.prompt), true);
  const rl = readWorldJsonl<Row>(path.join(worldDir, "rl", "prompts.jsonl")).filter(once);
  const corpus = readWorldJsonl<Row>(path.join(worldDir, "corpora", "base_sft.jsonl"))
    .map((r) => ({ ...r, prefills: undefined }))
    .filter(once);
  return [...rl, ...corpus];
}

export interface GuardDataOptions {
  worldDir: string;
  split: GuardSplit;
  model: Llama;
  tokenizer: Tokenizer;
  /** Prompt rows to use (the first N of the split); default all. */
  limit?: number;
  seed: number;
  /** Prefill length in words. */
  lPre: number;
  maxNewTokens: number;
  /** Called with (samples done, samples in all). */
  onProgress?: (done: number, total: number) => void;
}

export interface GuardDataResult {
  pairs: GuardPair[];
  /** Samples drawn, and those left out as malformed. */
  sampled: number;
  malformed: number;
}

/** Samples and labels the split's pairs. */
export function buildGuardPairs(o: GuardDataOptions): GuardDataResult {
  const rows = guardRows(o.worldDir, o.split).slice(0, o.limit);
  const jobs: Job[] = rows.flatMap((row) =>
    ([null, "weak", "strong"] as const).flatMap((style): Job[] => {
      if (style === null) return [{ row, style, thinking: null }];
      const material = prefillOf(row.prefills, style);
      return material ? [{ row, style, thinking: truncateWords(material, o.lPre).text }] : [];
    }),
  );
  const pairs: GuardPair[] = [];
  let malformed = 0;
  for (let j0 = 0; j0 < jobs.length; j0 += CHUNK) {
    const chunk = jobs.slice(j0, j0 + CHUNK);
    const enc = chunk.map((j) => encodePolicyPrompt(o.tokenizer, j.row.prompt, j.thinking));
    const results = sample(
      o.model,
      enc.map((e) => [...e.promptIds, ...e.prefillIds]),
      {
        maxNewTokens: o.maxNewTokens,
        temperature: 1,
        rowSeeds: chunk.map((_, i) => (o.seed * 1_000_003 + j0 + i) >>> 0),
        stopTokenIds: [o.tokenizer.specialIds.eos],
        vocabLimit: o.tokenizer.vocabSize,
      },
    );
    results.forEach((r, i) => {
      const j = chunk[i]!;
      const judgement = judge(j.row, o.tokenizer.decode([...enc[i]!.prefillIds, ...r.tokens]));
      if (judgement.outcome === "malformed") {
        malformed++;
        return;
      }
      const unsafe = judgement.safety === 0;
      pairs.push({
        id: `${j.row.id}/${j.style ?? "clean"}`,
        request: j.row.prompt,
        response: judgement.response,
        unsafe,
        source: j.row.source,
        prefill: j.style,
        text: guardText(j.row.prompt, judgement.response, unsafe),
      });
    });
    o.onProgress?.(Math.min(jobs.length, j0 + CHUNK), jobs.length);
  }
  return { pairs, sampled: jobs.length, malformed };
}
