// Exports of a checkpoint for other tools: a Hugging Face folder (transformers' LlamaForCausalLM +
// PreTrainedTokenizerFast from tokenizer.json) and a GGUF file for llama.cpp. Both are written
// atomically; the GGUF bytes are parsed back and checked (checkLlamaGguf) before they are written.
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { CHAT_TEMPLATE } from "../model/chat_template.ts";
import {
  CONFIG_FILE,
  TOKENIZER_CONFIG_FILE,
  TOKENIZER_FILE,
  WEIGHTS_FILE,
  configJson,
  loadCheckpoint,
} from "../model/checkpoint.ts";
import { paramSpecs } from "../model/config.ts";
import { checkpointTokenizer } from "../model/load.ts";
import { encodeSafetensors } from "../model/safetensors.ts";
import type { TensorToEncode } from "../model/safetensors.ts";
import { replaceDirAtomic, writeFileAtomic } from "../util/atomic.ts";
import { RecapError } from "../util/errors.ts";
import { decodeGguf } from "./gguf.ts";
import { buildLlamaGguf, checkLlamaGguf } from "./gguf_llama.ts";
import type { ExportDtype, ExportSource } from "./gguf_llama.ts";

export type ExportFormat = "hf" | "gguf";
export const EXPORT_FORMATS: readonly ExportFormat[] = ["hf", "gguf"];
export const GENERATION_CONFIG_FILE = "generation_config.json";

export interface LoadedExportSource extends ExportSource {
  tokenizerJson: unknown;
  tokenizerConfig: Record<string, unknown>;
}

/** Loads a checkpoint folder with everything an export needs. */
export async function loadExportSource(dir: string): Promise<LoadedExportSource> {
  const ck = await loadCheckpoint(dir);
  const tokenizer = checkpointTokenizer(dir, ck.tokenizerJson);
  const tc = ck.tokenizerConfig;
  if (typeof tc !== "object" || tc === null || Array.isArray(tc))
    throw new RecapError(`${dir}/tokenizer_config.json is not a JSON object`, "re-save the checkpoint");
  const tokenizerConfig = tc as Record<string, unknown>;
  const tpl = tokenizerConfig["chat_template"];
  const chatTemplate = typeof tpl === "string" && tpl.length > 0 ? tpl : CHAT_TEMPLATE;
  const name = path.basename(path.resolve(dir));
  return {
    config: ck.config,
    params: ck.params,
    tokenizer,
    chatTemplate,
    name,
    tokenizerJson: ck.tokenizerJson,
    tokenizerConfig,
  };
}

const json = (v: unknown): string => JSON.stringify(v, null, 2) + "\n";

/** The HF folder's files, by name. */
export function hfFiles(src: LoadedExportSource, dtype: ExportDtype): Map<string, string | Uint8Array> {
  const ids = src.tokenizer.specialIds;
  const config = {
    ...src.config,
    bos_token_id: ids.eos,
    eos_token_id: ids.eos,
    pad_token_id: ids.pad,
    torch_dtype: dtype === "f16" ? "float16" : "float32",
  };
  const tensors: Record<string, TensorToEncode> = Object.create(null) as Record<string, TensorToEncode>;
  for (const s of paramSpecs(src.config)) {
    const data = src.params.get(s.name);
    if (!data) throw new RecapError(`cannot export: the checkpoint has no tensor ${s.name}`);
    tensors[s.name] = { dtype: dtype === "f16" ? "F16" : "F32", shape: s.shape, data };
  }
  const generation = { bos_token_id: ids.eos, eos_token_id: ids.eos, pad_token_id: ids.pad };
  return new Map<string, string | Uint8Array>([
    [CONFIG_FILE, configJson(config)],
    [WEIGHTS_FILE, encodeSafetensors(tensors, { format: "pt" })],
    [TOKENIZER_FILE, json(src.tokenizerJson)],
    [TOKENIZER_CONFIG_FILE, json({ ...src.tokenizerConfig, chat_template: src.chatTemplate })],
    [GENERATION_CONFIG_FILE, json(generation)],
  ]);
}

/** Writes the HF folder `out` atomically (an existing folder is replaced). */
export async function exportHf(src: LoadedExportSource, out: string, dtype: ExportDtype): Promise<void> {
  const files = hfFiles(src, dtype);
  await replaceDirAtomic(out, async (tmp) => {
    for (const [name, data] of files) await fsp.writeFile(path.join(tmp, name), data);
  });
}

/** Builds, self-checks and atomically writes the GGUF file `out`. */
export async function exportGguf(src: ExportSource, out: string, dtype: ExportDtype): Promise<{ bytes: number }> {
  const bytes = buildLlamaGguf(src, dtype);
  checkLlamaGguf(decodeGguf(bytes, out), out);
  await fsp.mkdir(path.dirname(path.resolve(out)), { recursive: true });
  await writeFileAtomic(out, bytes);
  return { bytes: bytes.length };
}

/** Refuses outputs that would clobber something that is not a previous export. */
async function checkOutPath(format: ExportFormat, out: string): Promise<void> {
  const st = await fsp.stat(out).catch(() => null);
  if (st === null) return;
  if (format === "gguf" && !st.isFile())
    throw new RecapError(`--out ${out} exists and is not a file`, "give the path of the .gguf file to write");
  if (format === "hf") {
    if (!st.isDirectory())
      throw new RecapError(`--out ${out} exists and is not a folder`, "give a folder path for the HF export");
    const entries = await fsp.readdir(out);
    if (entries.length > 0 && !entries.includes(CONFIG_FILE))
      throw new RecapError(
        `--out ${out} is a non-empty folder that is not a model export`,
        "choose a new or empty folder; an export replaces the folder entirely",
      );
  }
}

/** `recap export`'s work: checkpoint folder -> HF folder or GGUF file. */
export async function exportCheckpoint(
  ckpt: string,
  format: ExportFormat,
  out: string,
  dtype: ExportDtype,
): Promise<{ bytes?: number }> {
  if (path.resolve(ckpt) === path.resolve(out))
    throw new RecapError(
      `--out ${out} is the checkpoint itself`,
      "choose another output path; the export would replace the checkpoint",
    );
  await checkOutPath(format, out);
  const src = await loadExportSource(ckpt);
  if (format === "hf") {
    await exportHf(src, out, dtype);
    return {};
  }
  return exportGguf(src, out, dtype);
}
