// `recap data build --config FILE --out DIR [--json]`: RECAP training data for real reasoning
// models — counter-aligned prefills sampled from pi_harm / pi_refuse endpoints (cached, resumable:
// rerun the same command after a crash), cut to l_pre words or tokens, mixed at rate alpha, rendered
// with the policy's chat template, exported for OpenRLHF (JSONL), TRL (JSONL) and verl (parquet).
// File paths in the config are relative to its folder. The resolved config goes to stderr at start; --json prints the build summary on stdout.
// `recap data attack-material --suite LIST --source-url URL --source-model NAME --out DIR`: shared
// attack material for `recap eval` (a source model's thinking per row, sampled once and cached;
// the partial prefill, the full thinking for the hijack, the IPR reset text), one suite JSONL per
// input suite; see src/data/material/ and docs/EVAL.md.
import * as path from "node:path";
import type { Command } from "commander";
import { runDataBuild } from "../data/build/build.ts";
import type { BuildSummary } from "../data/build/build.ts";
import { DataBuildConfigSchema, resolveConfigPaths } from "../data/build/config.ts";
import { AttackMaterialConfigSchema } from "../data/material/config.ts";
import type { AttackMaterialConfigInput } from "../data/material/config.ts";
import { runAttackMaterial } from "../data/material/material.ts";
import { loadConfigFile, printResolvedConfig, validateConfig } from "../util/config_file.ts";
import { RecapError } from "../util/errors.ts";
import { action, intFlag, numFlag, printJson } from "./common.ts";

interface BuildFlags {
  config: string;
  out: string;
  json: boolean;
}

export function registerData(program: Command): void {
  const data = program
    .command("data")
    .description("data for real reasoning models: the RECAP training mixture, shared attack material for recap eval");
  data
    .command("build")
    .description(
      "build the RECAP mixture (counter-aligned prefills from endpoints) and export it for OpenRLHF / TRL / verl",
    )
    .requiredOption(
      "--config <file>",
      "YAML/JSON config: prompts, policy chat template, recap {alpha, l_pre, unit}, endpoints {pi_harm, pi_refuse}, export",
    )
    .requiredOption(
      "--out <dir>",
      "output folder (exports, summary.json, and the prefill cache under cache/ unless cache_dir is set)",
    )
    .option("--json", "print the build summary as JSON on stdout", false)
    .addHelpText(
      "after",
      "\nEvery config knob (meaning, default, paper value) is documented in src/data/build/config.ts;\nan annotated example and the engines' commands are in docs/SCALING.md. Paths are relative to the config file.",
    )
    .action(action(async (o: BuildFlags) => build(o)));
  data
    .command("attack-material")
    .description(
      "sample a source model's thinking once per benchmark row and write suites with shared attack material (prefill, hijack, IPR reset) for `recap eval`",
    )
    .requiredOption(
      "--suite <list>",
      "suites, comma-separated, as recap eval takes them: FORMAT:FILE (strongreject, wildjailbreak, fortress, xstest, harmbench, prompts, ...) or a JSONL of {id, prompt}",
    )
    .requiredOption(
      "--source-url <url>",
      "the source model's OpenAI-compatible server (vLLM, SGLang, llama.cpp, recap serve)",
    )
    .requiredOption(
      "--source-model <name>",
      "the source's served model name (the paper: a weak DeepSeek-R1-Distill-Qwen-1.5B)",
    )
    .option(
      "--source-api <api>",
      "chat (the server's template, thinking opened with continue_final_message) or completions (needs --source-template)",
      "chat",
    )
    .option(
      "--source-template <file>",
      "the source's chat template (tokenizer_config.json, .jinja or model folder) for --source-api completions",
    )
    .option("--source-extra <json>", "extra JSON: chat template variables (completions) or request body fields (chat)")
    .option("--max-tokens <n>", "thinking tokens to sample at most (the hijack uses the whole thinking)", "4096")
    .option("--temperature <t>", "source sampling temperature", "0.6")
    .option("--top-p <p>", "source nucleus mass", "0.95")
    .option("--concurrency <n>", "source calls in flight", "8")
    .option("--timeout-ms <n>", "per-call timeout (ms)", "120000")
    .option("--retries <n>", "retries on 429 / 5xx / timeouts / connection errors", "4")
    .option("--api-key <key>", "bearer token for the source (default: OPENAI_API_KEY)")
    .option("--l-pre <n>", "partial prefill length (the paper's l_pre)", "500")
    .option("--unit <unit>", "words (the paper's unit) or tokens (of --tokenizer)", "words")
    .option("--tokenizer <file>", "tokenizer.json (or its folder) for --unit tokens")
    .option("--ipr-reset <text>", "the IPR reset phrase written to every row (default: the paper's)")
    .option("--seed <n>", "seeds every row's sample", "1")
    .option("--limit <n>", "only the first N rows of every suite")
    .option("--cache-dir <dir>", "where samples are cached (default OUT/cache)")
    .requiredOption(
      "--out <dir>",
      "output folder: NAME.jsonl per suite, summary.json, cache/prefills.jsonl; rerun the same command to resume",
    )
    .option("--json", "print the summary as JSON on stdout", false)
    .addHelpText(
      "after",
      [
        "",
        "Each output row is the input row plus: prefill (the source's thinking cut to --l-pre), hijack (the whole",
        "thinking), ipr_reset, domain, and material (provenance). Then, for every model under test:",
        "  recap eval --endpoint URL --model-name M --chat-template T --suite OUT/strongreject.jsonl \\",
        "    --attacks clean,prefill,hijack,ipr:3 --out runs/M",
        "(prefill / ipr:3 without @N use the shared prefill whole; @Nw cuts it shorter). Knobs: src/data/material/config.ts;",
        "a worked example: docs/EVAL.md.",
      ].join("\n"),
    )
    .action(action(async (o: MaterialFlags) => material(o)));
}

