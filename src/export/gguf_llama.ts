// A checkpoint as a GGUF file llama.cpp loads with its `llama` architecture, and the checks that
// a GGUF file is complete before anything hands it to llama.cpp (a missing key there aborts the
// process instead of throwing, DESIGN §6).
//
// Facts carried over from llama.cpp's converter (convert_hf_to_gguf.py), code written here:
// - tensor names: token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm,
//   ffn_gate, ffn_up, ffn_down}, output_norm, output (absent when the embeddings are tied);
// - llama.cpp's llama architecture rotates adjacent pairs (x[2i], x[2i+1]) where HF's rotate_half
//   rotates (x[i], x[i + D/2]), so the rows of attn_q / attn_k are permuted within each head:
//   llama row 2i <- HF row i, llama row 2i+1 <- HF row D/2 + i (permuteRopeRows);
// - vocabulary: `gpt2` (byte-level BPE) with pre-tokenizer `qwen2`; token types normal 1,
//   control 3, user_defined 4, unused 5. A tokenizer smaller than vocab_size is padded with
//   "[PADi]" tokens of type unused, as the converter does: llama.cpp never matches unused tokens
//   in text (user_defined ones it always does), so they cannot appear in tokenisation.
// - no BOS is added (add_bos_token false); bos_token_id is set to eos so no stray default is used.
// F16 export converts the matrices only; norm weights stay F32, as the converter keeps 1-D tensors.
import { headDim, paramSpecs } from "../model/config.ts";
import type { LlamaConfig } from "../model/config.ts";
import type { Tokenizer, TokenType } from "../model/tokenizer.ts";
import { RecapError } from "../util/errors.ts";
import { encodeGguf, gv } from "./gguf.ts";
import type { GgufFile, GgufTensorToWrite, GgufValue } from "./gguf.ts";

export type ExportDtype = "f32" | "f16";
export const EXPORT_DTYPES: readonly ExportDtype[] = ["f32", "f16"];

/** What an export needs: the model's config and HF-named weights, its tokenizer and chat template. */
export interface ExportSource {
  config: LlamaConfig;
  params: Map<string, Float32Array>;
  tokenizer: Tokenizer;
  chatTemplate: string;
  /** general.name. Default "recap". */
  name?: string;
}

const TOKEN_TYPE_CODE: Record<TokenType | "unused", number> = { normal: 1, control: 3, user_defined: 4, unused: 5 };
const VALID_TOKEN_TYPES = new Set([1, 2, 3, 4, 5, 6]);

/** Rows of a (nHeads*D, cols) projection reordered from HF rotate_half to llama.cpp's adjacent pairs. */
export function permuteRopeRows(w: Float32Array, nHeads: number, D: number, cols: number): Float32Array {
  if (w.length !== nHeads * D * cols)
    throw new Error(`permuteRopeRows: ${w.length} values, expected ${nHeads}*${D}*${cols}`);
  const out = new Float32Array(w.length);
  const half = D / 2;
  for (let h = 0; h < nHeads; h++)
    for (let i = 0; i < half; i++) {
      const src0 = (h * D + i) * cols,
        src1 = (h * D + half + i) * cols;
      out.set(w.subarray(src0, src0 + cols), (h * D + 2 * i) * cols);
      out.set(w.subarray(src1, src1 + cols), (h * D + 2 * i + 1) * cols);
    }
  return out;
}

/** GGUF tensor name and row-major shape of each HF tensor, in file order. */
export function llamaTensorNames(c: LlamaConfig): { hf: string; gguf: string; shape: number[] }[] {
  const blockNames: Record<string, string> = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
  };
  return paramSpecs(c).map((s) => {
    const m = /^model\.layers\.(\d+)\.(.+)$/.exec(s.name);
    let gguf: string | undefined;
    if (m) gguf = blockNames[m[2]!] !== undefined ? `blk.${m[1]}.${blockNames[m[2]!]}` : undefined;
    else
      gguf = {
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
      }[s.name];
    if (gguf === undefined) throw new Error(`no GGUF name for tensor ${s.name}`);
    return { hf: s.name, gguf, shape: s.shape };
  });
}

