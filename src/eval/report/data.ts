// What a report reads from run folders (summary.json, results.jsonl) and the views both the HTML
// and the Markdown report are built from: the comparison columns, a cell's metrics, IPR series.
import * as fs from "node:fs";
import * as path from "node:path";
import { RecapError } from "../../util/errors.ts";
import type { CellSummary, JCurve } from "../metrics.ts";
import type { ResultLine } from "../results.ts";
import { readResults } from "../results.ts";
import type { Interval } from "../stats.ts";

export interface RunData {
  name: string;
  dir: string;
  provider: string;
  grader: string;
  cells: CellSummary[];
  jCurves: JCurve[];
  lines: ResultLine[];
}

/** Loads one run folder (summary.json required; results.jsonl for the examples). */
export function loadRun(dir: string, name: string): RunData {
  const file = path.join(dir, "summary.json");
  let s: {
    cells?: CellSummary[];
    j_curves?: JCurve[];
    run?: { identity?: { provider?: string; grader?: string | null } };
  };
  try {
    s = JSON.parse(fs.readFileSync(file, "utf8")) as typeof s;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new RecapError(
      `${file}: ${code === "ENOENT" ? "not found" : "not valid JSON"}`,
      "pass folders written by `recap eval`",
    );
  }
  if (!Array.isArray(s.cells)) throw new RecapError(`${file} has no cells`, "pass folders written by `recap eval`");
  const results = path.join(dir, "results.jsonl");
  return {
    name,
    dir,
    cells: s.cells,
    jCurves: s.j_curves ?? [],
    provider: s.run?.identity?.provider ?? "?",
    grader: s.run?.identity?.grader ?? "none",
    lines: fs.existsSync(results) ? readResults(results) : [],
  };
}

/** Loads run folders, naming each by its base name (parent/base when two share one). */
export function loadRuns(dirs: string[]): RunData[] {
  if (dirs.length === 0) throw new RecapError("give at least one run folder");
  const bases = dirs.map((d) => path.basename(path.resolve(d)));
  return dirs.map((d, i) => {
    const clash = bases.filter((b) => b === bases[i]).length > 1;
    const abs = path.resolve(d);
    return loadRun(d, clash ? `${path.basename(path.dirname(abs))}/${bases[i]}` : bases[i]!);
  });
}

export interface Column {
  suite: string;
  attack: string;
}

/** Every suite x attack cell of any run, in order of first appearance. */
export function columns(runs: RunData[]): Column[] {
  const seen = new Map<string, Column>();
  for (const r of runs)
    for (const c of r.cells) seen.set(JSON.stringify([c.suite, c.attack]), { suite: c.suite, attack: c.attack });
  return [...seen.values()];
}

export function cellOf(r: RunData, col: Column): CellSummary | undefined {
  return r.cells.find((c) => c.suite === col.suite && c.attack === col.attack);
}

export interface Metric {
  name: string;
  iv: Interval;
  percent: boolean;
}

/** The headline metrics of a cell: safety, helpfulness, pass@1 (those present), else the score. */
export function metricsOf(c: CellSummary | undefined): Metric[] {
  if (!c) return [];
  const out: Metric[] = [];
  if (c.safety) out.push({ name: "safety", iv: c.safety, percent: true });
  if (c.helpfulness) out.push({ name: "helpfulness", iv: c.helpfulness, percent: true });
  if (c.pass_at_k?.["1"]) out.push({ name: "pass@1", iv: c.pass_at_k["1"], percent: true });
  if (out.length === 0 && c.score) out.push({ name: "score", iv: c.score, percent: false });
  return out;
}

export function fmtValue(v: number, percent: boolean): string {
  if (!Number.isFinite(v)) return "–";
  return percent ? (100 * v).toFixed(1) : v.toFixed(2);
}

export function fmtInterval(m: Metric): { value: string; ci: string } {
  return {
    value: fmtValue(m.iv.value, m.percent),
    ci: Number.isFinite(m.iv.lo) ? `[${fmtValue(m.iv.lo, m.percent)}, ${fmtValue(m.iv.hi, m.percent)}]` : "",
  };
}

/** IPR families: attacks `ipr:K…` grouped by everything but K, per suite; x = K. */
export function iprFamilies(runs: RunData[]): { suite: string; family: string; ks: number[] }[] {
  const fam = new Map<string, Set<number>>();
  for (const col of columns(runs)) {
    const m = /^(.*?)ipr:(\d+)(.*)$/.exec(col.attack);
    if (!m) continue;
    const key = JSON.stringify([col.suite, `${m[1]}ipr:K${m[3]}`]);
    fam.set(key, (fam.get(key) ?? new Set()).add(Number(m[2])));
  }
  return [...fam].map(([k, ks]) => {
    const [suite, family] = JSON.parse(k) as [string, string];
    return { suite, family, ks: [...ks].sort((a, b) => a - b) };
  });
}

/** A few example lines of a suite x attack in a run (the same ids across runs). */
export function examples(r: RunData, col: Column, ids: string[]): ResultLine[] {
  return ids
    .map((id) => r.lines.find((l) => l.suite === col.suite && l.attack === col.attack && l.id === id))
    .filter((l): l is ResultLine => l !== undefined);
}

/** The first `k` ids of a suite (in the first run that has it). */
export function exampleIds(runs: RunData[], suite: string, k: number): string[] {
  for (const r of runs) {
    const ids = [...new Set(r.lines.filter((l) => l.suite === suite).map((l) => l.id))];
    if (ids.length) return ids.slice(0, k);
  }
  return [];
}
