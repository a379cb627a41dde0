// `recap data build --config FILE --out DIR [--json]`: RECAP training data for real reasoning
// models — counter-aligned prefills sampled from pi_harm / pi_refuse endpoints (cached, resumable:
// rerun the same command after a crash), cut to l_pre words or tokens, mixed at rate alpha, rendered
// with the policy's chat template, exported for OpenRLHF (JSONL), TRL (JSONL) and verl (parquet).
// File paths in the config are relative to its folder. The resolved config goes to stderr at start; --json prints the build summary on stdout.
import * as path from "node:path";
import type { Command } from "commander";
import { runDataBuild } from "../data/build/build.ts";
import type { BuildSummary } from "../data/build/build.ts";
import { DataBuildConfigSchema, resolveConfigPaths } from "../data/build/config.ts";
import { loadConfigFile, printResolvedConfig } from "../util/config_file.ts";
import { action, printJson } from "./common.ts";

interface BuildFlags {
  config: string;
  out: string;
  json: boolean;
}

export function registerData(program: Command): void {
  const data = program.command("data").description("training data for real reasoning models");
  data
    .command("build")
    .description("build the RECAP mixture (counter-aligned prefills from endpoints) and export it for OpenRLHF / TRL / verl")
    .requiredOption("--config <file>", "YAML/JSON config: prompts, policy chat template, recap {alpha, l_pre, unit}, endpoints {pi_harm, pi_refuse}, export")
    .requiredOption("--out <dir>", "output folder (exports, summary.json, and the prefill cache under cache/ unless cache_dir is set)")
    .option("--json", "print the build summary as JSON on stdout", false)
    .addHelpText("after", "\nEvery config knob (meaning, default, paper value) is documented in src/data/build/config.ts;\nan annotated example and the engines' commands are in docs/SCALING.md. Paths are relative to the config file.")
    .action(action(async (o: BuildFlags) => build(o)));
}

function printSummary(s: BuildSummary): void {
  const w = (l: string) => process.stdout.write(l + "\n");
  w(`wrote ${s.rows} rows to ${s.out}: ${s.prefilled} prefilled of ${s.eligible} safety / over-refusal prompts (alpha ${s.alpha}); math never prefilled`);
  for (const [name, b] of Object.entries(s.by_set)) w(`  ${name} (${b.kind}): ${b.total} rows, ${b.prefilled} prefilled`);
  const L = s.prefill_length;
  w(`prefills: ${s.samples.sampled} sampled, ${s.samples.cached} from the cache; length in ${L.unit} mean ${L.mean.toFixed(1)} (min ${L.min}, max ${L.max}), ${L.shorter_than_l_pre} shorter than l_pre ${L.l_pre}, ${L.empty} empty`);
  const P = s.prompt_tokens;
  if (P) {
    const st = (x: { n: number; min: number; mean: number; max: number }) => (x.n ? `mean ${x.mean.toFixed(1)} (min ${x.min}, max ${x.max})` : "none");
    w(`prompt tokens: clean ${st(P.clean)}; prefilled ${st(P.prefilled)}` + (P.max_prompt_tokens !== null ? `; max_prompt_tokens ${P.max_prompt_tokens}: ${P.dropped.clean + P.dropped.prefilled} rows dropped (${P.dropped.prefilled} prefilled)` : ""));
  }
  for (const f of s.files) w(`  ${f.file}  ${f.bytes} bytes  sha256 ${f.sha256.slice(0, 16)}…`);
}

async function build(o: BuildFlags): Promise<void> {
  const cfg = resolveConfigPaths(await loadConfigFile(o.config, DataBuildConfigSchema), path.dirname(path.resolve(o.config)));
  printResolvedConfig("recap data build: resolved config", cfg);
  const summary = await runDataBuild(cfg, o.out);
  if (o.json) printJson(summary);
  else printSummary(summary);
}
