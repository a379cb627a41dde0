// Loaders for the math benchmarks in their published JSONL formats; typed rows
// `{ id, prompt, gold, ...the source's own fields }`, where `gold` is the final answer to check.
//   GSM8K    question, answer (worked solution ending in "#### N"; gold = N)   id: gsm8k-<line>
//   MATH500  problem, solution, answer, subject, level, unique_id (id = unique_id, gold = answer)
//   AIME     id, problem, solution, answer (string or number), url, question (gold = answer)
// A malformed row is a RecapError naming the file and line.
import { RecapError } from "../../util/errors.ts";
import { checkUniqueIds, optStr, readRows, str, strOrNum } from "./table.ts";
import type { SourceRow } from "./table.ts";

export interface Gsm8kRow {
  id: string;
  prompt: string;
  gold: string;
  question: string;
  answer: string;
}

export interface Math500Row {
  id: string;
  prompt: string;
  gold: string;
  problem: string;
  solution: string;
  answer: string;
  subject: string;
  level: number;
  unique_id: string;
}

export interface AimeRow {
  id: string;
  prompt: string;
  gold: string;
  problem: string;
  solution: string;
  answer: string;
  url: string;
  /** Any other fields of the source row, kept as they are. */
  extra: Record<string, unknown>;
}

async function jsonlRows(file: string): Promise<SourceRow[]> {
  if (!/\.jsonl(\.gz)?$/i.test(file))
    throw new RecapError(`${file}: expected a .jsonl file`, "these benchmarks are published as JSON Lines");
  const rows = await readRows(file, "jsonl");
  if (rows.length === 0) throw new RecapError(`${file}: no rows`, "check the file path and its contents");
  return rows;
}

/** The final answer after the last "#### " of a GSM8K solution, commas kept as published. */
export function gsm8kGold(answer: string): string | null {
  const i = answer.lastIndexOf("####");
  if (i < 0) return null;
  const g = answer.slice(i + 4).trim();
  return g === "" ? null : g;
}

export async function loadGsm8k(file: string): Promise<Gsm8kRow[]> {
  const rows = await jsonlRows(file);
  return rows.map((r) => {
    const question = str(r, file, "question", { nonEmpty: true });
    const answer = str(r, file, "answer", { nonEmpty: true });
    const gold = gsm8kGold(answer);
    if (gold === null) throw new RecapError(`${file}:${r.line}: answer has no "#### N" final answer`);
    return { id: `gsm8k-${r.line}`, prompt: question, gold, question, answer };
  });
}

export async function loadMath500(file: string): Promise<Math500Row[]> {
  const rows = await jsonlRows(file);
  const out = rows.map((r) => {
    const level = r.row["level"];
    if (typeof level !== "number" || !Number.isInteger(level))
      throw new RecapError(`${file}:${r.line}: field "level" must be an integer, got ${JSON.stringify(level)}`);
    const problem = str(r, file, "problem", { nonEmpty: true });
    const answer = str(r, file, "answer", { nonEmpty: true });
    const uid = str(r, file, "unique_id", { nonEmpty: true });
    return {
      id: uid,
      prompt: problem,
      gold: answer,
      problem,
      solution: str(r, file, "solution"),
      answer,
      subject: str(r, file, "subject"),
      level,
      unique_id: uid,
    };
  });
  checkUniqueIds(
    out,
    rows.map((r) => r.line),
    file,
  );
  return out;
}

export async function loadAime(file: string): Promise<AimeRow[]> {
  const rows = await jsonlRows(file);
  const known = new Set(["id", "problem", "solution", "answer", "url"]);
  const out = rows.map((r) => {
    const problem = str(r, file, "problem", { nonEmpty: true });
    const answer = strOrNum(r, file, "answer");
    const extra = Object.fromEntries(Object.entries(r.row).filter(([k]) => !known.has(k)));
    return {
      id: strOrNum(r, file, "id"),
      prompt: problem,
      gold: answer,
      problem,
      solution: optStr(r, file, "solution"),
      answer,
      url: optStr(r, file, "url"),
      extra,
    };
  });
  checkUniqueIds(
    out,
    rows.map((r) => r.line),
    file,
  );
  return out;
}
