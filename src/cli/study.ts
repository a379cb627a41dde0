// `recap study --config FILE [--out DIR] [--arms a,b] [--seeds 0,1,2] [--import STUDY_JSON]`: the reproduction study —
// named RL arms from one or more bases, each over several seeds, evaluated like the demo's models and
// aggregated with 95% intervals over runs (study.md / study.html / study.json, summary.json, plots).
// Re-running resumes; --arms runs a subset now and the rest later into the same folder; --import
// carries the runs of an earlier study.json when its folder is gone (src/study/imported.ts).
import * as fs from "node:fs";
import type { Command } from "commander";
import { checkStudyConfig, StudyConfigSchema } from "../study/config.ts";
import { runStudy } from "../study/run.ts";
import { loadConfigFile, printResolvedConfig, validateConfig } from "../util/config_file.ts";
import { action, intFlag, printJson } from "./common.ts";

interface StudyFlags {
  config: string;
  out: string;
  arms?: string;
  seeds?: string;
  import?: string;
  kernels?: string;
  json: boolean;
}

const list = (v: string) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

export function registerStudy(program: Command): void {
  program
    .command("study")
    .description(
      "the reproduction study: RL arms (DAPO, RECAP, sweeps, ablations) over RL seeds from one or more bases, with 95% intervals over runs (resumable)",
    )
    .requiredOption("--config <file>", "study config (YAML/JSON; e.g. configs/study-v6.yaml; see src/study/config.ts)")
    .option("--out <dir>", "output folder (re-run the same command to resume)", "runs/study")
    .option(
      "--arms <list>",
      "run only these arms now (comma-separated; the others are reported on the runs they finished before, or stay pending)",
    )
    .option("--seeds <list>", "override the config's seeds (comma-separated integers)")
    .option(
      "--import <study.json>",
      "an earlier study.json of this study: its runs count as finished where OUT lacks them (reported from their recorded values, named in the report); the others run",
    )
    .option(
      "--kernels <name>",
      "kernel implementation: ref | wasm | wasm-threads | wasm-fma | wasm-fma-threads (default: RECAP_KERNELS or the fastest available)",
    )
    .option("--json", "print study.json on stdout", false)
    .addHelpText(
      "after",
      "\nWrites OUT/study.md, OUT/study.html, OUT/study.json (every run's value), OUT/summary.json, OUT/plots/*.svg,\nOUT/bases/BASE/ (world, base, SFT baseline, guard) and OUT/arms/ARM/BASE/seedK/.",
    )
    .action(
      action(async (o: StudyFlags) => {
        const raw = await loadConfigFile(o.config, StudyConfigSchema);
        const withFlags = {
          ...raw,
          ...(o.seeds !== undefined ? { seeds: list(o.seeds).map((s) => intFlag(s, "--seeds", 0)) } : {}),
          ...(o.kernels ? { demo_overrides: { ...raw.demo_overrides, kernels: o.kernels } } : {}),
        };
        const config = checkStudyConfig(validateConfig(withFlags, StudyConfigSchema, o.config));
        printResolvedConfig(`recap study: resolved config (${o.config})`, config);
        const summary = await runStudy({
          config,
          out: o.out,
          ...(o.arms ? { arms: list(o.arms) } : {}),
          ...(o.import ? { importFrom: o.import } : {}),
          log: (l) => process.stderr.write(`study ${l}\n`),
        });
        if (o.json) printJson(JSON.parse(fs.readFileSync(summary.files.json, "utf8")));
        else {
          process.stdout.write(
            `${Object.keys(summary.arms).length} arm(s) finished over seeds ${summary.seeds.join(", ")}${summary.pending.length ? `; pending: ${summary.pending.join(", ")}` : ""}${
              Object.keys(summary.incomplete).length
                ? `; runs missing: ${Object.entries(summary.incomplete)
                    .map(([n, rs]) => `${n} ${rs.length}`)
                    .join(", ")}`
                : ""
            }${
              summary.imported
                ? `; imported from ${summary.imported.file}: ${Object.values(summary.imported.runs).reduce((t, rs) => t + rs.length, 0)} run(s)`
                : ""
            }\n`,
          );
          process.stdout.write(
            `tables: ${summary.files.markdown}\nreport: ${summary.files.html}\nstudy.json: ${summary.files.json}\nsummary: ${summary.files.summary}\n`,
          );
          for (const p of summary.files.plots) process.stdout.write(`plot: ${p}\n`);
          process.stdout.write(`seconds: ${summary.seconds.toFixed(0)}\n`);
        }
      }),
    );
}
