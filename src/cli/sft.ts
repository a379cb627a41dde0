// `recap sft --config FILE --out DIR [--resume] [--max-steps N]`: supervised fine-tuning of a
// checkpoint (or a fresh preset model) on chat-formatted JSONL; resumable.
import * as path from "node:path";
import type { Command } from "commander";
import { runSft } from "../train/sft.ts";
import { SftConfigSchema } from "../train/sft_config.ts";
import { loadConfigFile, printResolvedConfig } from "../util/config_file.ts";
import { action, intFlag, printJson } from "./common.ts";

export function registerSft(program: Command): void {
  program
    .command("sft")
    .description("supervised fine-tuning on chat-formatted JSONL (base LRM, pi_harm, pi_refuse, SFT baseline)")
    .requiredOption("--config <file>", "YAML/JSON config (see src/train/sft_config.ts for every knob)")
    .requiredOption("--out <dir>", "run folder: checkpoint/, metrics.jsonl, summary.json")
    .option("--resume", "continue the run in --out from its last checkpoint", false)
    .option("--max-steps <n>", "stop after this many total steps (the schedule still spans config.steps)")
    .option("--json", "print the summary as JSON on stdout", false)
    .action(
      action(async (o: { config: string; out: string; resume: boolean; maxSteps?: string; json: boolean }) => {
        const config = await loadConfigFile(o.config, SftConfigSchema);
        printResolvedConfig(`recap sft: resolved config (${o.config})`, config);
        const maxSteps = o.maxSteps !== undefined ? intFlag(o.maxSteps, "--max-steps", 1) : undefined;
        const summary = await runSft({
          config,
          configDir: path.dirname(path.resolve(o.config)),
          out: o.out,
          resume: o.resume,
          maxSteps,
        });
        if (o.json) printJson(summary);
        else
          process.stderr.write(
            `sft done: ${summary.steps} steps, loss ${summary.final_loss.toFixed(4)}, ${summary.seconds.toFixed(1)} s -> ${summary.checkpoint}\n`,
          );
      }),
    );
}
