// `recap export CKPT --format hf|gguf [--dtype f32|f16] --out PATH`: a Hugging Face folder
// (transformers' LlamaForCausalLM + tokenizer.json) or a GGUF file that llama.cpp loads.
import type { Command } from "commander";
import { EXPORT_FORMATS, exportCheckpoint } from "../export/export.ts";
import type { ExportFormat } from "../export/export.ts";
import { EXPORT_DTYPES } from "../export/gguf_llama.ts";
import type { ExportDtype } from "../export/gguf_llama.ts";
import { RecapError } from "../util/errors.ts";
import { action, printJson } from "./common.ts";

interface ExportFlags {
  format: string;
  dtype: string;
  out: string;
  json: boolean;
}

export function registerExport(program: Command): void {
  program
    .command("export <ckpt>")
    .description("export a checkpoint as a Hugging Face folder or a GGUF file for llama.cpp")
    .requiredOption("--format <fmt>", `output format: ${EXPORT_FORMATS.join(", ")}`)
    .option("--dtype <dtype>", `weight precision: ${EXPORT_DTYPES.join(", ")} (GGUF keeps norms in f32)`, "f32")
    .requiredOption("--out <path>", "folder (hf) or file (gguf) to write")
    .option("--json", "print a JSON summary on stdout", false)
    .action(action(async (ckpt: string, o: ExportFlags) => run(ckpt, o)));
}

async function run(ckpt: string, o: ExportFlags): Promise<void> {
  if (!EXPORT_FORMATS.includes(o.format as ExportFormat))
    throw new RecapError(`unknown --format "${o.format}"`, `valid formats: ${EXPORT_FORMATS.join(", ")}`);
  if (!EXPORT_DTYPES.includes(o.dtype as ExportDtype))
    throw new RecapError(`unknown --dtype "${o.dtype}"`, `valid dtypes: ${EXPORT_DTYPES.join(", ")}`);
  const format = o.format as ExportFormat,
    dtype = o.dtype as ExportDtype;
  const r = await exportCheckpoint(ckpt, format, o.out, dtype);
  const summary = { checkpoint: ckpt, format, dtype, out: o.out, ...(r.bytes !== undefined ? { bytes: r.bytes } : {}) };
  if (o.json) printJson(summary);
  else
    process.stderr.write(`wrote ${o.out} (${format}, ${dtype}${r.bytes !== undefined ? `, ${r.bytes} bytes` : ""})\n`);
}