/** The GGUF vocabulary: tokens and types padded to vocab_size with unused "[PADi]" tokens. */
export function ggufVocab(tok: Tokenizer, vocabSize: number): { tokens: string[]; types: number[] } {
  if (tok.vocabSize > vocabSize)
    throw new RecapError(
      `tokenizer has ${tok.vocabSize} tokens but the model's vocab_size is ${vocabSize}`,
      "the tokenizer and the model do not belong together",
    );
  const tokens = Array.from({ length: tok.vocabSize }, (_, id) => tok.idToToken(id));
  const types = tok.tokenTypes().map((t) => TOKEN_TYPE_CODE[t]);
  const taken = new Set(tokens);
  for (let id = tok.vocabSize; id < vocabSize; id++) {
    const pad = `[PAD${id}]`;
    if (taken.has(pad)) throw new RecapError(`cannot pad the vocabulary: the tokenizer already has a token ${pad}`);
    tokens.push(pad);
    types.push(TOKEN_TYPE_CODE.unused);
  }
  return { tokens, types };
}

function metadata(src: ExportSource, dtype: ExportDtype): Map<string, GgufValue> {
  const c = src.config,
    tok = src.tokenizer,
    ids = tok.specialIds;
  const { tokens, types } = ggufVocab(tok, c.vocab_size);
  return new Map<string, GgufValue>([
    ["general.architecture", gv.str("llama")],
    ["general.name", gv.str(src.name ?? "recap")],
    ["general.file_type", gv.u32(dtype === "f16" ? 1 : 0)],
    ["general.alignment", gv.u32(32)],
    ["llama.vocab_size", gv.u32(c.vocab_size)],
    ["llama.context_length", gv.u32(c.max_position_embeddings)],
    ["llama.embedding_length", gv.u32(c.hidden_size)],
    ["llama.block_count", gv.u32(c.num_hidden_layers)],
    ["llama.feed_forward_length", gv.u32(c.intermediate_size)],
    ["llama.attention.head_count", gv.u32(c.num_attention_heads)],
    ["llama.attention.head_count_kv", gv.u32(c.num_key_value_heads)],
    ["llama.rope.dimension_count", gv.u32(headDim(c))],
    ["llama.rope.freq_base", gv.f32(c.rope_theta)],
    ["llama.attention.layer_norm_rms_epsilon", gv.f32(c.rms_norm_eps)],
    ["tokenizer.ggml.model", gv.str("gpt2")],
    ["tokenizer.ggml.pre", gv.str("qwen2")],
    ["tokenizer.ggml.tokens", gv.strs(tokens)],
    ["tokenizer.ggml.token_type", gv.i32s(types)],
    ["tokenizer.ggml.merges", gv.strs(tok.merges.map(([a, b]) => `${a} ${b}`))],
    ["tokenizer.ggml.bos_token_id", gv.u32(ids.eos)],
    ["tokenizer.ggml.eos_token_id", gv.u32(ids.eos)],
    ["tokenizer.ggml.padding_token_id", gv.u32(ids.pad)],
    ["tokenizer.ggml.add_bos_token", gv.bool(false)],
    ["tokenizer.ggml.add_eos_token", gv.bool(false)],
    ["tokenizer.chat_template", gv.str(src.chatTemplate)],
  ]);
}

