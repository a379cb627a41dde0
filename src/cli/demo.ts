// `recap demo [--preset quick|full] [--config FILE] [--out DIR]`: the whole method on the CPU —
// world → base reasoning model → SFT baseline, DAPO and RECAP → attacks → report.html,
// summary.json and Table 2 in miniature on stdout. Re-running resumes finished stages.
import type { Command } from "commander";
import { DEMO_PRESETS, DEMO_PRESET_NAMES, DemoConfigSchema, checkDemoConfig, mergeDeep } from "../demo/config.ts";
import { runDemo } from "../demo/run.ts";
import { printResolvedConfig, readOverridesFile, validateConfig } from "../util/config_file.ts";
import { RecapError } from "../util/errors.ts";
import { action, intFlag, printJson } from "./common.ts";

interface DemoFlags {
  preset: string;
  config?: string;
  out: string;
  kernels?: string;
  seed?: string;
  json: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "the whole method on the CPU: world → base LRM → SFT baseline, DAPO, RECAP → attacks → report (resumable)",
    )
    .option(
      "--preset <name>",
      `budget: ${DEMO_PRESET_NAMES.join(" | ")} (quick: about 6 minutes on 2 cores, full: about 1 hour)`,
      "quick",
    )
    .option("--config <file>", "YAML/JSON overriding any knob of the preset (see src/demo/config.ts)")
    .option("--out <dir>", "output folder (re-run the same command to resume)", "runs/demo")
    .option(
      "--kernels <name>",
      "kernel implementation: ref | wasm | wasm-threads | wasm-fma | wasm-fma-threads (default: RECAP_KERNELS or the fastest available)",
    )
    .option("--seed <n>", "seed of the DAPO and RECAP runs (both share it; default: the preset's rl.seed, 0)")
    .option("--json", "print summary.json on stdout", false)
    .addHelpText("after", "\nWrites OUT/report.html (+ .md), OUT/summary.json, OUT/table.txt and one folder per stage.")
    .action(
      action(async (o: DemoFlags) => {
        const base = DEMO_PRESETS[o.preset];
        if (base === undefined)
          throw new RecapError(`unknown preset "${o.preset}"`, `presets: ${DEMO_PRESET_NAMES.join(", ")}`);
        const flags = {
          ...(o.kernels ? { kernels: o.kernels } : {}),
          ...(o.seed !== undefined ? { rl: { seed: intFlag(o.seed, "--seed", 0) } } : {}),
        };
        const merged = mergeDeep(mergeDeep(base, await readOverridesFile(o.config)), flags);
        const config = checkDemoConfig(validateConfig(merged, DemoConfigSchema, o.config ?? `preset ${o.preset}`));
        printResolvedConfig(
          `recap demo: resolved config (preset ${o.preset}${o.config ? ` + ${o.config}` : ""})`,
          config,
        );
        const { summary, table } = await runDemo({
          config,
          preset: o.preset,
          out: o.out,
          log: (l) => process.stderr.write(`demo ${l}\n`),
        });
        if (o.json) printJson(summary);
        else {
          process.stdout.write(
            `\nTable 2 in miniature (${summary.world_version}; rates in %, ${config.eval.limit} held-out items per suite; 95% intervals in summary.json)\n`,
          );
          process.stdout.write(table);
          process.stdout.write(
            `\nreport: ${summary.files.report}\nsummary: ${summary.files.summary}\nseconds: ${summary.seconds.toFixed(0)} (base: ${summary.base_source})\n`,
          );
        }
      }),
    );
}
