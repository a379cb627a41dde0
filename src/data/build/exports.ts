// The exports of a data build, by format name. Every row carries the reward server's JSON label
// (`{"datasource", "id", "answer"?, "prompt"?}`), its datasource and its provenance.
//   openrlhf  openrlhf.jsonl: the rendered prompt (prefill included) under `input_key`, the label
//             under `label_key`; train with `--input_key prompt --label_key label` and WITHOUT
//             `--apply_chat_template` (the prompt is already rendered; OpenRLHF tokenizes it with
//             add_special_tokens=False, so its BOS text stays the only BOS).
//   trl       trl.jsonl: a string `prompt` column (TRL's standard, non-conversational format) plus
//             the label and datasource columns, which TRL hands to reward functions as keyword
//             arguments. TRL tokenizes string prompts WITH the tokenizer's special tokens, so a
//             leading BOS text is removed when the tokenizer adds one itself (trl_strip_bos).
//   verl      verl.parquet (see verl.ts).
import type { DataBuildConfig } from "./config.ts";
import type { BuiltRow, Provenance } from "./rows.ts";
import { labelOf } from "./rows.ts";
import { verlParquet } from "./verl.ts";

export interface ExportContext {
  cfg: DataBuildConfig;
  /** The template's BOS text to strip from TRL prompts ("" = none). */
  trlBos: string;
}

export interface ExportFormat {
  file: string;
  write(rows: readonly BuiltRow[], ctx: ExportContext): string | Uint8Array;
}

const NO_PROVENANCE: Record<keyof Provenance, null> = {
  role: null,
  source_model: null,
  endpoint: null,
  l_pre: null,
  unit: null,
  length: null,
  complete: null,
  seed: null,
  finish_reason: null,
  cache_key: null,
};

/** Fields every JSONL export shares (same keys on every row, so readers infer one schema). */
function common(r: BuiltRow): Record<string, unknown> {
  return {
    id: r.item.id,
    datasource: r.item.datasource,
    set: r.item.set,
    prefilled: r.provenance !== null,
    provenance: r.provenance ?? NO_PROVENANCE,
  };
}

const jsonl = (objs: unknown[]) => objs.map((o) => JSON.stringify(o)).join("\n") + "\n";

export const EXPORT_FORMATS: Readonly<Record<string, ExportFormat>> = {
  openrlhf: {
    file: "openrlhf.jsonl",
    write: (rows, { cfg }) =>
      jsonl(
        rows.map((r) => ({
          [cfg.export.input_key]: r.promptText,
          [cfg.export.label_key]: labelOf(r.item),
          ...common(r),
        })),
      ),
  },
  trl: {
    file: "trl.jsonl",
    write: (rows, { trlBos }) =>
      jsonl(
        rows.map((r) => ({
          prompt: trlBos !== "" && r.promptText.startsWith(trlBos) ? r.promptText.slice(trlBos.length) : r.promptText,
          label: labelOf(r.item),
          ...(r.item.answer !== undefined ? { answer: r.item.answer } : {}),
          ...common(r),
        })),
      ),
  },
  verl: { file: "verl.parquet", write: (rows, { cfg }) => verlParquet(rows, cfg.policy.system) },
};
