// Reading row files for the loaders: the text of a file (gzip undone for *.gz), JSONL / a JSON
// array / CSV / TSV chosen by the file name, each row with the line it starts on; and the field
// checks every loader shares, so that a malformed row is a RecapError naming the file and line.
import * as fsp from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { RecapError } from "../../util/errors.ts";
import { parseCsvObjects } from "./csv.ts";

export interface SourceRow {
  /** 1-based line of the row in its file (for a JSON array: the element's 1-based index). */
  line: number;
  row: Record<string, unknown>;
}

export type TableFormat = "jsonl" | "json" | "csv" | "tsv";

/** The file's text; *.gz files are decompressed. Missing or unreadable files are RecapErrors. */
export async function readText(file: string): Promise<string> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (e as Error).message;
    throw new RecapError(`cannot read ${file}: ${why}`, "check the path");
  }
  if (file.endsWith(".gz")) {
    try {
      buf = gunzipSync(buf);
    } catch {
      throw new RecapError(`${file}: not a valid gzip file`, "decompress it or rename it without .gz");
    }
  }
  return buf.toString("utf8");
}

/** The row format implied by a file name (a trailing .gz is ignored), or null. */
export function formatOf(file: string): TableFormat | null {
  const name = file.toLowerCase().replace(/\.gz$/, "");
  if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) return "jsonl";
  if (name.endsWith(".json")) return "json";
  if (name.endsWith(".csv")) return "csv";
  if (name.endsWith(".tsv")) return "tsv";
  return null;
}

/** Parses JSON Lines: one object per non-blank line. */
export function parseJsonl(text: string, file: string): SourceRow[] {
  const out: SourceRow[] = [];
  const lines = text.split("\n");
  lines.forEach((raw, k) => {
    const l = raw.trim();
    if (l === "") return;
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch (e) {
      throw new RecapError(
        `${file}:${k + 1}: invalid JSON (${(e as Error).message})`,
        "each line must hold one JSON object",
      );
    }
    if (v === null || typeof v !== "object" || Array.isArray(v))
      throw new RecapError(`${file}:${k + 1}: expected a JSON object, got ${Array.isArray(v) ? "an array" : typeof v}`);
    out.push({ line: k + 1, row: v as Record<string, unknown> });
  });
  return out;
}

function parseJsonArray(text: string, file: string): SourceRow[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new RecapError(
      `${file}: invalid JSON (${(e as Error).message})`,
      "a .json file must hold one array of objects",
    );
  }
  if (!Array.isArray(v)) throw new RecapError(`${file}: expected a JSON array of objects`);
  return v.map((row, k) => {
    if (row === null || typeof row !== "object" || Array.isArray(row))
      throw new RecapError(`${file}:${k + 1}: element ${k + 1} of the array is not an object`);
    return { line: k + 1, row: row as Record<string, unknown> };
  });
}

/** Reads the rows of a JSONL / JSON / CSV / TSV file (format from the name unless given). */
export async function readRows(file: string, format?: TableFormat): Promise<SourceRow[]> {
  const fmt = format ?? formatOf(file);
  if (fmt === null)
    throw new RecapError(`${file}: unknown file type`, "use a .jsonl, .json, .csv or .tsv file (optionally .gz)");
  const text = await readText(file);
  if (fmt === "jsonl") return parseJsonl(text, file);
  if (fmt === "json") return parseJsonArray(text, file);
  return parseCsvObjects(text, { file, delimiter: fmt === "tsv" ? "\t" : "," }).rows;
}

/** A required string field; a RecapError naming file, line and field when absent or not a string. */
export function str(r: SourceRow, file: string, field: string, opts: { nonEmpty?: boolean } = {}): string {
  const v = r.row[field];
  if (v === undefined || v === null)
    throw new RecapError(
      `${file}:${r.line}: missing field "${field}"`,
      `present fields: ${Object.keys(r.row).join(", ") || "(none)"}`,
    );
  if (typeof v !== "string")
    throw new RecapError(`${file}:${r.line}: field "${field}" must be a string, got ${typeof v}`);
  if (opts.nonEmpty && v.trim() === "") throw new RecapError(`${file}:${r.line}: field "${field}" is empty`);
  return v;
}

/** An optional string field ("" when absent); a RecapError when present but not a string. */
export function optStr(r: SourceRow, file: string, field: string): string {
  const v = r.row[field];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string")
    throw new RecapError(`${file}:${r.line}: field "${field}" must be a string, got ${typeof v}`);
  return v;
}

/** A field that may be a string or a number (ids, answers), returned as a string. */
export function strOrNum(r: SourceRow, file: string, field: string): string {
  const v = r.row[field];
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return str(r, file, field, { nonEmpty: true });
}

/** Checks that a CSV/TSV header has the named columns, before any row is read. */
export function requireColumns(rows: SourceRow[], file: string, columns: readonly string[]): void {
  const first = rows[0];
  if (!first) throw new RecapError(`${file}: no rows`, "check the file path and its contents");
  const missing = columns.filter((c) => !(c in first.row));
  if (missing.length)
    throw new RecapError(
      `${file}: missing column${missing.length > 1 ? "s" : ""} ${missing.map((m) => `"${m}"`).join(", ")}`,
      `found: ${Object.keys(first.row).join(", ")}`,
    );
}

/** Ids must be unique within a file. */
export function checkUniqueIds(rows: Array<{ id: string }>, lines: number[], file: string): void {
  const seen = new Map<string, number>();
  rows.forEach((r, k) => {
    const prev = seen.get(r.id);
    if (prev !== undefined) throw new RecapError(`${file}:${lines[k]}: duplicate id "${r.id}" (first at line ${prev})`);
    seen.set(r.id, lines[k] as number);
  });
}
