// `recap data build`, end to end: prompts -> exact-alpha choice of prefilled prompts -> thinking
// sampled from pi_harm / pi_refuse (cached per sample, resumable) -> cut to l_pre -> rendered with
// the policy's template -> OpenRLHF / TRL / verl exports and a summary, written atomically.
// Rerunning the same config after a crash samples only what the cache lacks and writes the same
// files; nothing is written to the exports until every prefill is in hand.
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { writeFileAtomic } from "../../util/atomic.ts";
import { RecapError } from "../../util/errors.ts";
import { checkOutDir } from "../../util/out_dir.ts";
import { redactSecrets } from "../../util/redact.ts";
import { progressBar } from "../../util/progress.ts";
import { loadChatTemplate } from "../../lm/templates.ts";
import type { ChatTemplate } from "../../lm/templates.ts";
import { PrefillCache } from "./cache.ts";
import type { DataBuildConfig } from "./config.ts";
import { EXPORT_FORMATS } from "./exports.ts";
import { applyPromptLimit, promptLengths } from "./lengths.ts";
import type { PromptTokenSummary } from "./lengths.ts";
import { loadPromptSets } from "./prompts.ts";
import type { BuildItem } from "./prompts.ts";
import { chooseItems, cleanRow, itemSeed, messagesOf, prefilledRow, roleOf } from "./rows.ts";
import type { BuiltRow, RenderSettings } from "./rows.ts";
import { jobKey, sampleAll, sourceClient } from "./sample.ts";
import type { SampleJob, SourceClient, SourceRole } from "./sample.ts";
import { loadHfTokenizer } from "../../lm/tokenizer.ts";

export interface BuildOptions {
  /** Called after each new sample is on disk (tests stop a build here to simulate a crash). */
  onSample?: (role: SourceRole, n: number) => void;
}

export interface BuildSummary {
  out: string;
  rows: number;
  prefilled: number;
  eligible: number;
  alpha: number;
  by_set: Record<string, { kind: string; total: number; prefilled: number }>;
  samples: { cached: number; sampled: number; skipped_cache_lines: number };
  prefill_length: {
    unit: string;
    l_pre: number;
    mean: number;
    min: number;
    max: number;
    shorter_than_l_pre: number;
    empty: number;
  };
  /** Rendered prompt lengths in the policy's tokens, of the rows written (null without policy.tokenizer). */
  prompt_tokens: PromptTokenSummary | null;
  files: { file: string; bytes: number; sha256: string }[];
  seconds: number;
}

/** The BOS text TRL prompts lose (see exports.ts). */
function trlBosOf(cfg: DataBuildConfig, t: ChatTemplate): string {
  const s = cfg.export.trl_strip_bos;
  if (s !== "auto") return s ? t.bosToken : "";
  return t.addBosToken === true ? t.bosToken : ""; // from the tokenizer_config.json beside the template
}

function checkUnique(items: readonly BuildItem[]): void {
  const seen = new Set<string>();
  for (const it of items) {
    if (seen.has(it.id))
      throw new RecapError(`duplicate prompt id "${it.id}"`, "ids must be unique within a prompt set");
    seen.add(it.id);
  }
}