function tensors(src: ExportSource, dtype: ExportDtype): GgufTensorToWrite[] {
  const c = src.config,
    D = headDim(c);
  return llamaTensorNames(c).map(({ hf, gguf, shape }) => {
    let data = src.params.get(hf);
    if (!data) throw new RecapError(`cannot export: the checkpoint has no tensor ${hf}`);
    if (gguf.endsWith("attn_q.weight")) data = permuteRopeRows(data, c.num_attention_heads, D, c.hidden_size);
    else if (gguf.endsWith("attn_k.weight")) data = permuteRopeRows(data, c.num_key_value_heads, D, c.hidden_size);
    return { name: gguf, shape, type: dtype === "f16" && shape.length >= 2 ? "F16" : "F32", data };
  });
}

/** The GGUF file of a model. */
export function buildLlamaGguf(src: ExportSource, dtype: ExportDtype): Uint8Array {
  return encodeGguf(metadata(src, dtype), tensors(src, dtype), 32);
}

// ---------------------------------------------------------------------------------------------
// Validation of a parsed file before llama.cpp sees it.

export interface LlamaGgufSummary {
  nVocab: number;
  nCtx: number;
  nLayer: number;
  eos: number;
  tokens: string[];
  tokenTypes: number[];
}

function need(f: GgufFile, where: string, key: string, type: GgufValue["type"]): GgufValue {
  const v = f.kv.get(key);
  if (!v)
    throw new RecapError(`${where}: missing metadata key ${key}`, "llama.cpp would abort on this file: re-export it");
  if (v.type !== type)
    throw new RecapError(`${where}: metadata key ${key} has type ${v.type}, expected ${type}`, "re-export the file");
  return v;
}
const num = (v: GgufValue): number => v.value as number;
type GgufArray = Extract<GgufValue, { type: "array" }>;
const needArray = (f: GgufFile, where: string, key: string): GgufArray => need(f, where, key, "array") as GgufArray;

function checkHyper(f: GgufFile, where: string): Record<string, number> {
  const arch = need(f, where, "general.architecture", "string").value;
  if (arch !== "llama")
    throw new RecapError(`${where}: general.architecture is ${JSON.stringify(arch)}, expected "llama"`);
  const h: Record<string, number> = {};
  for (const k of [
    "context_length",
    "embedding_length",
    "block_count",
    "feed_forward_length",
    "attention.head_count",
    "attention.head_count_kv",
    "rope.dimension_count",
  ]) {
    h[k] = num(need(f, where, `llama.${k}`, "uint32"));
    if (!(h[k]! > 0)) throw new RecapError(`${where}: llama.${k} must be positive`);
  }
  for (const k of ["rope.freq_base", "attention.layer_norm_rms_epsilon"])
    if (!(num(need(f, where, `llama.${k}`, "float32")) > 0))
      throw new RecapError(`${where}: llama.${k} must be positive`);
  const C = h["embedding_length"]!,
    Hq = h["attention.head_count"]!,
    Hkv = h["attention.head_count_kv"]!;
  if (C % Hq !== 0 || Hq % Hkv !== 0 || h["rope.dimension_count"] !== C / Hq)
    throw new RecapError(
      `${where}: inconsistent heads (embedding ${C}, heads ${Hq}, kv heads ${Hkv}, rope dims ${h["rope.dimension_count"]})`,
    );
  return h;
}

