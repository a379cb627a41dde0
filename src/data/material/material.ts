// `recap data attack-material`, end to end: benchmark suites -> one thinking per row sampled from a
// source model (cached per sample, resumable: a rerun after a crash, even SIGKILL, samples only
// what the cache lacks) -> per row the partial prefill (cut to l_pre by src/recap/truncate.ts, the
// project's one cut), the full thinking for the hijack and the IPR reset text -> one suite JSONL
// per input suite, written atomically once every row's thinking is in hand, plus summary.json.
// `recap eval --suite OUT/NAME.jsonl --attacks clean,prefill,hijack,ipr:3` then attacks every
// evaluated model with the identical material (src/eval/attacks reads `prefill`, `hijack`,
// `ipr_reset` from the rows). A row whose source wrote no thinking gets no material (the attacks
// record it as skipped).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { rowCase } from "../../eval/attacks/index.ts";
import { resolveSuites, rowDomain } from "../../eval/suites.ts";
import type { LoadedSuite } from "../../eval/suites.ts";
import type { SuiteRow } from "../../eval/types.ts";
import { truncatePrefill } from "../../recap/truncate.ts";
import { writeFileAtomic } from "../../util/atomic.ts";
import { progressBar } from "../../util/progress.ts";
import { PrefillCache } from "../build/cache.ts";
import type { CachedPrefill } from "../build/cache.ts";
import { itemSeed } from "../build/rows.ts";
import { jobKey, sampleAll, sourceClient } from "../build/sample.ts";
import type { SampleJob } from "../build/sample.ts";
import { forTruncation, loadHfTokenizer } from "../../lm/tokenizer.ts";
import type { AttackMaterialConfig } from "./config.ts";

export interface MaterialOptions {
  /** Called after each new sample is on disk (tests stop a run here to simulate a crash). */
  onSample?: (n: number) => void;
}

export interface MaterialSuiteSummary {
  suite: string;
  /** The suite file written (relative to the output folder). */
  file: string;
  rows: number;
  /** Rows that carry material (the others: the source wrote no thinking). */
  with_material: number;
  /** Rows whose thinking the source's max_tokens cut before `</think>` (their hijack is partial). */
  thinking_cut: number;
  bytes: number;
  sha256: string;
}

export interface MaterialSummary {
  out: string;
  source: { model: string; url: string; api: string; max_tokens: number; temperature: number; top_p: number };
  ipr_reset: string;
  suites: MaterialSuiteSummary[];
  samples: { cached: number; sampled: number; skipped_cache_lines: number };
  /** Length of the partial prefills written, in `unit`. */
  prefill_length: { unit: string; l_pre: number; mean: number; min: number; max: number; shorter_than_l_pre: number };
  /** Whole thinking, in words (space-separated runs; CJK split as src/recap/truncate.ts). */
  thinking_words: { mean: number; min: number; max: number };
  seconds: number;
}

/** The sampling job of one row: its request as `recap eval` sends a clean case (system + user). */
export function materialJob(suite: string, row: SuiteRow, seed: number): SampleJob {
  const id = `${suite}/${row.id}`;
  return { role: "source", id, messages: rowCase(row).messages, seed: itemSeed(seed, id) };
}

const stats = (xs: number[]) =>
  xs.length
    ? { mean: xs.reduce((a, x) => a + x, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs) }
    : { mean: 0, min: 0, max: 0 };

