// A user's own prompt suite: JSONL (or a JSON array) of `{ id, prompt, ... }`, or CSV / TSV with a
// `prompt` column (an `id` column is optional there: ids default to <file stem>-<row number>).
// Every other field is kept. Ids must be unique; a row without a prompt is a RecapError naming
// the file and line.
import * as path from "node:path";
import { RecapError } from "../../util/errors.ts";
import { checkUniqueIds, formatOf, readRows, str } from "./table.ts";

export interface PromptRow {
  id: string;
  prompt: string;
  [field: string]: unknown;
}

export async function loadPromptFile(file: string): Promise<PromptRow[]> {
  const fmt = formatOf(file);
  const rows = await readRows(file);
  if (rows.length === 0)
    throw new RecapError(`${file}: no rows`, "a prompt file needs at least one { id, prompt } row");
  const stem = path
    .basename(file)
    .replace(/\.gz$/i, "")
    .replace(/\.[^.]+$/, "");
  const tabular = fmt === "csv" || fmt === "tsv";
  const out = rows.map((r, k) => {
    const prompt = str(r, file, "prompt", { nonEmpty: true });
    const rawId = r.row["id"];
    let id: string;
    if (typeof rawId === "number" && Number.isFinite(rawId)) id = String(rawId);
    else if (typeof rawId === "string" && rawId.trim() !== "") id = rawId.trim();
    else if (rawId === undefined && tabular) id = `${stem}-${k + 1}`;
    else
      throw new RecapError(
        `${file}:${r.line}: ${rawId === undefined ? "missing" : "invalid"} "id"`,
        "give every row a unique string id",
      );
    return { ...r.row, id, prompt };
  });
  checkUniqueIds(
    out,
    rows.map((r) => r.line),
    file,
  );
  return out;
}
