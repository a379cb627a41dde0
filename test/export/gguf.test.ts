// The GGUF container and the llama GGUF export, without llama.cpp: round trips of every metadata
// type and of F32/F16 tensors, the on-disk layout (ggml dimension order, alignment), one-line
// errors for damaged files, the RoPE row permutation, and the exported model's keys, vocabulary
// padding, token types, tensor names and dtypes, plus the pre-load validation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.ts";
import { decodeGguf, encodeGguf, gv, tensorData } from "../../src/export/gguf.ts";
import type { GgufFile, GgufValue } from "../../src/export/gguf.ts";
import { buildLlamaGguf, checkLlamaGguf, permuteRopeRows } from "../../src/export/gguf_llama.ts";
import { trainBpe } from "../../src/model/bpe_train.ts";
import { CHAT_TEMPLATE } from "../../src/model/chat_template.ts";
import { presetConfig } from "../../src/model/config.ts";
import { initParams } from "../../src/model/llama.ts";
import { SEED_CORPUS } from "../../src/model/seed_corpus.ts";
import { f32ToF16Bits, f16BitsToF32 } from "../../src/model/safetensors.ts";
import { RecapError } from "../../src/util/errors.ts";

function sampleKv(): Map<string, GgufValue> {
  return new Map<string, GgufValue>([
    ["a.u8", { type: "uint8", value: 255 }],
    ["a.i8", { type: "int8", value: -128 }],
    ["a.u16", { type: "uint16", value: 65535 }],
    ["a.i16", { type: "int16", value: -32768 }],
    ["a.u32", gv.u32(4294967295)],
    ["a.i32", gv.i32(-5)],
    ["a.f32", gv.f32(0.5)],
    ["a.f64", { type: "float64", value: Math.PI }],
    ["a.bool", gv.bool(true)],
    ["a.str", gv.str("héllo ✓")],
    ["a.u64", { type: "uint64", value: 2n ** 60n }],
    ["a.i64", { type: "int64", value: -7 }],
    ["a.strs", gv.strs(["x", "", "yz"])],
    ["a.i32s", gv.i32s([1, -2, 3])],
    ["a.nested", { type: "array", itemType: "array", value: [gv.i32s([1]), gv.strs(["q"])] }],
  ]);
}

test("metadata and tensors round-trip; dims are stored fastest first, data aligned", () => {
  const w = Float32Array.from({ length: 6 }, (_, i) => i - 2.5); // (2, 3)
  const h = Float32Array.from([1, 0.1, -65504, 1e-8]); // (4)
  const bytes = encodeGguf(sampleKv(), [
    { name: "w", shape: [2, 3], type: "F32", data: w },
    { name: "h", shape: [4], type: "F16", data: h },
  ]);
  const f = decodeGguf(bytes, "mem.gguf");
  assert.equal(f.version, 3);
  assert.deepEqual([...f.kv], [...sampleKv()]);
  assert.deepEqual(
    f.tensors.map((t) => [t.name, t.shape, t.type]),
    [
      ["w", [2, 3], "F32"],
      ["h", [4], "F16"],
    ],
  );
  assert.deepEqual(tensorData(bytes, f.tensors[0]!), w);
  assert.deepEqual(
    [...tensorData(bytes, f.tensors[1]!)],
    [...h].map((x) => f16BitsToF32(f32ToF16Bits(x))),
  );
  for (const t of f.tensors) assert.equal(t.offset % 32, 0);
  assert.equal(f.dataOffset % 32, 0);
  // Raw layout: magic, version 3, then the first tensor info's dims are [3, 2] (ggml's ne order).
  const view = new DataView(bytes.buffer);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "GGUF");
  assert.equal(view.getUint32(4, true), 3);
  const nameAt = bytes.findIndex(
    (_, i) => i > 24 && bytes[i] === 0x77 && view.getBigUint64(i - 8, true) === 1n && bytes[i + 1] === 2,
  );
  assert.ok(nameAt > 0, "tensor info of w found");
  assert.equal(view.getUint32(nameAt + 1, true), 2);
  assert.deepEqual([view.getBigUint64(nameAt + 5, true), view.getBigUint64(nameAt + 13, true)], [3n, 2n]);
});

function expectBad(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeGguf(bytes, "bad.gguf"),
    (e: unknown) => e instanceof RecapError && /^bad\.gguf: /.test(e.message) && pattern.test(e.message),
  );
}

