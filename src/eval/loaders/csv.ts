// An RFC 4180 CSV parser, written for this project: fields separated by a delimiter (comma, or tab
// for TSV); a field may be quoted with ", inside which the delimiter, CR, LF and CRLF are data and
// "" is one quote; records end at CRLF, LF or a lone CR. Line breaks inside quoted fields are kept
// as they are (HarmBench's ContextString holds CRLF). A leading byte-order mark is dropped, and
// blank lines between records are skipped (as pandas does). Every record carries the line it starts
// on, so that errors can name it. Malformed input (an unterminated quote, text after a closing
// quote, a row with the wrong number of fields) is a RecapError naming the file and the line.
import { RecapError } from "../../util/errors.ts";

export interface CsvRecord {
  /** 1-based line on which the record starts. */
  line: number;
  fields: string[];
}

export interface CsvOptions {
  /** Field delimiter (default ","). */
  delimiter?: string;
  /** File name used in error messages. */
  file?: string;
}

/** Splits CSV text into records of fields (see the module comment). */
export function parseCsv(text: string, opts: CsvOptions = {}): CsvRecord[] {
  const delim = opts.delimiter ?? ",";
  const file = opts.file ?? "<csv>";
  if (delim.length !== 1 || delim === '"' || delim === "\n" || delim === "\r")
    throw new RecapError(
      `invalid CSV delimiter ${JSON.stringify(delim)}`,
      'use a single character such as "," or "\\t"',
    );
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false; // the current field was quoted (so a record of one "" is not a blank line)
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const endRecord = () => {
    const blank = fields.length === 0 && field === "" && !quoted;
    fields.push(field);
    if (!blank) records.push({ line: recordLine, fields });
    fields = [];
    field = "";
    quoted = false;
  };
  while (i < s.length) {
    const c = s[i] as string;
    if (c === '"' && field === "" && !quoted) {
      const r = readQuoted(s, i + 1, line, file);
      field = r.value;
      line = r.line;
      i = r.end;
      quoted = true;
      const next = s[i];
      if (next !== undefined && next !== delim && next !== "\n" && next !== "\r")
        throw new RecapError(
          `${file}:${line}: unexpected ${JSON.stringify(next)} after a closing quote`,
          'quote the whole field and write an inner quote as ""',
        );
    } else if (c === delim) {
      fields.push(field);
      field = "";
      quoted = false;
      i++;
    } else if (c === "\n" || c === "\r") {
      endRecord();
      i += c === "\r" && s[i + 1] === "\n" ? 2 : 1;
      line++;
      recordLine = line;
    } else {
      const stop = nextSpecial(s, i, delim);
      field += s.slice(i, stop);
      i = stop;
    }
  }
  if (field !== "" || quoted || fields.length > 0) endRecord();
  return records;
}

/** Reads a quoted field whose content starts at `from`; returns it, the index after the closing quote and the line there. */
function readQuoted(
  s: string,
  from: number,
  startLine: number,
  file: string,
): { value: string; end: number; line: number } {
  let value = "";
  let line = startLine;
  let i = from;
  for (;;) {
    const q = s.indexOf('"', i);
    if (q < 0)
      throw new RecapError(
        `${file}:${startLine}: unterminated quoted field`,
        'close the quote, or write a quote inside a field as ""',
      );
    for (let k = i; k < q; k++) {
      const ch = s.charCodeAt(k);
      if (ch === 10 || (ch === 13 && s.charCodeAt(k + 1) !== 10)) line++;
    }
    value += s.slice(i, q);
    if (s[q + 1] === '"') {
      value += '"';
      i = q + 2;
      continue;
    }
    return { value, end: q + 1, line };
  }
}

/** Index of the next delimiter or line break at or after i (quotes inside a bare field are data). */
function nextSpecial(s: string, i: number, delim: string): number {
  let j = i;
  while (j < s.length) {
    const c = s[j];
    if (c === delim || c === "\n" || c === "\r") return j;
    j++;
  }
  return j;
}

export interface CsvRow {
  line: number;
  row: Record<string, string>;
}

/** Parses CSV with a header row into objects keyed by column name; checks every row's width. */
export function parseCsvObjects(text: string, opts: CsvOptions = {}): { header: string[]; rows: CsvRow[] } {
  const file = opts.file ?? "<csv>";
  const records = parseCsv(text, opts);
  const head = records[0];
  if (!head) throw new RecapError(`${file}: empty file, expected a header row`, "check the file path and its contents");
  const header = head.fields.map((h) => h.trim());
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h)) throw new RecapError(`${file}:${head.line}: duplicate column "${h}" in the header`);
    seen.add(h);
  }
  const rows = records.slice(1).map((r) => {
    if (r.fields.length !== header.length)
      throw new RecapError(
        `${file}:${r.line}: ${r.fields.length} fields but the header has ${header.length}`,
        "quote fields that contain the delimiter, a quote or a line break",
      );
    const row: Record<string, string> = {};
    header.forEach((h, k) => (row[h] = r.fields[k] as string));
    return { line: r.line, row };
  });
  return { header, rows };
}
