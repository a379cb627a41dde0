// Suites: what `--suite` names. A suite is one of
//   NAME            a world suite, DIR/suites/NAME.jsonl under `--world DIR` (the world build's layout)
//   FILE.jsonl      a JSONL file of suite rows `{id, prompt, ...}` (see types.ts SuiteRowSchema)
//   FORMAT:FILE     a real benchmark file read by its loader (src/eval/loaders: strongreject,
//                   xstest, harmbench, gsm8k, math500, aime, wildjailbreak, fortress, ...)
// Rows are validated (file and line in every error) and ids must be unique within a suite. Each
// row's domain (harmful / benign / math) decides which metric it feeds: the row's `domain`, else a
// boolean `harmful` (WildJailbreak's loader, from data_type: its adversarial_benign rows are
// benign), else its `label` (the world's harmful / benign / math; XSTest's unsafe / safe), else
// the suite name.
import * as fs from "node:fs";
import * as path from "node:path";
import { BENCHMARK_LOADERS, loadBenchmark } from "./loaders/index.ts";
import { RecapError } from "../util/errors.ts";
import type { Domain, SuiteRow } from "./types.ts";
import { SuiteRowSchema } from "./types.ts";
import { zodIssues } from "../util/zod_issues.ts";

export interface LoadedSuite {
  /** Results key: the world name, the JSONL file's base name, or the loader name. */
  name: string;
  /** Where the rows came from. */
  source: string;
  rows: SuiteRow[];
}

/** Validates raw rows into suite rows; `where(i)` names row i in errors, `file` the whole. */
export function validateRows(raw: unknown[], file: string, where: (i: number) => string): SuiteRow[] {
  const rows: SuiteRow[] = [];
  const seen = new Set<string>();
  raw.forEach((r, i) => {
    const p = SuiteRowSchema.safeParse(r);
    if (!p.success) {
      const msg = zodIssues(p.error, "(row)");
      throw new RecapError(
        `${where(i)}: invalid suite row: ${msg}`,
        "a suite row needs at least a string `id` and a non-empty `prompt`",
      );
    }
    if (seen.has(p.data.id))
      throw new RecapError(`${where(i)}: duplicate id "${p.data.id}"`, "ids must be unique within a suite");
    seen.add(p.data.id);
    rows.push(p.data);
  });
  if (rows.length === 0) throw new RecapError(`${file}: the suite has no rows`);
  return rows;
}

/** Reads a JSONL suite file. */
export function readSuiteJsonl(file: string): SuiteRow[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new RecapError(`cannot read suite file ${file}`);
  }
  const raw: unknown[] = [],
    lines: number[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      raw.push(JSON.parse(line));
    } catch {
      throw new RecapError(`${file}:${i + 1}: not valid JSON`);
    }
    lines.push(i + 1);
  });
  return validateRows(raw, file, (i) => `${file}:${lines[i] ?? 0}`);
}

/** Resolves one `--suite` entry (see the module comment). */
export async function resolveSuite(spec: string, worldDir?: string): Promise<LoadedSuite> {
  const colon = spec.indexOf(":");
  const format = colon > 0 ? spec.slice(0, colon) : "";
  if (format in BENCHMARK_LOADERS) {
    const file = spec.slice(colon + 1);
    const raw = await loadBenchmark(format, file);
    return { name: format, source: file, rows: validateRows(raw, file, (i) => `${file} row ${i + 1}`) };
  }
  if (spec.endsWith(".jsonl") || fs.existsSync(spec)) {
    if (!fs.existsSync(spec)) throw new RecapError(`suite file not found: ${spec}`);
    return { name: path.basename(spec).replace(/\.jsonl$/, ""), source: spec, rows: readSuiteJsonl(spec) };
  }
  if (worldDir !== undefined) {
    const file = path.join(worldDir, "suites", `${spec}.jsonl`);
    if (fs.existsSync(file)) return { name: spec, source: file, rows: readSuiteJsonl(file) };
    const dir = path.join(worldDir, "suites");
    const have = fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((f) => f.endsWith(".jsonl"))
          .map((f) => f.slice(0, -6))
      : [];
    throw new RecapError(
      `no suite "${spec}" in ${dir}`,
      have.length ? `world suites: ${have.join(", ")}` : "build the world first (recap world build)",
    );
  }
  throw new RecapError(
    `unknown suite "${spec}"`,
    `pass a JSONL file, a world suite name with --world DIR, or FORMAT:FILE with FORMAT one of ${Object.keys(BENCHMARK_LOADERS).join(", ")}`,
  );
}

/** Resolves a comma-separated `--suite` list (names must be distinct). */
export async function resolveSuites(list: string, worldDir?: string): Promise<LoadedSuite[]> {
  const specs = list
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (specs.length === 0) throw new RecapError("no suite given");
  const suites: LoadedSuite[] = [];
  for (const s of specs) suites.push(await resolveSuite(s, worldDir));
  const names = suites.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new RecapError(`two suites are both named "${dup}"`, "give the files distinct base names");
  return suites;
}

const BY_NAME: [RegExp, Domain][] = [
  [/math|gsm8k|aime/i, "math"],
  [/benign|borderline|xstest|overrefus|star1|fortress_?or|helpful/i, "benign"],
  [/harm|jailbreak|strongreject|fortress|beavertails|advbench|heldout_flaw|unsafe/i, "harmful"],
];

/** The domain of a row (see the module comment); undefined when nothing says. */
export function rowDomain(row: SuiteRow, suiteName: string): Domain | undefined {
  if (row.domain) return row.domain;
  if (typeof row["harmful"] === "boolean") return row["harmful"] ? "harmful" : "benign"; // WildJailbreak's loader (from data_type)
  const label = row["label"];
  if (label === "harmful" || label === "benign" || label === "math") return label;
  if (label === "unsafe") return "harmful";
  if (label === "safe") return "benign";
  return BY_NAME.find(([re]) => re.test(suiteName))?.[1];
}