interface MaterialFlags {
  suite: string;
  sourceUrl: string;
  sourceModel: string;
  sourceApi: string;
  sourceTemplate?: string;
  sourceExtra?: string;
  maxTokens: string;
  temperature: string;
  topP: string;
  concurrency: string;
  timeoutMs: string;
  retries: string;
  apiKey?: string;
  lPre: string;
  unit: string;
  tokenizer?: string;
  iprReset?: string;
  seed: string;
  limit?: string;
  cacheDir?: string;
  out: string;
  json: boolean;
}

async function material(o: MaterialFlags): Promise<void> {
  let extra: Record<string, unknown> | undefined;
  if (o.sourceExtra !== undefined) {
    try {
      extra = JSON.parse(o.sourceExtra) as Record<string, unknown>;
    } catch {
      // reported below
    }
    if (!extra || typeof extra !== "object" || Array.isArray(extra))
      throw new RecapError(`--source-extra must be a JSON object, got ${o.sourceExtra}`);
  }
  const apiKey = o.apiKey ?? process.env["OPENAI_API_KEY"];
  const raw: AttackMaterialConfigInput = {
    suites: o.suite
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x !== ""),
    source: {
      url: o.sourceUrl,
      model: o.sourceModel,
      api: o.sourceApi as "chat" | "completions",
      ...(o.sourceTemplate ? { chat_template: o.sourceTemplate } : {}),
      ...(extra ? (o.sourceApi === "completions" ? { template_extra: extra } : { extra_body: extra }) : {}),
      max_tokens: intFlag(o.maxTokens, "--max-tokens", 1),
      temperature: numFlag(o.temperature, "--temperature"),
      top_p: numFlag(o.topP, "--top-p"),
      concurrency: intFlag(o.concurrency, "--concurrency", 1),
      timeout_ms: intFlag(o.timeoutMs, "--timeout-ms", 1),
      retries: intFlag(o.retries, "--retries", 0),
      ...(apiKey ? { api_key: apiKey } : {}),
    },
    l_pre: intFlag(o.lPre, "--l-pre", 1),
    unit: o.unit as "words" | "tokens",
    ...(o.tokenizer ? { tokenizer: o.tokenizer } : {}),
    ...(o.iprReset !== undefined ? { ipr_reset: o.iprReset } : {}),
    seed: intFlag(o.seed, "--seed", 0),
    ...(o.limit !== undefined ? { limit: intFlag(o.limit, "--limit", 1) } : {}),
    ...(o.cacheDir ? { cache_dir: o.cacheDir } : {}),
  };
  const cfg = validateConfig(raw, AttackMaterialConfigSchema, "recap data attack-material");
  const s = await runAttackMaterial(cfg, o.out);
  if (o.json) return printJson(s);
  const w = (l: string) => process.stdout.write(l + "\n");
  w(
    `attack material from ${s.source.model} at ${s.source.url}: ${s.samples.sampled} sampled, ${s.samples.cached} from the cache`,
  );
  const head = ["suite", "file", "rows", "with material", "thinking cut", "sha256"];
  const rows = s.suites.map((x) => [
    x.suite,
    path.join(s.out, x.file),
    String(x.rows),
    String(x.with_material),
    String(x.thinking_cut),
    x.sha256.slice(0, 16) + "…",
  ]);
  const wd = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  for (const r of [head, ...rows])
    w(
      r
        .map((x, j) => x.padEnd(wd[j]!))
        .join("  ")
        .trimEnd(),
    );
  const L = s.prefill_length,
    T = s.thinking_words;
  w(
    `prefill: ${L.unit} mean ${L.mean.toFixed(1)} (min ${L.min}, max ${L.max}), ${L.shorter_than_l_pre} shorter than l_pre ${L.l_pre}; whole thinking: words mean ${T.mean.toFixed(1)} (min ${T.min}, max ${T.max})`,
  );
  w(`ipr_reset: "${s.ipr_reset}"`);
  w(`summary: ${path.join(s.out, "summary.json")}`);
}

