// The `recap` command line: one file per command, wired here.
import { Command } from "commander";
import { registerLogprobs } from "./logprobs.ts";
import { registerModel } from "./model.ts";
import { registerSample } from "./sample.ts";
import { registerSft } from "./sft.ts";

const program = new Command();
program
  .name("recap")
  .description("RECAP: robust safety alignment of reasoning models by counter-aligned prefilling")
  .version("0.1.0")
  .showHelpAfterError("(run with --help for usage)");
registerModel(program);
registerLogprobs(program);
registerSample(program);
registerSft(program);
await program.parseAsync(process.argv);
