// Loaders for the safety training / red-teaming sets, by their published fields (these files are
// not in ../shared/datasets; the tests use small hand-written fixtures):
//   WildJailbreak  TSV: vanilla, adversarial, tactics, completion, data_type (train); the eval TSV
//                  has adversarial, label, data_type. prompt = adversarial, else vanilla.
//   Fortress       ID, adversarial_prompt, rubric (list of strings), risk_domain, risk_subdomain,
//                  benign_prompt (HF parquet exported to JSONL / JSON / CSV; prompt = adversarial)
//   BeaverTails    prompt, response, category (object of booleans), is_safe (JSONL, .gz too)
//   STAR-1         id, question, response, category, source, score (JSON / JSONL; prompt =
//                  question). Field names can be overridden, since mirrors rename them.
// In CSV / TSV exports a list or object field is read as JSON text. Errors name file and line.
import { RecapError } from "../../util/errors.ts";
import { checkUniqueIds, optStr, readRows, str, strOrNum } from "./table.ts";
import type { SourceRow } from "./table.ts";

export const WILDJAILBREAK_TYPES = [
  "vanilla_harmful",
  "vanilla_benign",
  "adversarial_harmful",
  "adversarial_benign",
] as const;
export type WildJailbreakType = (typeof WILDJAILBREAK_TYPES)[number];

export interface WildJailbreakRow {
  id: string;
  prompt: string;
  vanilla: string;
  adversarial: string;
  tactics: string;
  completion: string;
  data_type: WildJailbreakType;
  /** data_type ends in _harmful. */
  harmful: boolean;
}

export interface FortressRow {
  id: string;
  prompt: string;
  ID: string;
  adversarial_prompt: string;
  rubric: string[];
  risk_domain: string;
  risk_subdomain: string;
  benign_prompt: string;
}

export interface BeaverTailsRow {
  id: string;
  prompt: string;
  response: string;
  category: Record<string, boolean>;
  is_safe: boolean;
}

export interface Star1Row {
  id: string;
  prompt: string;
  question: string;
  response: string;
  category: string[];
  source: string;
  score: number | null;
}

/** A list or object field: as is from JSON, parsed from JSON text in CSV / TSV. */
function structured(r: SourceRow, file: string, field: string): unknown {
  const v = r.row[field];
  if (typeof v !== "string") return v;
  const t = v.trim();
  if (!t.startsWith("[") && !t.startsWith("{")) return v;
  try {
    return JSON.parse(t);
  } catch {
    throw new RecapError(
      `${file}:${r.line}: field "${field}" is not valid JSON`,
      "write lists and objects as JSON text in CSV/TSV files",
    );
  }
}

export async function loadWildJailbreak(file: string): Promise<WildJailbreakRow[]> {
  const rows = await readRows(file);
  return rows.map((r) => {
    const dt = str(r, file, "data_type").trim();
    if (!(WILDJAILBREAK_TYPES as readonly string[]).includes(dt))
      throw new RecapError(
        `${file}:${r.line}: data_type must be one of ${WILDJAILBREAK_TYPES.join(", ")}, got "${dt}"`,
      );
    const vanilla = optStr(r, file, "vanilla");
    const adversarial = optStr(r, file, "adversarial");
    const prompt = adversarial.trim() !== "" ? adversarial : vanilla;
    if (prompt.trim() === "") throw new RecapError(`${file}:${r.line}: both "adversarial" and "vanilla" are empty`);
    if (dt.startsWith("adversarial") && adversarial.trim() === "")
      throw new RecapError(`${file}:${r.line}: data_type is ${dt} but "adversarial" is empty`);
    return {
      id: `wildjailbreak-${r.line}`,
      prompt,
      vanilla,
      adversarial,
      tactics:
        typeof r.row["tactics"] === "string" ? (r.row["tactics"] as string) : JSON.stringify(r.row["tactics"] ?? ""),
      completion: optStr(r, file, "completion"),
      data_type: dt as WildJailbreakType,
      harmful: dt.endsWith("_harmful"),
    };
  });
}

