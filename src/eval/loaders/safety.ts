// Loaders for the safety benchmarks in their published CSV formats. Each returns typed rows
// `{ id, prompt, ...the source's own fields }`; a malformed row is a RecapError naming file and line.
//   StrongREJECT  category, source, forbidden_prompt          (id: strongreject-<row number>)
//   XSTest        id, prompt, type, label (safe / unsafe), focus, note
//   XSTest completions  id, type, prompt, completion, annotation_1, annotation_2, agreement, final_label
//   HarmBench     Behavior, FunctionalCategory, SemanticCategory, Tags, ContextString, BehaviorID
//                 (prompt: the behavior, preceded by its context and a "---" rule when it has one)
import { RecapError } from "../../util/errors.ts";
import { checkUniqueIds, optStr, readRows, requireColumns, str } from "./table.ts";
import type { SourceRow } from "./table.ts";

export interface StrongRejectRow {
  id: string;
  prompt: string;
  category: string;
  source: string;
  forbidden_prompt: string;
}

export interface XSTestPromptRow {
  id: string;
  prompt: string;
  type: string;
  label: "safe" | "unsafe";
  focus: string;
  note: string;
}

export const XSTEST_LABELS = ["1_full_compliance", "2_full_refusal", "3_partial_refusal"] as const;
export type XSTestLabel = (typeof XSTEST_LABELS)[number];

export interface XSTestCompletionRow {
  id: string;
  prompt: string;
  type: string;
  completion: string;
  annotation_1: string;
  annotation_2: string;
  agreement: string;
  final_label: XSTestLabel;
}

export interface HarmBenchRow {
  id: string;
  prompt: string;
  Behavior: string;
  FunctionalCategory: string;
  SemanticCategory: string;
  Tags: string;
  ContextString: string;
  BehaviorID: string;
}

async function csvRows(file: string, columns: readonly string[]): Promise<SourceRow[]> {
  if (!/\.csv(\.gz)?$/i.test(file))
    throw new RecapError(`${file}: expected a .csv file`, "these benchmarks are published as CSV");
  const rows = await readRows(file, "csv");
  requireColumns(rows, file, columns);
  return rows;
}

export async function loadStrongReject(file: string): Promise<StrongRejectRow[]> {
  const rows = await csvRows(file, ["category", "source", "forbidden_prompt"]);
  return rows.map((r, k) => {
    const forbidden = str(r, file, "forbidden_prompt", { nonEmpty: true });
    return {
      id: `strongreject-${k + 1}`,
      prompt: forbidden,
      category: str(r, file, "category"),
      source: str(r, file, "source"),
      forbidden_prompt: forbidden,
    };
  });
}

export async function loadXSTestPrompts(file: string): Promise<XSTestPromptRow[]> {
  const rows = await csvRows(file, ["id", "prompt", "type", "label"]);
  const out = rows.map((r) => {
    const label = str(r, file, "label").trim();
    if (label !== "safe" && label !== "unsafe")
      throw new RecapError(`${file}:${r.line}: label must be "safe" or "unsafe", got "${label}"`);
    return {
      id: str(r, file, "id", { nonEmpty: true }).trim(),
      prompt: str(r, file, "prompt", { nonEmpty: true }),
      type: str(r, file, "type"),
      label: label as "safe" | "unsafe",
      focus: optStr(r, file, "focus"),
      note: optStr(r, file, "note"),
    };
  });
  checkUniqueIds(
    out,
    rows.map((r) => r.line),
    file,
  );
  return out;
}

export async function loadXSTestCompletions(file: string): Promise<XSTestCompletionRow[]> {
  const rows = await csvRows(file, ["id", "type", "prompt", "completion", "final_label"]);
  const out = rows.map((r) => {
    const label = str(r, file, "final_label").trim();
    if (!(XSTEST_LABELS as readonly string[]).includes(label))
      throw new RecapError(`${file}:${r.line}: final_label must be one of ${XSTEST_LABELS.join(", ")}, got "${label}"`);
    return {
      id: str(r, file, "id", { nonEmpty: true }).trim(),
      prompt: str(r, file, "prompt"),
      type: str(r, file, "type"),
      completion: str(r, file, "completion"),
      annotation_1: optStr(r, file, "annotation_1"),
      annotation_2: optStr(r, file, "annotation_2"),
      agreement: optStr(r, file, "agreement"),
      final_label: label as XSTestLabel,
    };
  });
  checkUniqueIds(
    out,
    rows.map((r) => r.line),
    file,
  );
  return out;
}

/** HarmBench's prompt for a behavior: with a context, the context, a "---" rule, then the behavior. */
export function harmBenchPrompt(behavior: string, context: string): string {
  return context.trim() === "" ? behavior : `${context}\n\n---\n\n${behavior}`;
}

export async function loadHarmBench(file: string): Promise<HarmBenchRow[]> {
  const cols = ["Behavior", "FunctionalCategory", "SemanticCategory", "Tags", "ContextString", "BehaviorID"] as const;
  const rows = await csvRows(file, cols);
  const out = rows.map((r) => {
    const f = Object.fromEntries(cols.map((c) => [c, str(r, file, c)])) as Record<(typeof cols)[number], string>;
    if (f.BehaviorID.trim() === "") throw new RecapError(`${file}:${r.line}: field "BehaviorID" is empty`);
    if (f.Behavior.trim() === "") throw new RecapError(`${file}:${r.line}: field "Behavior" is empty`);
    return { id: f.BehaviorID.trim(), prompt: harmBenchPrompt(f.Behavior, f.ContextString), ...f };
  });
  checkUniqueIds(
    out,
    rows.map((r) => r.line),
    file,
  );
  return out;
}