function checkVocab(f: GgufFile, where: string): Omit<LlamaGgufSummary, "nCtx" | "nLayer"> {
  const model = need(f, where, "tokenizer.ggml.model", "string").value;
  if (model !== "gpt2")
    throw new RecapError(`${where}: tokenizer.ggml.model is ${JSON.stringify(model)}, expected "gpt2"`);
  need(f, where, "tokenizer.ggml.pre", "string");
  const tokensV = needArray(f, where, "tokenizer.ggml.tokens");
  const typesV = needArray(f, where, "tokenizer.ggml.token_type");
  const mergesV = needArray(f, where, "tokenizer.ggml.merges");
  if (tokensV.itemType !== "string" || typesV.itemType !== "int32" || mergesV.itemType !== "string")
    throw new RecapError(`${where}: tokens and merges must be string arrays, token_type an int32 array`);
  const tokens = tokensV.value as string[],
    types = typesV.value as number[];
  if (tokens.length === 0 || types.length !== tokens.length)
    throw new RecapError(`${where}: ${tokens.length} tokens but ${types.length} token types`);
  const bad = types.findIndex((t) => !VALID_TOKEN_TYPES.has(t));
  if (bad >= 0) throw new RecapError(`${where}: token ${bad} has invalid type ${types[bad]}`);
  if (new Set(tokens).size !== tokens.length) throw new RecapError(`${where}: the token list has duplicates`);
  (mergesV.value as string[]).forEach((m, i) => {
    if (m.indexOf(" ", 1) < 1) throw new RecapError(`${where}: merge ${i} ${JSON.stringify(m)} is not "a b"`);
  });
  need(f, where, "tokenizer.ggml.add_bos_token", "bool");
  const ids: number[] = [];
  for (const k of ["bos", "eos", "padding"]) {
    const id = num(need(f, where, `tokenizer.ggml.${k}_token_id`, "uint32"));
    if (id >= tokens.length)
      throw new RecapError(`${where}: tokenizer.ggml.${k}_token_id ${id} is outside the ${tokens.length} tokens`);
    ids.push(id);
  }
  need(f, where, "tokenizer.chat_template", "string");
  return { nVocab: tokens.length, eos: ids[1]!, tokens, tokenTypes: types };
}

function checkTensors(f: GgufFile, where: string, h: Record<string, number>, nVocab: number): void {
  const C = h["embedding_length"]!,
    Hq = h["attention.head_count"]!,
    D = C / Hq,
    kvC = h["attention.head_count_kv"]! * D;
  const F = h["feed_forward_length"]!,
    L = h["block_count"]!;
  const want = new Map<string, number[]>([
    ["token_embd.weight", [nVocab, C]],
    ["output_norm.weight", [C]],
  ]);
  for (let l = 0; l < L; l++) {
    const p = `blk.${l}.`;
    for (const [n, s] of [
      ["attn_norm", [C]],
      ["attn_q", [C, C]],
      ["attn_k", [kvC, C]],
      ["attn_v", [kvC, C]],
      ["attn_output", [C, C]],
      ["ffn_norm", [C]],
      ["ffn_gate", [F, C]],
      ["ffn_up", [F, C]],
      ["ffn_down", [C, F]],
    ] as const)
      want.set(`${p}${n}.weight`, [...s]);
  }
  const byName = new Map(f.tensors.map((t) => [t.name, t]));
  if (byName.has("output.weight")) want.set("output.weight", [nVocab, C]);
  for (const [name, shape] of want) {
    const t = byName.get(name);
    if (!t)
      throw new RecapError(`${where}: missing tensor ${name}`, "llama.cpp would abort on this file: re-export it");
    if (t.shape.join(",") !== shape.join(","))
      throw new RecapError(
        `${where}: tensor ${name} has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}]`,
      );
    if (shape.length === 1 && t.type !== "F32") throw new RecapError(`${where}: norm tensor ${name} must be F32`);
  }
  for (const name of byName.keys()) if (!want.has(name)) throw new RecapError(`${where}: unexpected tensor ${name}`);
}

/** Checks that a parsed GGUF file has everything llama.cpp's llama loader needs; throws RecapError. */
export function checkLlamaGguf(f: GgufFile, where: string): LlamaGgufSummary {
  const h = checkHyper(f, where);
  const v = checkVocab(f, where);
  const vs = f.kv.get("llama.vocab_size");
  if (vs !== undefined && vs.value !== v.nVocab)
    throw new RecapError(`${where}: llama.vocab_size ${String(vs.value)} but ${v.nVocab} tokens`);
  checkTensors(f, where, h, v.nVocab);
  return { ...v, nCtx: h["context_length"]!, nLayer: h["block_count"]! };
}
