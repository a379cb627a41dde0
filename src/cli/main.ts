// The `recap` command line: one file per command, wired here.
import { Command } from "commander";
import { registerLogprobs } from "./logprobs.ts";
import { registerGrade } from "./grade.ts";
import { registerModel } from "./model.ts";
import { registerWorld } from "./world.ts";
import { registerSample } from "./sample.ts";
import { registerSft } from "./sft.ts";
import { registerTrain } from "./train.ts";
import { registerExport } from "./export.ts";
import { registerServe } from "./serve.ts";
import { registerEval } from "./eval.ts";
import { registerReport } from "./report.ts";
import { registerDemo } from "./demo.ts";
import { registerStudy } from "./study.ts";
import { registerData } from "./data.ts";
import { registerReward } from "./reward.ts";

const program = new Command();
program
  .name("recap")
  .description("RECAP: robust safety alignment of reasoning models by counter-aligned prefilling")
  .version("0.1.0")
  .showHelpAfterError("(run with --help for usage)");
registerDemo(program);
registerStudy(program);
registerModel(program);
registerWorld(program);
registerLogprobs(program);
registerGrade(program);
registerSample(program);
registerSft(program);
registerTrain(program);
registerExport(program);
registerServe(program);
registerEval(program);
registerReport(program);
registerData(program);
registerReward(program);
await program.parseAsync(process.argv);
