// `recap report RUN_DIR... --out FILE.html`: one self-contained HTML report (inline CSS and SVG)
// comparing eval runs, plus a Markdown version beside it (FILE.md).
import type { Command } from "commander";
import { writeReport } from "../eval/report/index.ts";
import { action, intFlag, printJson } from "./common.ts";

interface ReportFlags {
  out: string;
  title?: string;
  examples: string;
  json: boolean;
}

export function registerReport(program: Command): void {
  program
    .command("report <runDirs...>")
    .description(
      "HTML report (and Markdown) comparing `recap eval` run folders: Table-2-style table, IPR, token budget, J(beta), examples",
    )
    .requiredOption("--out <file.html>", "the HTML file to write (the Markdown goes beside it, .md)")
    .option("--title <text>", "report title")
    .option("--examples <n>", "example items per suite in the drill-down", "3")
    .option("--json", "print the written paths as JSON", false)
    .action(
      action(async (runDirs: string[], o: ReportFlags) => {
        const paths = await writeReport(runDirs, o.out, {
          examplesPerSuite: intFlag(o.examples, "--examples", 0),
          ...(o.title ? { title: o.title } : {}),
        });
        if (o.json) printJson(paths);
        else process.stdout.write(`wrote ${paths.html}\nwrote ${paths.markdown}\n`);
      }),
    );
}
