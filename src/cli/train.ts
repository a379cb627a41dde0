// `recap train --config FILE --out DIR [--resume] [--max-steps N]`: DAPO / GRPO with or without
// RECAP prefills on the world's RL mixture; resumable exactly.
import * as path from "node:path";
import type { Command } from "commander";
import { runTrain } from "../train/rl.ts";
import { TrainConfigSchema } from "../train/rl_config.ts";
import { loadConfigFile, printResolvedConfig } from "../util/config_file.ts";
import { action, intFlag, printJson } from "./common.ts";

export function registerTrain(program: Command): void {
  program
    .command("train")
    .description("RL post-training (DAPO / GRPO) with or without RECAP counter-aligned prefills")
    .requiredOption("--config <file>", "YAML/JSON config (presets in configs/; every knob in src/train/rl_config.ts)")
    .requiredOption("--out <dir>", "run folder: checkpoint/, metrics.jsonl, summary.json")
    .option("--resume", "continue the run in --out from its last checkpoint", false)
    .option("--max-steps <n>", "stop after this many total steps")
    .option("--json", "print the summary as JSON on stdout", false)
    .action(
      action(async (o: { config: string; out: string; resume: boolean; maxSteps?: string; json: boolean }) => {
        const config = await loadConfigFile(o.config, TrainConfigSchema);
        printResolvedConfig(`recap train: resolved config (${o.config})`, config);
        const maxSteps = o.maxSteps !== undefined ? intFlag(o.maxSteps, "--max-steps", 1) : undefined;
        const s = await runTrain({ config, configDir: path.dirname(path.resolve(o.config)), out: o.out, resume: o.resume, maxSteps });
        if (o.json) printJson(s);
        else process.stderr.write(`train done: ${s.steps} steps, reward ${s.first_reward.toFixed(3)} -> ${s.last_reward.toFixed(3)}, ${s.seconds.toFixed(1)} s -> ${s.checkpoint}\n`);
      }),
    );
}