function stringList(v: unknown, r: SourceRow, file: string, field: string): string[] {
  if (typeof v === "string")
    return v
      .split("\n")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    throw new RecapError(`${file}:${r.line}: field "${field}" must be a list of strings`);
  return v as string[];
}

export async function loadFortress(file: string): Promise<FortressRow[]> {
  const rows = await readRows(file);
  const out = rows.map((r) => {
    const adversarial = str(r, file, "adversarial_prompt", { nonEmpty: true });
    const rubricRaw = structured(r, file, "rubric");
    if (rubricRaw === undefined || rubricRaw === null)
      throw new RecapError(`${file}:${r.line}: missing field "rubric"`);
    const ID = strOrNum(r, file, "ID" in r.row ? "ID" : "id");
    return {
      id: ID,
      prompt: adversarial,
      ID,
      adversarial_prompt: adversarial,
      rubric: stringList(rubricRaw, r, file, "rubric"),
      risk_domain: optStr(r, file, "risk_domain"),
      risk_subdomain: optStr(r, file, "risk_subdomain"),
      benign_prompt: optStr(r, file, "benign_prompt"),
    };
  });
  checkUniqueIds(
    out,
    rows.map((r) => r.line),
    file,
  );
  return out;
}

function bool(v: unknown, r: SourceRow, file: string, field: string): boolean {
  if (typeof v === "boolean") return v;
  if (typeof v === "string" && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === "true";
  throw new RecapError(`${file}:${r.line}: field "${field}" must be true or false, got ${JSON.stringify(v)}`);
}

export async function loadBeaverTails(file: string): Promise<BeaverTailsRow[]> {
  const rows = await readRows(file);
  return rows.map((r) => {
    const cat = structured(r, file, "category");
    if (cat === null || typeof cat !== "object" || Array.isArray(cat))
      throw new RecapError(`${file}:${r.line}: field "category" must be an object of true/false flags`);
    const category = Object.fromEntries(Object.entries(cat).map(([k, v]) => [k, bool(v, r, file, `category.${k}`)]));
    return {
      id: `beavertails-${r.line}`,
      prompt: str(r, file, "prompt", { nonEmpty: true }),
      response: str(r, file, "response"),
      category,
      is_safe: bool(r.row["is_safe"], r, file, "is_safe"),
    };
  });
}

/** Field names of a STAR-1 file (the published ones by default). */
export interface Star1Fields {
  id: string;
  question: string;
  response: string;
  category: string;
  source: string;
  score: string;
}

export const STAR1_FIELDS: Star1Fields = {
  id: "id",
  question: "question",
  response: "response",
  category: "category",
  source: "source",
  score: "score",
};

export async function loadStar1(file: string, fields: Partial<Star1Fields> = {}): Promise<Star1Row[]> {
  const f = { ...STAR1_FIELDS, ...fields };
  const rows = await readRows(file);
  const out = rows.map((r) => {
    const question = str(r, file, f.question, { nonEmpty: true });
    const cat = structured(r, file, f.category);
    const category =
      cat === undefined || cat === null ? [] : typeof cat === "string" ? [cat] : stringList(cat, r, file, f.category);
    const s = r.row[f.score];
    const score = s === undefined || s === null || s === "" ? null : Number(s);
    if (score !== null && !Number.isFinite(score))
      throw new RecapError(`${file}:${r.line}: field "${f.score}" must be a number, got ${JSON.stringify(s)}`);
    const id = r.row[f.id] === undefined ? `star1-${r.line}` : strOrNum(r, file, f.id);
    return {
      id,
      prompt: question,
      question,
      response: optStr(r, file, f.response),
      category,
      source: optStr(r, file, f.source),
      score,
    };
  });
  checkUniqueIds(
    out,
    rows.map((r) => r.line),
    file,
  );
  return out;
}
