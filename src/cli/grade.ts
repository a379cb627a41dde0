// `recap grade --grader NAME --input FILE [--json]`: runs one grader over a file of rows (CSV, TSV,
// JSONL or a JSON array) that have a `completion` column and usually a `prompt` column. With --json
// it prints a JSON array, one object per input row in input order (`id` when the row has one,
// then `label`, `score` and the grader's own fields); otherwise a table and a summary.
// `--agree COLUMN` compares the labels with a reference column of the input (e.g. XSTest's human
// `final_label`): exact-label agreement, binary agreement through the grader's scoreOfLabel, and
// the confusion counts (printed after the table, or on stderr with --json).
import type { Command } from "commander";
import { getGrader, graderNames } from "../graders/index.ts";
import type { GradeResult, GradeRow } from "../graders/index.ts";
import { readRows } from "../eval/loaders/table.ts";
import type { SourceRow } from "../eval/loaders/table.ts";
import { RecapError } from "../util/errors.ts";
import { action, printJson } from "./common.ts";

interface GradeFlags {
  grader: string;
  input: string;
  json: boolean;
  agree?: string;
}

export function registerGrade(program: Command): void {
  program
    .command("grade")
    .description("run one grader over a CSV/JSONL file of (prompt, completion) rows")
    .requiredOption("--grader <name>", `grader to run (${graderNames().join(", ")})`)
    .requiredOption("--input <file>", "rows with a completion column (and prompt): .csv, .tsv, .jsonl or .json")
    .option("--json", "print a JSON array, one {label, score, ...} per row in input order", false)
    .option("--agree <column>", "report agreement with a reference label column of the input")
    .action(action(async (o: GradeFlags) => run(o)));
}

function toGradeRow(r: SourceRow, file: string): GradeRow {
  const completion = r.row["completion"];
  if (typeof completion !== "string")
    throw new RecapError(
      `${file}:${r.line}: ${completion === undefined ? "missing" : "non-string"} "completion"`,
      "every row needs a completion column (and usually a prompt column)",
    );
  const prompt = r.row["prompt"] ?? "";
  if (typeof prompt !== "string") throw new RecapError(`${file}:${r.line}: "prompt" must be a string`);
  return { ...r.row, prompt, completion };
}

export interface GradedRow extends GradeResult {
  id?: string;
}

/** Grades every row of `file` with grader `name`, in input order. */
export async function gradeFile(name: string, file: string): Promise<GradedRow[]> {
  return (await gradeRows(name, file)).graded;
}

async function gradeRows(name: string, file: string): Promise<{ graded: GradedRow[]; inputs: GradeRow[] }> {
  const grader = getGrader(name);
  const rows = await readRows(file);
  if (rows.length === 0) throw new RecapError(`${file}: no rows to grade`);
  const inputs = rows.map((r) => toGradeRow(r, file));
  const out: GradedRow[] = [];
  for (const [k, row] of inputs.entries()) {
    const res = await grader.grade(row);
    const id = row["id"];
    const idPart = typeof id === "string" || typeof id === "number" ? { id: String(id) } : {};
    if (typeof res.label !== "string" || typeof res.score !== "number")
      throw new Error(`grader ${name} returned no label/score for row ${k + 1}`);
    out.push({ ...idPart, ...res });
  }
  return { graded: out, inputs };
}

function oneLine(s: string, n: number): string {
  const t = s.replace(/\s+/g, " ").trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

/** Prints the graded rows as a table and a summary line (any number of rows). */
export function printTable(graded: GradedRow[], completions: string[]): void {
  // a loop, not Math.max(...rows): spreading 200k rows overflows the call stack
  const idW = graded.reduce((w, g, k) => Math.max(w, (g.id ?? String(k + 1)).length), 2);
  const labW = graded.reduce((w, g) => Math.max(w, g.label.length), 5);
  process.stdout.write(`${"id".padEnd(idW)}  ${"label".padEnd(labW)}  score  completion\n`);
  graded.forEach((g, k) => {
    const id = (g.id ?? String(k + 1)).padEnd(idW);
    process.stdout.write(
      `${id}  ${g.label.padEnd(labW)}  ${g.score.toFixed(2).padStart(5)}  ${oneLine(completions[k] ?? "", 60)}\n`,
    );
  });
  const counts = new Map<string, number>();
  for (const g of graded) counts.set(g.label, (counts.get(g.label) ?? 0) + 1);
  const mean = graded.reduce((s, g) => s + g.score, 0) / graded.length;
  const parts = [...counts.entries()].map(([l, c]) => `${l} ${c}`).join(", ");
  process.stdout.write(`\n${graded.length} rows: ${parts}; mean score ${mean.toFixed(4)}\n`);
}

export interface Agreement {
  n: number;
  /** Rows whose label equals the reference label. */
  exact: number;
  /** Rows whose score equals the reference label's score (scoreOfLabel), or null without one. */
  binary: number | null;
  /** Counts by "reference -> label". */
  confusion: Record<string, number>;
}

/** Agreement of graded rows with a reference label per row. */
export function agreement(
  graded: GradedRow[],
  reference: string[],
  scoreOfLabel?: (l: string) => number | null,
): Agreement {
  let exact = 0;
  let binary = 0;
  const confusion: Record<string, number> = {};
  graded.forEach((g, k) => {
    const ref = reference[k] as string;
    if (g.label === ref) exact++;
    const key = `${ref} -> ${g.label}`;
    confusion[key] = (confusion[key] ?? 0) + 1;
    if (scoreOfLabel) {
      const s = scoreOfLabel(ref);
      if (s === null)
        throw new RecapError(`reference label "${ref}" (row ${k + 1}) has no known score`, "check the --agree column");
      if (s === g.score) binary++;
    }
  });
  return { n: graded.length, exact, binary: scoreOfLabel ? binary : null, confusion };
}

function formatAgreement(a: Agreement, column: string): string {
  const pct = (k: number) => `${k}/${a.n} (${((100 * k) / a.n).toFixed(1)}%)`;
  const lines = [`agreement with ${column}: exact label ${pct(a.exact)}`];
  if (a.binary !== null) lines.push(`agreement with ${column}: binary score ${pct(a.binary)}`);
  for (const [k, c] of Object.entries(a.confusion).sort()) lines.push(`  ${k}: ${c}`);
  return lines.join("\n") + "\n";
}

async function run(o: GradeFlags): Promise<void> {
  const { graded, inputs } = await gradeRows(o.grader, o.input);
  let report = "";
  if (o.agree !== undefined) {
    const col = o.agree;
    const refs = inputs.map((r, k) => {
      const v = r[col];
      if (typeof v !== "string")
        throw new RecapError(
          `${o.input}: row ${k + 1} has no string column "${col}"`,
          "name a label column of the input",
        );
      return v.trim();
    });
    const g = getGrader(o.grader);
    report = formatAgreement(agreement(graded, refs, g.scoreOfLabel?.bind(g)), col);
  }
  if (o.json) {
    printJson(graded);
    process.stderr.write(report);
  } else {
    printTable(
      graded,
      inputs.map((r) => r.completion),
    );
    process.stdout.write(report);
  }
}