function printSummary(s: BuildSummary): void {
  const w = (l: string) => process.stdout.write(l + "\n");
  w(
    `wrote ${s.rows} rows to ${s.out}: ${s.prefilled} prefilled of ${s.eligible} safety / over-refusal prompts (alpha ${s.alpha}); math never prefilled`,
  );
  for (const [name, b] of Object.entries(s.by_set))
    w(`  ${name} (${b.kind}): ${b.total} rows, ${b.prefilled} prefilled`);
  const L = s.prefill_length;
  w(
    `prefills: ${s.samples.sampled} sampled, ${s.samples.cached} from the cache; length in ${L.unit} mean ${L.mean.toFixed(1)} (min ${L.min}, max ${L.max}), ${L.shorter_than_l_pre} shorter than l_pre ${L.l_pre}, ${L.empty} empty`,
  );
  const P = s.prompt_tokens;
  if (P) {
    const st = (x: { n: number; min: number; mean: number; max: number }) =>
      x.n ? `mean ${x.mean.toFixed(1)} (min ${x.min}, max ${x.max})` : "none";
    w(
      `prompt tokens: clean ${st(P.clean)}; prefilled ${st(P.prefilled)}` +
        (P.max_prompt_tokens !== null
          ? `; max_prompt_tokens ${P.max_prompt_tokens}: ${P.dropped.clean + P.dropped.prefilled} rows dropped (${P.dropped.prefilled} prefilled)`
          : ""),
    );
  }
  for (const f of s.files) w(`  ${f.file}  ${f.bytes} bytes  sha256 ${f.sha256.slice(0, 16)}…`);
}

async function build(o: BuildFlags): Promise<void> {
  const cfg = resolveConfigPaths(
    await loadConfigFile(o.config, DataBuildConfigSchema),
    path.dirname(path.resolve(o.config)),
  );
  printResolvedConfig("recap data build: resolved config", cfg);
  const summary = await runDataBuild(cfg, o.out);
  if (o.json) printJson(summary);
  else printSummary(summary);
}
