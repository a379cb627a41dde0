// `recap eval`: suites x attacks through a model (embedded checkpoint, GGUF file or an
// OpenAI-compatible endpoint) and a grader, into OUT/results.jsonl and OUT/summary.json.
// Re-running the same command resumes. See docs/EVAL.md.
import type { Command } from "commander";
import { parseAttackList } from "../eval/attacks/index.ts";
import { resolveGrader } from "../graders/resolve.ts";
import type { Grader } from "../graders/types.ts";
import type { CellSummary } from "../eval/metrics.ts";
import { HttpOptionsSchema } from "../lm/providers/http.ts";
import { openProvider } from "../lm/providers/index.ts";
import { runEval } from "../eval/runner.ts";
import type { Interval } from "../eval/stats.ts";
import { resolveSuites } from "../eval/suites.ts";
import type { LoadedSuite } from "../eval/suites.ts";
import { RecapError } from "../util/errors.ts";
import { action, intFlag, numFlag, printJson } from "./common.ts";

interface EvalFlags {
  model?: string;
  endpoint?: string;
  modelName?: string;
  api?: string;
  chatTemplate?: string;
  templateExtra?: string;
  suite: string;
  world?: string;
  attacks: string;
  grader?: string;
  judgeUrl?: string;
  judgeModel?: string;
  judgeApi?: string;
  judgeTemplate?: string;
  judgeExtra?: string;
  limit?: string;
  n: string;
  seed: string;
  maxNewTokens?: string;
  temperature: string;
  topP: string;
  stop?: string[];
  concurrency: string;
  timeoutMs: string;
  retries: string;
  apiKey?: string;
  logprobs: boolean;
  iprReset?: string;
  flips: boolean;
  kernels?: string;
  batch?: string;
  out: string;
  json: boolean;
}

export function registerEval(program: Command): void {
  program
    .command("eval")
    .description("evaluate a model on suites x attacks (clean, prefill, hijack, ipr:K, jailbreak); resumable")
    .option("--model <path>", "a checkpoint folder (embedded) or a .gguf file (node-llama-cpp)")
    .option("--endpoint <url>", "an OpenAI-compatible server (vLLM, SGLang, llama.cpp, recap serve)")
    .option("--model-name <name>", "the served model's name (with --endpoint)")
    .option(
      "--api <api>",
      "endpoint API: completions (prompt rendered from --chat-template; exact prefills and hijacks) or chat (default: completions when --chat-template is given, else chat)",
    )
    .option("--chat-template <file>", "the model's chat template: tokenizer_config.json or .jinja")
    .option("--template-extra <json>", "extra chat-template variables as JSON, e.g. '{\"enable_thinking\":true}'")
    .requiredOption(
      "--suite <list>",
      "suites, comma-separated: a world suite name (with --world), a JSONL file, or FORMAT:FILE (e.g. strongreject:data.csv)",
    )
    .option("--world <dir>", "a world build folder: suite names map to DIR/suites/NAME.jsonl")
    .requiredOption(
      "--attacks <list>",
      "attacks, comma-separated: clean, prefill[:weak|strong|aligned|heldout|text:FILE][@N[w|t]], hijack, jailbreak[:NAME], ipr:K[...], joined with + to compose",
    )
    .option("--grader <name>", "grader (default: world for world suites, math for math-only suites, else none)")
    .option("--judge-url <url>", "judge endpoint for rubric / strongreject / granite-guardian / llama-guard")
    .option("--judge-model <name>", "the judge's served model name")
    .option("--judge-api <api>", "judge API: chat (default) or completions (needs --judge-template)")
    .option("--judge-template <file>", "the judge's chat template (completions API)")
    .option("--judge-extra <json>", "extra JSON body fields for judge calls, e.g. chat_template_kwargs")
    .option("--limit <n>", "only the first N rows of every suite")
    .option("--n <n>", "samples per item (pass@k uses them)", "1")
    .option("--seed <s>", "base seed", "0")
    .option("--max-new-tokens <n>", "tokens to generate at most (default 128 for --model, 1024 for --endpoint)")
    .option("--temperature <t>", "sampling temperature (0 = greedy)", "1")
    .option("--top-p <p>", "nucleus sampling mass (1 = off)", "1")
    .option("--stop <str...>", "stop strings")
    .option("--concurrency <n>", "endpoint requests in flight", "8")
    .option("--timeout-ms <n>", "per-request timeout (ms)", "120000")
    .option("--retries <n>", "retries on 429 / 5xx / timeouts / connection errors", "4")
    .option("--api-key <key>", "bearer token for the endpoint and judge (default: OPENAI_API_KEY)")
    .option("--logprobs", "ask the endpoint for token logprobs (exact CoT / response token split)", false)
    .option("--ipr-reset <text>", "IPR reset phrase for rows without their own ipr texts")
    .option("--flips", "also grade the first draft of reflected samples (verdict flips)", false)
    .option("--kernels <name>", "kernel implementation for --model (default: RECAP_KERNELS or the fastest available)")
    .option("--batch <n>", "rows per sampler batch for --model", "32")
    .requiredOption("--out <dir>", "output folder (results.jsonl, summary.json); re-run to resume")
    .option("--json", "print the summary as JSON on stdout", false)
    .action(action(async (o: EvalFlags) => run(o)));
}

function jsonFlag(v: string | undefined, flag: string): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  try {
    const j = JSON.parse(v) as unknown;
    if (j && typeof j === "object" && !Array.isArray(j)) return j as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new RecapError(`${flag} must be a JSON object, got ${v}`);
}

