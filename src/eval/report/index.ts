// `recap report`: reads run folders and writes the HTML report and its Markdown twin (same path,
// `.md`), both atomically.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../../util/atomic.ts";
import { RecapError } from "../../util/errors.ts";
import { loadRuns } from "./data.ts";
import { reportHtml } from "./html.ts";
import { reportMarkdown } from "./markdown.ts";

export interface ReportOptions {
  title?: string;
  examplesPerSuite?: number;
}

/** Writes `out` (.html) and the Markdown version beside it; returns both paths. */
export async function writeReport(
  runDirs: string[],
  out: string,
  o: ReportOptions = {},
): Promise<{ html: string; markdown: string }> {
  if (!/\.html?$/i.test(out)) throw new RecapError(`--out must name an .html file, got ${out}`);
  const runs = loadRuns(runDirs);
  const md = out.replace(/\.html?$/i, ".md");
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  await writeFileAtomic(out, reportHtml(runs, o));
  await writeFileAtomic(md, reportMarkdown(runs, o));
  return { html: path.resolve(out), markdown: path.resolve(md) };
}