/** Makes the attack material for `cfg` into `out` (see the module comment). */
export async function runAttackMaterial(
  cfg: AttackMaterialConfig,
  out: string,
  opts: MaterialOptions = {},
): Promise<MaterialSummary> {
  const t0 = Date.now();
  const suites: LoadedSuite[] = await resolveSuites(cfg.suites.join(","));
  const rowsOf = (s: LoadedSuite) => (cfg.limit !== undefined ? s.rows.slice(0, cfg.limit) : s.rows);
  const tokenizer = cfg.unit === "tokens" ? forTruncation(loadHfTokenizer(cfg.tokenizer!)) : undefined;
  const client = sourceClient("source", cfg.source, "source");
  const jobs = suites.flatMap((s) => rowsOf(s).map((r) => materialJob(s.name, r, cfg.seed)));

  const cache = PrefillCache.open(cfg.cache_dir ?? path.join(out, "cache"));
  let sampled: Awaited<ReturnType<typeof sampleAll>>;
  const bar = progressBar("thinking", jobs.length);
  try {
    const cached = jobs.filter((j) => cache.get(jobKey(client, j)) !== undefined).length;
    bar.update(cached);
    sampled = await sampleAll(client, jobs, cache, (n) => {
      bar.update(cached + n);
      opts.onSample?.(n);
    });
  } finally {
    bar.stop();
    cache.close();
  }

  fs.mkdirSync(out, { recursive: true });
  const lens: number[] = [],
    thinkWords: number[] = [];
  const summaries: MaterialSuiteSummary[] = [];
  for (const s of suites) {
    let withMaterial = 0,
      cut = 0;
    const lines = rowsOf(s).map((row) => {
      const rec: CachedPrefill = cache.get(jobKey(client, materialJob(s.name, row, cfg.seed)))!;
      const domain = row.domain ?? rowDomain(row, s.name);
      const base: Record<string, unknown> = { ...row, ...(domain ? { domain } : {}) };
      delete base["prefill"];
      delete base["hijack"];
      delete base["ipr_reset"];
      const thinking = rec.text.trimEnd();
      const complete = rec.finish_reason === "stop";
      const material = {
        source_model: rec.model,
        source_url: rec.url,
        seed: rec.seed,
        finish_reason: rec.finish_reason,
        thinking_tokens: rec.completion_tokens,
        thinking_complete: complete,
        l_pre: cfg.l_pre,
        unit: cfg.unit,
      };
      if (thinking.trim() === "") return { ...base, material: { ...material, prefill_length: 0 } };
      const p = truncatePrefill(thinking, { unit: cfg.unit, l_pre: cfg.l_pre, ...(tokenizer ? { tokenizer } : {}) });
      withMaterial++;
      if (!complete) cut++;
      lens.push(p.count);
      thinkWords.push(truncatePrefill(thinking, { unit: "words", l_pre: Number.MAX_SAFE_INTEGER }).count);
      return {
        ...base,
        prefill: p.text,
        hijack: thinking,
        ipr_reset: cfg.ipr_reset,
        material: { ...material, prefill_length: p.count },
      };
    });
    const file = `${s.name}.jsonl`;
    const data = lines.map((l) => JSON.stringify(l)).join("\n") + "\n";
    await writeFileAtomic(path.join(out, file), data);
    summaries.push({
      suite: s.name,
      file,
      rows: lines.length,
      with_material: withMaterial,
      thinking_cut: cut,
      bytes: Buffer.byteLength(data),
      sha256: createHash("sha256").update(data).digest("hex"),
    });
  }
  const e = cfg.source;
  const summary: MaterialSummary = {
    out,
    source: {
      model: e.model,
      url: e.url,
      api: e.api,
      max_tokens: e.max_tokens,
      temperature: e.temperature,
      top_p: e.top_p,
    },
    ipr_reset: cfg.ipr_reset,
    suites: summaries,
    samples: { cached: sampled.cached, sampled: sampled.sampled, skipped_cache_lines: cache.skipped },
    prefill_length: {
      unit: cfg.unit,
      l_pre: cfg.l_pre,
      ...stats(lens),
      shorter_than_l_pre: lens.filter((l) => l < cfg.l_pre).length,
    },
    thinking_words: stats(thinkWords),
    seconds: (Date.now() - t0) / 1000,
  };
  await writeFileAtomic(path.join(out, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  return summary;
}
