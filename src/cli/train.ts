// `recap train --config FILE --out DIR [--resume] [--max-steps N]`: DAPO / GRPO with or without
// RECAP prefills on the world's RL mixture; resumable exactly. A missing world folder is built and
// `base: shipped` names the committed base (src/demo/inputs.ts), so presets run from a fresh clone.
import * as path from "node:path";
import type { Command } from "commander";
import { prepareTrainInputs } from "../demo/inputs.ts";
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
        const configDir = path.dirname(path.resolve(o.config));
        const maxSteps = o.maxSteps !== undefined ? intFlag(o.maxSteps, "--max-steps", 1) : undefined;
        const config = await prepareTrainInputs(await loadConfigFile(o.config, TrainConfigSchema), configDir, (line) =>
          process.stderr.write(`${line}\n`),
        );
        printResolvedConfig(`recap train: resolved config (${o.config})`, config);
        const s = await runTrain({ config, configDir, out: o.out, resume: o.resume, maxSteps });
        if (o.json) printJson(s);
        else
          process.stderr.write(
            `train done: ${s.steps} steps, reward ${s.first_reward.toFixed(3)} -> ${s.last_reward.toFixed(3)}, ${s.seconds.toFixed(1)} s -> ${s.checkpoint}\n`,
          );
      }),
    );
}