test("damaged files give one-line errors naming the file", () => {
  const good = encodeGguf(new Map([["k", gv.bool(true)]]), [
    { name: "t", shape: [8], type: "F32", data: new Float32Array(8) },
  ]);
  const edit = (at: number, bytes: number[]) => {
    const b = good.slice();
    b.set(bytes, at);
    return b;
  };
  expectBad(new TextEncoder().encode("not a gguf file at all, sorry"), /bad magic/);
  expectBad(edit(4, [2, 0, 0, 0]), /version 2/);
  expectBad(good.subarray(0, 30), /truncated/);
  expectBad(good.subarray(0, good.length - 4), /past the end/);
  const boolAt = 24 + 8 + 1 + 4; // header, key length, "k", value type
  expectBad(edit(boolAt, [7]), /bool holding 7/);
  expectBad(edit(16, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), /metadata count/);
  const offsetAt = boolAt + 1 + 8 + 1 + 4 + 8 + 4; // after the kv: name "t", n_dims, one dim, type
  expectBad(edit(offsetAt, [4]), /not a multiple of the alignment/);
  const dup = encodeGguf(
    new Map([
      ["k", gv.bool(true)],
      ["j", gv.bool(false)],
    ]),
    [],
  );
  dup.set([0x6b], 24 + 8 + 1 + 4 + 1 + 8); // rename "j" to "k"
  expectBad(dup, /duplicate metadata key k/);
});

/** HF rotate_half RoPE and llama.cpp's adjacent-pair RoPE on one head vector at position pos. */
function ropeHalf(x: Float64Array, pos: number, theta: number): Float64Array {
  const D = x.length,
    h = D / 2,
    y = new Float64Array(D);
  for (let i = 0; i < h; i++) {
    const a = pos * theta ** ((-2 * i) / D);
    y[i] = x[i]! * Math.cos(a) - x[i + h]! * Math.sin(a);
    y[i + h] = x[i + h]! * Math.cos(a) + x[i]! * Math.sin(a);
  }
  return y;
}
function ropePairs(x: Float64Array, pos: number, theta: number): Float64Array {
  const D = x.length,
    y = new Float64Array(D);
  for (let i = 0; i < D / 2; i++) {
    const a = pos * theta ** ((-2 * i) / D);
    y[2 * i] = x[2 * i]! * Math.cos(a) - x[2 * i + 1]! * Math.sin(a);
    y[2 * i + 1] = x[2 * i + 1]! * Math.cos(a) + x[2 * i]! * Math.sin(a);
  }
  return y;
}

test("permuted Q/K rows make llama.cpp's pair RoPE compute HF's rotate_half attention scores", () => {
  const rng = new Rng(3),
    H = 2,
    D = 8,
    C = 5;
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const wq = rand(H * D * C),
    wk = rand(H * D * C),
    x = rand(C),
    z = rand(C);
  const proj = (w: Float32Array, v: Float32Array, h: number) =>
    Float64Array.from({ length: D }, (_, r) => {
      let s = 0;
      for (let c = 0; c < C; c++) s += w[(h * D + r) * C + c]! * v[c]!;
      return s;
    });
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, ai, i) => s + ai * b[i]!, 0);
  const pq = permuteRopeRows(wq, H, D, C),
    pk = permuteRopeRows(wk, H, D, C);
  for (let h = 0; h < H; h++) {
    const hf = dot(ropeHalf(proj(wq, x, h), 7, 1e4), ropeHalf(proj(wk, z, h), 3, 1e4));
    const ll = dot(ropePairs(proj(pq, x, h), 7, 1e4), ropePairs(proj(pk, z, h), 3, 1e4));
    assert.ok(Math.abs(hf - ll) < 1e-9 * (1 + Math.abs(hf)), `head ${h}: ${hf} vs ${ll}`);
    const wrong = dot(ropePairs(proj(wq, x, h), 7, 1e4), ropePairs(proj(wk, z, h), 3, 1e4));
    assert.ok(Math.abs(hf - wrong) > 1e-3, "without the permutation the scores differ");
  }
  // Row mapping: llama row 2i <- HF row i, row 2i+1 <- HF row D/2 + i.
  assert.deepEqual([...pq.subarray(2 * C, 3 * C)], [...wq.subarray(1 * C, 2 * C)]);
  assert.deepEqual([...pq.subarray(3 * C, 4 * C)], [...wq.subarray((D / 2 + 1) * C, (D / 2 + 2) * C)]);
});

function microSource(tied: boolean) {
  const tokenizer = trainBpe([SEED_CORPUS], 280);
  const config = presetConfig("micro", { tie_word_embeddings: tied });
  return { config, params: initParams(config, 4), tokenizer, chatTemplate: CHAT_TEMPLATE, name: "m" };
}

