// The benchmark loaders by name. Every loader is `(file) => Promise<rows>`, each row at least
// `{ id, prompt }` plus the source's own fields; `loadBenchmark(name, file)` picks one by name and
// an unknown name lists the valid ones.
import { RecapError } from "../../util/errors.ts";
import { loadAime, loadGsm8k, loadMath500 } from "./math.ts";
import { loadPromptFile } from "./prompt_file.ts";
import { loadHarmBench, loadStrongReject, loadXSTestCompletions, loadXSTestPrompts } from "./safety.ts";
import { loadBeaverTails, loadFortress, loadStar1, loadWildJailbreak } from "./training.ts";

export * from "./math.ts";
export * from "./prompt_file.ts";
export * from "./safety.ts";
export * from "./training.ts";
export { parseCsv, parseCsvObjects } from "./csv.ts";
export type { CsvRecord, CsvRow, CsvOptions } from "./csv.ts";
export { readRows, readText, formatOf } from "./table.ts";
export type { SourceRow, TableFormat } from "./table.ts";

export interface BaseRow {
  id: string;
  prompt: string;
}

export type Loader = (file: string) => Promise<BaseRow[]>;

export const BENCHMARK_LOADERS: Readonly<Record<string, Loader>> = {
  strongreject: loadStrongReject,
  xstest: loadXSTestPrompts,
  "xstest-completions": loadXSTestCompletions,
  harmbench: loadHarmBench,
  gsm8k: loadGsm8k,
  math500: loadMath500,
  aime: loadAime,
  wildjailbreak: loadWildJailbreak,
  fortress: loadFortress,
  beavertails: loadBeaverTails,
  star1: (file) => loadStar1(file),
  prompts: loadPromptFile,
};

/** Loads `file` with the loader called `name`. */
export async function loadBenchmark(name: string, file: string): Promise<BaseRow[]> {
  const loader = BENCHMARK_LOADERS[name];
  if (!loader)
    throw new RecapError(
      `unknown benchmark format "${name}"`,
      `use one of: ${Object.keys(BENCHMARK_LOADERS).join(", ")}`,
    );
  return loader(file);
}