function apiFlag(v: string | undefined, flag: string): "chat" | "completions" | undefined {
  if (v === undefined || v === "chat" || v === "completions") return v;
  throw new RecapError(`${flag} must be chat or completions, got "${v}"`);
}

/** The default grader: world for world suites, math when every row is math, else none. */
function defaultGrader(suites: LoadedSuite[]): string | undefined {
  const rows = suites.flatMap((s) => s.rows);
  if (rows.every((r) => typeof r["world"] === "string")) return "world";
  if (rows.every((r) => r.domain === "math" || r["label"] === "math" || typeof r["gold"] === "string")) return "math";
  return undefined;
}

async function run(o: EvalFlags): Promise<void> {
  const n = intFlag(o.n, "--n", 1),
    seed = intFlag(o.seed, "--seed", 0);
  const limit = o.limit !== undefined ? intFlag(o.limit, "--limit", 1) : undefined;
  const temperature = numFlag(o.temperature, "--temperature"),
    topP = numFlag(o.topP, "--top-p");
  if (temperature < 0) throw new RecapError(`--temperature must be >= 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new RecapError(`--top-p must be in (0, 1], got ${topP}`);
  const maxTokens =
    o.maxNewTokens !== undefined ? intFlag(o.maxNewTokens, "--max-new-tokens", 1) : o.endpoint ? 1024 : 128;
  const apiKey = o.apiKey ?? process.env["OPENAI_API_KEY"];
  const http = HttpOptionsSchema.parse({
    concurrency: intFlag(o.concurrency, "--concurrency", 1),
    timeoutMs: intFlag(o.timeoutMs, "--timeout-ms", 1),
    retries: intFlag(o.retries, "--retries", 0),
    ...(apiKey ? { apiKey } : {}),
  });
  parseAttackList(o.attacks); // spec errors before any model is loaded
  const suites = await resolveSuites(o.suite, o.world);
  const graderName = o.grader ?? defaultGrader(suites);
  const judgeApi = apiFlag(o.judgeApi, "--judge-api");
  const judgeExtra = jsonFlag(o.judgeExtra, "--judge-extra");
  const grader: Grader | undefined =
    graderName !== undefined
      ? resolveGrader(graderName, {
          ...(o.judgeUrl ? { url: o.judgeUrl } : {}),
          ...(o.judgeModel ? { model: o.judgeModel } : {}),
          ...(judgeApi ? { api: judgeApi } : {}),
          ...(o.judgeTemplate ? { template: o.judgeTemplate } : {}),
          ...(judgeExtra ? { extraBody: judgeExtra } : {}),
          http,
        })
      : undefined;
  const api = apiFlag(o.api, "--api");
  const templateExtra = jsonFlag(o.templateExtra, "--template-extra");
  const provider = await openProvider({
    ...(o.model !== undefined ? { model: o.model } : {}),
    ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
    ...(o.modelName ? { modelName: o.modelName } : {}),
    ...(api ? { api } : {}),
    ...(o.chatTemplate ? { chatTemplate: o.chatTemplate } : {}),
    ...(templateExtra ? { templateExtra } : {}),
    logprobs: o.logprobs,
    ...(o.kernels ? { kernels: o.kernels } : {}),
    batchRows: intFlag(o.batch ?? "32", "--batch", 1),
    http,
  });
  const tok = provider.tokenizer?.();
  const attacks = parseAttackList(o.attacks, {
    ...(tok ? { tokenizer: tok } : {}),
    ...(o.iprReset !== undefined ? { resetPhrase: o.iprReset } : {}),
  });
  try {
    const summary = await runEval({
      provider,
      ...(grader ? { grader } : {}),
      suites,
      attacks,
      n,
      ...(limit !== undefined ? { limit } : {}),
      outDir: o.out,
      flips: o.flips,
      params: { maxTokens, temperature, topP, seed, ...(o.stop?.length ? { stop: o.stop } : {}) },
      identity: {
        ...(o.iprReset !== undefined ? { iprReset: o.iprReset } : {}),
        ...(o.chatTemplate ? { chatTemplate: o.chatTemplate } : {}),
        ...(templateExtra ? { templateExtra } : {}),
        ...(o.judgeModel ? { judgeModel: o.judgeModel } : {}),
      },
      onStart: (line) => process.stderr.write(`eval: ${line}\n`),
    });
    if (o.json) printJson(summary);
    else printTable(summary.cells);
  } finally {
    await provider.close?.();
  }
}

function fmt(i: Interval | undefined, pct = true): string {
  if (!i || !Number.isFinite(i.value)) return "-";
  const f = (x: number) => (pct ? (100 * x).toFixed(1) : x.toFixed(1));
  return `${f(i.value)} [${f(i.lo)}, ${f(i.hi)}]`;
}

function printTable(cells: CellSummary[]): void {
  const rows = cells.map((c) => [
    c.suite,
    c.attack,
    String(c.items - c.errors - c.skipped),
    c.skipped ? String(c.skipped) : "",
    fmt(c.safety),
    fmt(c.helpfulness),
    fmt(c.pass_at_k?.["1"]),
    fmt(c.reflection),
    fmt(c.tokens.cot, false),
    fmt(c.tokens.response, false),
    c.errors ? String(c.errors) : "",
  ]);
  const head = [
    "suite",
    "attack",
    "items",
    "skipped",
    "safety %",
    "help %",
    "pass@1 %",
    "reflect %",
    "cot tok",
    "resp tok",
    "errors",
  ];
  const w = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  for (const r of [head, ...rows])
    process.stdout.write(
      r
        .map((x, j) => x.padEnd(w[j]!))
        .join("  ")
        .trimEnd() + "\n",
    );
}