test("the llama GGUF has llama.cpp's keys, a padded typed vocabulary and llama.cpp tensor names", () => {
  const src = microSource(false);
  const bytes = buildLlamaGguf(src, "f32");
  const f = decodeGguf(bytes, "m.gguf");
  const s = checkLlamaGguf(f, "m.gguf");
  const kv = (k: string) => f.kv.get(k)?.value;
  assert.equal(kv("general.architecture"), "llama");
  assert.equal(kv("llama.context_length"), 64);
  assert.equal(kv("llama.attention.head_count_kv"), 2);
  assert.equal(kv("llama.rope.dimension_count"), 8);
  assert.equal(kv("llama.rope.freq_base"), 10000);
  assert.ok(Math.abs((kv("llama.attention.layer_norm_rms_epsilon") as number) - 1e-5) < 1e-12);
  assert.equal(kv("tokenizer.ggml.model"), "gpt2");
  assert.equal(kv("tokenizer.ggml.pre"), "qwen2");
  assert.equal(kv("tokenizer.ggml.add_bos_token"), false);
  assert.equal(kv("tokenizer.ggml.eos_token_id"), 1);
  assert.equal(kv("tokenizer.ggml.padding_token_id"), 0);
  assert.equal(kv("tokenizer.chat_template"), CHAT_TEMPLATE);
  assert.equal(s.nVocab, 300);
  assert.deepEqual(s.tokens.slice(0, 7), [
    "<pad>",
    "<eos>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<think>",
    "</think>",
  ]);
  assert.deepEqual(s.tokenTypes.slice(0, 8), [3, 3, 3, 3, 3, 4, 4, 1]);
  assert.equal(s.tokens[7 + 0x20], "Ġ");
  assert.deepEqual(s.tokens.slice(280, 282), ["[PAD280]", "[PAD281]"]);
  assert.ok(s.tokenTypes.slice(280).every((t) => t === 5));
  assert.equal((f.kv.get("tokenizer.ggml.merges")!.value as string[]).length, src.tokenizer.merges.length);
  const names = f.tensors.map((t) => t.name);
  assert.deepEqual(names.slice(0, 3), ["token_embd.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.weight"]);
  assert.ok(
    names.includes("output.weight") && names.includes("blk.1.ffn_down.weight") && names.includes("output_norm.weight"),
  );
  const q = f.tensors.find((t) => t.name === "blk.0.attn_q.weight")!;
  assert.deepEqual(
    [...tensorData(bytes, q)],
    [...permuteRopeRows(src.params.get("model.layers.0.self_attn.q_proj.weight")!, 4, 8, 32)],
  );
  const v = f.tensors.find((t) => t.name === "blk.0.attn_v.weight")!;
  assert.deepEqual(tensorData(bytes, v), src.params.get("model.layers.0.self_attn.v_proj.weight"));
});

test("f16 export: matrices f16 within rounding, norms f32; tied embeddings have no output tensor", () => {
  const src = microSource(true);
  const bytes = buildLlamaGguf(src, "f16");
  const f = decodeGguf(bytes, "m16.gguf");
  checkLlamaGguf(f, "m16.gguf");
  assert.equal(f.kv.get("general.file_type")?.value, 1);
  assert.ok(!f.tensors.some((t) => t.name === "output.weight"));
  for (const t of f.tensors) assert.equal(t.type, t.shape.length === 1 ? "F32" : "F16", t.name);
  const e = f.tensors.find((t) => t.name === "token_embd.weight")!;
  const orig = src.params.get("model.embed_tokens.weight")!,
    got = tensorData(bytes, e);
  let maxRel = 0;
  orig.forEach((x, i) => (maxRel = Math.max(maxRel, Math.abs(got[i]! - x) / Math.max(Math.abs(x), 2 ** -14))));
  assert.ok(maxRel > 0 && maxRel <= 2 ** -11, `max relative error ${maxRel}`);
});

function without(f: GgufFile, key: string): GgufFile {
  const kv = new Map(f.kv);
  kv.delete(key);
  return { ...f, kv };
}

test("validation catches what would abort llama.cpp", () => {
  const f = decodeGguf(buildLlamaGguf(microSource(false), "f32"), "m.gguf");
  for (const key of [
    "llama.block_count",
    "tokenizer.ggml.merges",
    "tokenizer.ggml.eos_token_id",
    "llama.rope.freq_base",
  ])
    assert.throws(
      () => checkLlamaGguf(without(f, key), "m.gguf"),
      new RegExp(`missing metadata key ${key.replace(/\./g, "\\.")}`),
    );
  const noTensor = { ...f, tensors: f.tensors.filter((t) => t.name !== "blk.1.ffn_up.weight") };
  assert.throws(() => checkLlamaGguf(noTensor, "m.gguf"), /missing tensor blk\.1\.ffn_up\.weight/);
  const wrongType = new Map(f.kv).set("llama.block_count", gv.i32(2));
  assert.throws(() => checkLlamaGguf({ ...f, kv: wrongType }, "m.gguf"), /has type int32, expected uint32/);
  const badEos = new Map(f.kv).set("tokenizer.ggml.eos_token_id", gv.u32(300));
  assert.throws(() => checkLlamaGguf({ ...f, kv: badEos }, "m.gguf"), /outside the 300 tokens/);
});
