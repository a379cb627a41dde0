// verl's RL data file: a parquet table with an explicit schema (automatic typing would store the
// nested fields as JSON strings, which verl cannot read). One row per prompt:
//   data_source   string                      the reward route (safety / over_refusal / math)
//   prompt        list<struct<role, content>> the chat before the assistant turn ([system?, user])
//   ability       string                      = data_source
//   reward_model  struct<style, ground_truth> style "rule" (math) or "model" (judges);
//                                             ground_truth = the JSON label of the reward server
//   agent_name    string                      "recap_prefill": the agent loop of
//                                             integrations/verl_prefill_agent_loop.py
//   extra_info    struct<index int64, id, set, prompt_text, prefilled bool, prefill,
//                        user_prompt, source_model, l_pre int64, unit, prefill_length int64,
//                        seed int64>
// verl renders `prompt` with the policy's chat template and add_generation_prompt=True, which
// cannot express a prefilled assistant turn; the agent loop sends `extra_info.prompt_text` (our
// rendering, prefill included) instead. Without that loop, prefilled rows train as clean rows.
import { parquetWriteBuffer } from "hyparquet-writer";
import type { BuiltRow } from "./rows.ts";
import { labelOf, messagesOf } from "./rows.ts";

const str = (name: string) => ({ name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" });
const i64 = (name: string) => ({ name, type: "INT64", repetition_type: "OPTIONAL" });

export const EXTRA_INFO_FIELDS = [
  "index",
  "id",
  "set",
  "prompt_text",
  "prefilled",
  "prefill",
  "user_prompt",
  "source_model",
  "l_pre",
  "unit",
  "prefill_length",
  "seed",
] as const;

/** The explicit parquet schema (flattened, depth-first, as parquet's thrift schema is). */
export const VERL_SCHEMA = [
  { name: "root", num_children: 6 },
  str("data_source"),
  { name: "prompt", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
  { name: "element", repetition_type: "OPTIONAL", num_children: 2 },
  str("role"),
  str("content"),
  str("ability"),
  { name: "reward_model", repetition_type: "OPTIONAL", num_children: 2 },
  str("style"),
  str("ground_truth"),
  str("agent_name"),
  { name: "extra_info", repetition_type: "OPTIONAL", num_children: EXTRA_INFO_FIELDS.length },
  i64("index"),
  str("id"),
  str("set"),
  str("prompt_text"),
  { name: "prefilled", type: "BOOLEAN", repetition_type: "OPTIONAL" },
  str("prefill"),
  str("user_prompt"),
  str("source_model"),
  i64("l_pre"),
  str("unit"),
  i64("prefill_length"),
  i64("seed"),
];

/** The parquet file's bytes for the rows. */
export function verlParquet(rows: readonly BuiltRow[], system?: string): Uint8Array {
  const extra = rows.map((r, index) => {
    const p = r.provenance;
    return {
      index: BigInt(index),
      id: r.item.id,
      set: r.item.set,
      prompt_text: r.promptText,
      prefilled: p !== null,
      prefill: r.prefill,
      user_prompt: r.item.question,
      source_model: p?.source_model ?? "",
      l_pre: BigInt(p?.l_pre ?? 0),
      unit: p?.unit ?? "",
      prefill_length: BigInt(p?.length ?? 0),
      seed: BigInt(p?.seed ?? 0),
    };
  });
  const buf = parquetWriteBuffer({
    columnData: [
      { name: "data_source", data: rows.map((r) => r.item.datasource) },
      { name: "prompt", data: rows.map((r) => messagesOf(r.item, system)) },
      { name: "ability", data: rows.map((r) => r.item.datasource) },
      {
        name: "reward_model",
        data: rows.map((r) => ({ style: r.item.kind === "math" ? "rule" : "model", ground_truth: labelOf(r.item) })),
      },
      { name: "agent_name", data: rows.map(() => "recap_prefill") },
      { name: "extra_info", data: extra },
    ],
    schema: VERL_SCHEMA as never,
  });
  return new Uint8Array(buf);
}