async function sampleRoles(
  cfg: DataBuildConfig,
  jobs: Map<SourceRole, SampleJob[]>,
  cache: PrefillCache,
  opts: BuildOptions,
): Promise<{ clients: Map<SourceRole, SourceClient>; cached: number; sampled: number }> {
  const clients = new Map<SourceRole, SourceClient>();
  for (const [role, list] of jobs)
    if (list.length > 0) clients.set(role, sourceClient(role, cfg.endpoints[role as "pi_harm" | "pi_refuse"]!));
  const total = [...jobs.values()].reduce((a, l) => a + l.length, 0);
  const bar = progressBar("prefills", total, ["role"]);
  let done = 0;
  try {
    // allSettled: a failing role must not leave the other writing to the cache after it closes
    const settled = await Promise.allSettled(
      [...clients].map(([role, c]) =>
        sampleAll(c, jobs.get(role)!, cache, (n) => {
          bar.update(++done, { role });
          opts.onSample?.(role, n);
        }),
      ),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    const stats = settled.map((r) => (r as PromiseFulfilledResult<{ cached: number; sampled: number }>).value);
    return {
      clients,
      cached: stats.reduce((a, s) => a + s.cached, 0),
      sampled: stats.reduce((a, s) => a + s.sampled, 0),
    };
  } finally {
    bar.stop();
  }
}

function lengthStats(rows: readonly BuiltRow[], cfg: DataBuildConfig): BuildSummary["prefill_length"] {
  const lens = rows.flatMap((r) => (r.provenance ? [r.provenance.length] : []));
  const n = lens.length;
  return {
    unit: cfg.recap.unit,
    l_pre: cfg.recap.l_pre,
    mean: n ? lens.reduce((a, x) => a + x, 0) / n : 0,
    min: n ? lens.reduce((a, b) => Math.min(a, b)) : 0,
    max: n ? lens.reduce((a, b) => Math.max(a, b)) : 0,
    shorter_than_l_pre: lens.filter((l) => l < cfg.recap.l_pre).length,
    empty: lens.filter((l) => l === 0).length,
  };
}

async function writeOutputs(
  out: string,
  rows: readonly BuiltRow[],
  cfg: DataBuildConfig,
  trlBos: string,
): Promise<BuildSummary["files"]> {
  fs.mkdirSync(out, { recursive: true });
  const files: BuildSummary["files"] = [];
  for (const name of cfg.export.formats) {
    const f = EXPORT_FORMATS[name]!;
    const data = f.write(rows, { cfg, trlBos });
    await writeFileAtomic(path.join(out, f.file), data);
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    files.push({ file: f.file, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") });
  }
  return files;
}

/** Builds the RECAP data for `cfg` into `out` (see the module comment). */
export async function runDataBuild(cfg: DataBuildConfig, out: string, opts: BuildOptions = {}): Promise<BuildSummary> {
  const t0 = Date.now();
  checkOutDir(out, "data");
  const template = loadChatTemplate(cfg.policy.chat_template, cfg.policy.template_name);
  const tokenizer = cfg.policy.tokenizer ? loadHfTokenizer(cfg.policy.tokenizer) : undefined;
  const settings: RenderSettings = {
    template,
    l_pre: cfg.recap.l_pre,
    unit: cfg.recap.unit,
    ...(cfg.policy.template_extra ? { extra: cfg.policy.template_extra } : {}),
    ...(cfg.policy.system !== undefined ? { system: cfg.policy.system } : {}),
    ...(tokenizer && cfg.recap.unit === "tokens" ? { tokenizer } : {}),
  };
  const items = await loadPromptSets(cfg.prompts);
  checkUnique(items);
  cleanRow(items[0]!, settings); // a template that cannot render fails before any sampling
  if (tokenizer && cfg.max_prompt_tokens !== undefined && cfg.long_prompts === "refuse") {
    // a clean prompt over the limit is refused before any sampling (its prefilled one is longer still)
    const clean = items.map((it) => cleanRow(it, settings));
    applyPromptLimit(clean, promptLengths(clean, tokenizer), cfg.max_prompt_tokens, "refuse", tokenizer.source);
  }
  const chosen = chooseItems(items, cfg.recap.alpha, cfg.seed);
  const jobs = new Map<SourceRole, SampleJob[]>([
    ["pi_harm", []],
    ["pi_refuse", []],
  ]);
  for (const i of chosen) {
    const it = items[i]!;
    jobs.get(roleOf(it))!.push({
      role: roleOf(it),
      id: it.id,
      messages: messagesOf(it, cfg.policy.system),
      seed: itemSeed(cfg.seed, it.id),
    });
  }
  const cache = PrefillCache.open(cfg.cache_dir ?? path.join(out, "cache"));
  let sampled: Awaited<ReturnType<typeof sampleRoles>>;
  try {
    sampled = await sampleRoles(cfg, jobs, cache, opts);
  } finally {
    cache.close();
  }
  const built = items.map((it, i) => {
    if (!chosen.has(i)) return cleanRow(it, settings);
    const role = roleOf(it);
    const job: SampleJob = {
      role,
      id: it.id,
      messages: messagesOf(it, cfg.policy.system),
      seed: itemSeed(cfg.seed, it.id),
    };
    return prefilledRow(it, cache.get(jobKey(sampled.clients.get(role)!, job))!, settings);
  });
  let rows = built,
    prompt_tokens: PromptTokenSummary | null = null;
  if (tokenizer) {
    ({ rows, summary: prompt_tokens } = applyPromptLimit(
      built,
      promptLengths(built, tokenizer),
      cfg.max_prompt_tokens,
      cfg.long_prompts,
      tokenizer.source,
    ));
  }
  const by_set: BuildSummary["by_set"] = {};
  for (const r of rows) {
    const s = (by_set[r.item.set] ??= { kind: r.item.kind, total: 0, prefilled: 0 });
    s.total++;
    if (r.provenance) s.prefilled++;
  }
  const files = await writeOutputs(out, rows, cfg, trlBosOf(cfg, template));
  const summary: BuildSummary = {
    out,
    rows: rows.length,
    prefilled: rows.filter((r) => r.provenance).length,
    eligible: items.filter((it) => it.kind !== "math").length,
    alpha: cfg.recap.alpha,
    by_set,
    samples: { cached: sampled.cached, sampled: sampled.sampled, skipped_cache_lines: cache.skipped },
    prefill_length: lengthStats(rows, cfg),
    prompt_tokens,
    files,
    seconds: (Date.now() - t0) / 1000,
  };
  await writeFileAtomic(
    path.join(out, "summary.json"),
    JSON.stringify({ ...summary, config: redactSecrets(cfg) }, null, 2) + "\n",
  );
  return summary;
}
