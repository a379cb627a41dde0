// Tests for checkpoint folders, the safetensors codec, half-precision conversions and atomic writes.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { presetConfig, paramSpecs, numel } from "../../src/model/config.ts";
import type { LlamaConfig } from "../../src/model/config.ts";
import { loadCheckpoint, saveCheckpoint } from "../../src/model/checkpoint.ts";
import type { TrainerState } from "../../src/model/checkpoint.ts";
import {
  bf16BitsToF32,
  decodeSafetensors,
  encodeSafetensors,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
} from "../../src/model/safetensors.ts";
import type { TensorToEncode } from "../../src/model/safetensors.ts";
import { replaceDirAtomic, writeFileAtomic } from "../../src/util/atomic.ts";
import { RecapError } from "../../src/util/errors.ts";

// ---------------------------------------------------------------------------------------------
// Helpers.

/** A small seeded generator (mulberry32) returning floats in [0, 1). */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTensors(config: LlamaConfig, seed: number): Map<string, Float32Array> {
  const rnd = seeded(seed);
  const out = new Map<string, Float32Array>();
  for (const s of paramSpecs(config)) {
    const a = new Float32Array(numel(s.shape));
    for (let i = 0; i < a.length; i++) a[i] = (rnd() - 0.5) * 0.2;
    out.set(s.name, a);
  }
  return out;
}

const TOKENIZER = { version: "1.0", model: { type: "BPE", vocab: { a: 0 }, merges: [] } };
const TOKENIZER_CONFIG = { model_max_length: 64, bos_token: "<s>" };

let root = "";
let counter = 0;
function tmpPath(name: string): string {
  return path.join(root, `${name}-${counter++}`);
}

/** Whether two arrays hold exactly the same bytes. */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Asserts the promise rejects with a RecapError whose message matches `re`. */
async function rejectsRecap(p: Promise<unknown>, re: RegExp): Promise<RecapError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RecapError, `expected a RecapError, got ${String(e)}`);
    assert.match(e.message, re);
    assert.ok(!e.message.includes("\n"), `error should be one line: ${e.message}`);
    return e;
  }
  assert.fail(`expected a rejection matching ${re}`);
}

function throwsRecap(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RecapError, `expected a RecapError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

/** A safetensors file from a raw header (object or JSON text) and a data buffer. */
function rawSafetensors(header: unknown, buf: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + buf.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(buf, 8 + json.length);
  return out;
}

before(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), "recap-ckpt-test-"));
});
after(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Round trips.

describe("checkpoint round trip", () => {
  for (const tied of [false, true]) {
    test(`save then load gives identical values (tie_word_embeddings: ${tied})`, async () => {
      const config = presetConfig("micro", { tie_word_embeddings: tied, bos_token_id: 1 });
      const params = randomTensors(config, 42);
      const trainerState: TrainerState = {
        step: 17,
        rngState: [1, 2, 3, 4294967295],
        m: randomTensors(config, 7),
        v: randomTensors(config, 8),
        extra: { lr: 0.001, note: "hi" },
      };
      const dir = tmpPath("rt");
      await saveCheckpoint(dir, {
        config,
        params,
        tokenizerJson: TOKENIZER,
        tokenizerConfig: TOKENIZER_CONFIG,
        trainerState,
      });
      const got = await loadCheckpoint(dir);
      assert.deepEqual(got.config, config);
      assert.equal(got.params.has("lm_head.weight"), !tied);
      assert.deepEqual(
        [...got.params.keys()],
        paramSpecs(config).map((s) => s.name),
      );
      for (const [name, a] of params) assert.ok(sameBytes(a, got.params.get(name)!), name);
      assert.deepEqual(got.tokenizerJson, TOKENIZER);
      assert.deepEqual(got.tokenizerConfig, TOKENIZER_CONFIG);
      const st = got.trainerState!;
      assert.equal(st.step, 17);
      assert.deepEqual(st.rngState, [1, 2, 3, 4294967295]);
      assert.deepEqual(st.extra, { lr: 0.001, note: "hi" });
      for (const [name, a] of trainerState.m) assert.ok(sameBytes(a, st.m.get(name)!), `m.${name}`);
      for (const [name, a] of trainerState.v) assert.ok(sameBytes(a, st.v.get(name)!), `v.${name}`);
      // Saving what was loaded reproduces the weight file byte for byte.
      const dir2 = tmpPath("rt2");
      await saveCheckpoint(dir2, { ...got, tokenizerJson: TOKENIZER, tokenizerConfig: TOKENIZER_CONFIG });
      const [w1, w2] = await Promise.all([dir, dir2].map((d) => fsp.readFile(path.join(d, "model.safetensors"))));
      assert.ok(sameBytes(w1!, w2!));
    });
  }

  test("files follow the HF layout", async () => {
    const config = presetConfig("micro");
    const dir = tmpPath("layout");
    await saveCheckpoint(dir, {
      config,
      params: randomTensors(config, 1),
      tokenizerJson: TOKENIZER,
      tokenizerConfig: {},
    });
    assert.deepEqual((await fsp.readdir(dir)).sort(), [
      "config.json",
      "model.safetensors",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    const cfg = JSON.parse(await fsp.readFile(path.join(dir, "config.json"), "utf8"));
    assert.deepEqual(cfg.architectures, ["LlamaForCausalLM"]);
    assert.equal(cfg.model_type, "llama");
    const bytes = new Uint8Array(await fsp.readFile(path.join(dir, "model.safetensors")));
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    assert.equal(n % 8, 0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8"));
    assert.deepEqual(header.__metadata__, { format: "pt" });
    const names = Object.keys(header).filter((k) => k !== "__metadata__");
    assert.deepEqual(
      names,
      paramSpecs(config).map((s) => s.name),
    );
    assert.equal(header["model.embed_tokens.weight"].dtype, "F32");
    assert.deepEqual(header["model.embed_tokens.weight"].data_offsets, [0, 300 * 32 * 4]);
  });

  test("saveCheckpoint rejects a param of the wrong length", async () => {
    const config = presetConfig("micro");
    const params = randomTensors(config, 1);
    params.set("model.norm.weight", new Float32Array(31));
    await rejectsRecap(
      saveCheckpoint(tmpPath("bad"), { config, params, tokenizerJson: {}, tokenizerConfig: {} }),
      /model\.norm\.weight.*31 values, expected 32/,
    );
  });

  test("safetensors codec keeps every dtype", () => {
    const bytes = encodeSafetensors(
      {
        a: { dtype: "F32", shape: [2, 2], data: new Float32Array([1, -2, 3.5, 0]) },
        b: { dtype: "F16", shape: [3], data: new Float32Array([1, 0.5, -65504]) },
        c: { dtype: "BF16", shape: [2], data: new Uint16Array([0x3f80, 0xc000]) },
        d: { dtype: "I32", shape: [2], data: new Int32Array([-7, 2147483647]) },
        e: { dtype: "I64", shape: [1], data: new BigInt64Array([-(2n ** 62n)]) },
        f: { dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
      },
      { k: "v" },
    );
    const { tensors, metadata } = decodeSafetensors(bytes, "mem");
    assert.deepEqual(metadata, { k: "v" });
    assert.deepEqual([...tensors.keys()], ["a", "b", "c", "d", "e", "f"]);
    assert.deepEqual([...tensors.get("a")!.data], [1, -2, 3.5, 0]);
    assert.equal(tensors.get("b")!.dtype, "F16");
    assert.deepEqual([...tensors.get("b")!.data], [1, 0.5, -65504]);
    assert.deepEqual([...tensors.get("c")!.data], [1, -2]);
    assert.deepEqual([...tensors.get("d")!.data], [-7, 2147483647]);
    assert.deepEqual([...tensors.get("e")!.data], [-(2n ** 62n)]);
    assert.deepEqual(tensors.get("f")!.shape, [0, 4]);
  });
});

// ---------------------------------------------------------------------------------------------
// Half precision.

describe("f16 / bf16 conversions", () => {
  test("f32 -> f16 exact values and rounding (ties to even)", () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff],
      [65519, 0x7bff],
      [65520, 0x7c00],
      [1e6, 0x7c00],
      [-1e6, 0xfc00],
      [0.1, 0x2e66],
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
      [1 + 2 ** -11 + 2 ** -20, 0x3c01],
      [2 ** -14, 0x0400],
      [1023 * 2 ** -24, 0x03ff],
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000],
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002],
      [-(2 ** -24), 0x8001],
      [2 ** -26, 0x0000],
      [1e-30, 0x0000],
      [(2047 / 2048) * 2 ** -14, 0x0400],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
    ];
    for (const [x, bits] of cases) assert.equal(f32ToF16Bits(x), bits, `f16(${x})`);
    const nan = f32ToF16Bits(NaN);
    assert.equal(nan & 0x7c00, 0x7c00);
    assert.notEqual(nan & 0x3ff, 0);
  });

  test("f16 -> f32 exact values", () => {
    assert.equal(f16BitsToF32(0x3c00), 1);
    assert.equal(f16BitsToF32(0x3555), 0.333251953125);
    assert.equal(f16BitsToF32(0x7bff), 65504);
    assert.equal(f16BitsToF32(0x0001), 2 ** -24);
    assert.equal(f16BitsToF32(0x03ff), 1023 * 2 ** -24);
    assert.equal(f16BitsToF32(0x0400), 2 ** -14);
    assert.ok(Object.is(f16BitsToF32(0x8000), -0));
    assert.equal(f16BitsToF32(0x7c00), Infinity);
    assert.equal(f16BitsToF32(0xfc00), -Infinity);
    assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
    assert.ok(Number.isNaN(f16BitsToF32(0xfc01)));
  });

  test("every non-NaN f16 survives f16 -> f32 -> f16", () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue;
      assert.equal(f32ToF16Bits(f16BitsToF32(h)), h);
    }
  });

  test("f32 -> bf16 exact values, rounding, subnormals, inf, nan", () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3f80],
      [-2, 0xc000],
      [Infinity, 0x7f80],
      [-Infinity, 0xff80],
      [1 + 2 ** -8, 0x3f80],
      [1 + 3 * 2 ** -8, 0x3f82],
      [1 + 2 ** -8 + 2 ** -20, 0x3f81],
      [3.4028234663852886e38, 0x7f80],
      [1e-40, 0x0001],
      [2 ** -133, 0x0001],
    ];
    for (const [x, bits] of cases) assert.equal(f32ToBf16Bits(x), bits, `bf16(${x})`);
    const nan = f32ToBf16Bits(NaN);
    assert.ok(Number.isNaN(bf16BitsToF32(nan)));
    assert.equal(bf16BitsToF32(0x3f80), 1);
    assert.equal(bf16BitsToF32(0x0001), 2 ** -133);
    assert.equal(bf16BitsToF32(0xff80), -Infinity);
    for (let b = 0; b < 0x10000; b++) {
      if ((b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0) continue;
      assert.equal(f32ToBf16Bits(bf16BitsToF32(b)), b);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Atomic writes.

describe("atomic writes", () => {
  const config = presetConfig("micro");
  const save = (dir: string, seed: number) =>
    saveCheckpoint(dir, { config, params: randomTensors(config, seed), tokenizerJson: TOKENIZER, tokenizerConfig: {} });

  test("a failing fill leaves the old checkpoint intact and no temp dirs", async () => {
    const parent = tmpPath("atomic");
    await fsp.mkdir(parent);
    const dir = path.join(parent, "ckpt");
    await save(dir, 1);
    const before = await fsp.readFile(path.join(dir, "model.safetensors"));
    await assert.rejects(
      replaceDirAtomic(dir, async (tmp) => {
        await fsp.writeFile(path.join(tmp, "config.json"), "{}");
        throw new Error("disk full");
      }),
      /disk full/,
    );
    assert.ok(sameBytes(before, await fsp.readFile(path.join(dir, "model.safetensors"))));
    assert.deepEqual(await fsp.readdir(parent), ["ckpt"]);
    const loaded = await loadCheckpoint(dir);
    assert.ok(sameBytes(loaded.params.get("model.norm.weight")!, randomTensors(config, 1).get("model.norm.weight")!));
  });

  test("saving over an existing checkpoint replaces it entirely", async () => {
    const parent = tmpPath("atomic");
    await fsp.mkdir(parent);
    const dir = path.join(parent, "ckpt");
    const m = randomTensors(config, 3);
    await saveCheckpoint(dir, {
      config,
      params: randomTensors(config, 1),
      tokenizerJson: TOKENIZER,
      tokenizerConfig: {},
      trainerState: { step: 1, rngState: [1], m, v: m },
    });
    await save(dir, 2);
    assert.deepEqual(await fsp.readdir(parent), ["ckpt"]);
    const loaded = await loadCheckpoint(dir);
    assert.equal(loaded.trainerState, undefined);
    const want = randomTensors(config, 2).get("model.embed_tokens.weight")!;
    assert.ok(sameBytes(loaded.params.get("model.embed_tokens.weight")!, want));
  });

  test("writeFileAtomic writes and overwrites without leftovers", async () => {
    const parent = tmpPath("wfa");
    await fsp.mkdir(parent);
    const f = path.join(parent, "a.json");
    await writeFileAtomic(f, "one");
    await writeFileAtomic(f, new Uint8Array([116, 119, 111]));
    assert.equal(await fsp.readFile(f, "utf8"), "two");
    assert.deepEqual(await fsp.readdir(parent), ["a.json"]);
    await assert.rejects(writeFileAtomic(path.join(parent, "missing", "b"), "x"));
    assert.deepEqual(await fsp.readdir(parent), ["a.json"]);
  });
});

// ---------------------------------------------------------------------------------------------
// Corruption: every problem is a one-line RecapError that names it.

describe("corrupt checkpoints", () => {
  const config = presetConfig("micro");
  const params = randomTensors(config, 5);
  const m = randomTensors(config, 6);
  let good = "";

  before(async () => {
    good = tmpPath("good");
    await saveCheckpoint(good, {
      config,
      params,
      tokenizerJson: TOKENIZER,
      tokenizerConfig: TOKENIZER_CONFIG,
      trainerState: { step: 3, rngState: [9], m, v: m },
    });
  });

  /** A copy of the good checkpoint, with `mutate` applied. */
  async function variant(mutate: (dir: string) => Promise<void>): Promise<string> {
    const dir = tmpPath("bad");
    await fsp.cp(good, dir, { recursive: true });
    await mutate(dir);
    return dir;
  }
  const weights = (dir: string) => path.join(dir, "model.safetensors");
  /** Rewrites model.safetensors from the good params, edited by `edit`. */
  const rewriteWeights = (edit: (t: Record<string, TensorToEncode>) => void) => async (dir: string) => {
    const t: Record<string, TensorToEncode> = {};
    for (const s of paramSpecs(config)) t[s.name] = { dtype: "F32", shape: s.shape, data: params.get(s.name)!.slice() };
    edit(t);
    await fsp.writeFile(weights(dir), encodeSafetensors(t, { format: "pt" }));
  };
  const loadVariant = async (mutate: (dir: string) => Promise<void>) => loadCheckpoint(await variant(mutate));

  test("truncated file", async () => {
    await rejectsRecap(
      loadVariant((d) => fsp.truncate(weights(d), 5)),
      /model\.safetensors: is only 5 bytes/,
    );
    await rejectsRecap(
      loadVariant((d) => fsp.truncate(weights(d), 1000)),
      /beyond the end|truncated/,
    );
  });

  test("header length beyond the file, and absurd", async () => {
    const setLen = (n: bigint) => async (d: string) => {
      const b = new Uint8Array(await fsp.readFile(weights(d)));
      new DataView(b.buffer, b.byteOffset).setBigUint64(0, n, true);
      await fsp.writeFile(weights(d), b);
    };
    await rejectsRecap(loadVariant(setLen(1_000_000n)), /header length 1000000 runs beyond the end/);
    await rejectsRecap(loadVariant(setLen(2n ** 63n)), /header length \d+ is absurd/);
  });

  test("header not JSON, or not an object", async () => {
    await rejectsRecap(
      loadVariant((d) => fsp.writeFile(weights(d), rawSafetensors("{not json"))),
      /header is not valid JSON/,
    );
    await rejectsRecap(
      loadVariant((d) => fsp.writeFile(weights(d), rawSafetensors("[1, 2]"))),
      /header JSON is not an object/,
    );
  });

  test("wrong dtype: unknown, unsupported, integer, and half accepted", async () => {
    throwsRecap(
      () =>
        decodeSafetensors(
          rawSafetensors({ a: { dtype: "Q4", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
          "x.safetensors",
        ),
      /x\.safetensors: tensor "a" has unknown dtype "Q4"/,
    );
    throwsRecap(
      () =>
        decodeSafetensors(
          rawSafetensors({ a: { dtype: "F64", shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
          "x",
        ),
      /unsupported dtype "F64"/,
    );
    await rejectsRecap(
      loadVariant(
        rewriteWeights((t) => {
          t["model.norm.weight"] = { dtype: "I32", shape: [32], data: new Int32Array(32) };
        }),
      ),
      /tensor "model\.norm\.weight" has dtype I32, expected F32/,
    );
    const half = await loadVariant(
      rewriteWeights((t) => {
        for (const v of Object.values(t)) v.dtype = "F16";
        t["model.norm.weight"]!.dtype = "BF16";
      }),
    );
    const want = params.get("model.embed_tokens.weight")!;
    const got = half.params.get("model.embed_tokens.weight")!;
    assert.ok(got.every((x, i) => Math.abs(x - want[i]!) <= 1e-3 * Math.abs(want[i]!) + 1e-7));
  });

  test("bad shape or offsets in the header", () => {
    const one =
      (entry: object, buf = 4) =>
      () =>
        decodeSafetensors(rawSafetensors({ a: entry }, new Uint8Array(buf)), "f");
    throwsRecap(one({ dtype: "F32", shape: [-1], data_offsets: [0, 4] }), /shape \[-1\].*non-negative integers/);
    throwsRecap(one({ dtype: "F32", shape: "4", data_offsets: [0, 4] }), /not an array of non-negative integers/);
    throwsRecap(one({ dtype: "F32", shape: [1], data_offsets: [0] }), /expected two non-negative integers/);
    throwsRecap(one({ dtype: "F32", shape: [1], data_offsets: [4, 0] }), /end before begin/);
    throwsRecap(one({ dtype: "F32", shape: [2], data_offsets: [0, 8] }), /beyond the 4-byte data buffer/);
    throwsRecap(one({ dtype: "F32", shape: [2], data_offsets: [0, 4] }), /spans 4 bytes but .* needs 8/);
    throwsRecap(one({ dtype: "F32", shape: [1e9, 1e9, 1e9], data_offsets: [0, 4] }), /absurd shape/);
  });

  test("gaps, overlaps and trailing bytes", () => {
    const f = (a: [number, number], b: [number, number], len: number) => () =>
      decodeSafetensors(
        rawSafetensors(
          {
            a: { dtype: "F32", shape: [1], data_offsets: a },
            b: { dtype: "F32", shape: [1], data_offsets: b },
          },
          new Uint8Array(len),
        ),
        "g.safetensors",
      );
    throwsRecap(f([0, 4], [8, 12], 12), /g\.safetensors: gap of 4 unused bytes between tensor "a" and tensor "b"/);
    throwsRecap(f([4, 8], [8, 12], 12), /gap of 4 unused bytes between the start of the data buffer and tensor "a"/);
    throwsRecap(f([0, 4], [2, 6], 8), /tensor "b" \(bytes 2\.\.6\) overlaps tensor "a"/);
    throwsRecap(f([0, 4], [4, 8], 12), /4 trailing bytes after the last tensor/);
  });

  test("wrong shape", async () => {
    await rejectsRecap(
      loadVariant(
        rewriteWeights((t) => {
          t["model.embed_tokens.weight"]!.shape = [32, 300];
        }),
      ),
      /tensor "model\.embed_tokens\.weight" has shape \[32, 300\], expected \[300, 32\]/,
    );
  });

  test("missing tensor", async () => {
    await rejectsRecap(
      loadVariant(
        rewriteWeights((t) => {
          delete t["model.layers.1.mlp.up_proj.weight"];
        }),
      ),
      /missing tensor "model\.layers\.1\.mlp\.up_proj\.weight"/,
    );
  });

  test("extra tensor (including lm_head in a tied config)", async () => {
    await rejectsRecap(
      loadVariant(
        rewriteWeights((t) => {
          t["foo.bias"] = { dtype: "F32", shape: [2], data: new Float32Array(2) };
        }),
      ),
      /unexpected tensor "foo\.bias"/,
    );
    await rejectsRecap(
      loadVariant(async (d) => {
        const cfg = JSON.parse(await fsp.readFile(path.join(d, "config.json"), "utf8"));
        await fsp.writeFile(path.join(d, "config.json"), JSON.stringify({ ...cfg, tie_word_embeddings: true }));
        await fsp.rm(path.join(d, "trainer_state.json"));
        await fsp.rm(path.join(d, "optimizer.safetensors"));
      }),
      /unexpected tensor "lm_head\.weight"/,
    );
  });

  test("NaN or Inf weight", async () => {
    await rejectsRecap(
      loadVariant(
        rewriteWeights((t) => {
          (t["model.layers.0.self_attn.k_proj.weight"]!.data as Float32Array)[5] = NaN;
        }),
      ),
      /tensor "model\.layers\.0\.self_attn\.k_proj\.weight" holds NaN at index 5/,
    );
    await rejectsRecap(
      loadVariant(
        rewriteWeights((t) => {
          (t["model.norm.weight"]!.data as Float32Array)[0] = -Infinity;
        }),
      ),
      /"model\.norm\.weight" holds -Infinity/,
    );
  });

  test("bad config", async () => {
    const setCfg = (patch: object | string) => async (d: string) => {
      const cfg = JSON.parse(await fsp.readFile(path.join(d, "config.json"), "utf8"));
      const text = typeof patch === "string" ? patch : JSON.stringify({ ...cfg, ...patch });
      await fsp.writeFile(path.join(d, "config.json"), text);
    };
    await rejectsRecap(
      loadVariant(setCfg({ num_attention_heads: 3 })),
      /config\.json.*hidden_size 32 must be divisible by num_attention_heads 3/,
    );
    await rejectsRecap(loadVariant(setCfg({ vocab_size: -5 })), /config\.json.*vocab_size/);
    await rejectsRecap(loadVariant(setCfg("{ nope")), /config\.json is not valid JSON/);
  });

  test("missing files and directory", async () => {
    await rejectsRecap(
      loadCheckpoint(path.join(root, "no-such-dir")),
      /checkpoint directory .*no-such-dir does not exist/,
    );
    await rejectsRecap(
      loadVariant((d) => fsp.rm(path.join(d, "tokenizer.json"))),
      /is missing tokenizer\.json/,
    );
    await rejectsRecap(
      loadVariant((d) => fsp.rm(weights(d))),
      /is missing model\.safetensors/,
    );
    await rejectsRecap(
      loadVariant((d) => fsp.writeFile(path.join(d, "tokenizer.json"), "{")),
      /tokenizer\.json is not valid JSON/,
    );
  });

  test("mismatched optimizer sidecar", async () => {
    await rejectsRecap(
      loadVariant((d) => fsp.rm(path.join(d, "optimizer.safetensors"))),
      /has trainer_state\.json but not optimizer\.safetensors/,
    );
    await rejectsRecap(
      loadVariant((d) => fsp.writeFile(path.join(d, "trainer_state.json"), '{"step": -1, "rng_state": []}')),
      /trainer_state\.json: "step" must be a non-negative integer/,
    );
    await rejectsRecap(
      loadVariant(async (d) => {
        const t: Record<string, TensorToEncode> = {};
        for (const s of paramSpecs(config)) t[`m.${s.name}`] = { dtype: "F32", shape: s.shape, data: m.get(s.name)! };
        await fsp.writeFile(path.join(d, "optimizer.safetensors"), encodeSafetensors(t));
      }),
      /optimizer\.safetensors: missing tensor "v\.model\.embed_tokens\.weight"/,
    );
  });

  test("random corruption never escapes as a raw error", async () => {
    const good = new Uint8Array(
      await fsp.readFile(
        weights(
          await variant(
            rewriteWeights((t) => {
              for (const k of Object.keys(t)) if (k.startsWith("model.layers")) delete t[k];
            }),
          ),
        ),
      ),
    );
    const rnd = seeded(99);
    for (let i = 0; i < 400; i++) {
      const b = good.slice(0, i % 4 === 0 ? Math.floor(rnd() * good.length) : good.length);
      for (let k = 0; k < 3; k++) b[Math.floor(rnd() * Math.min(b.length, 400))] = Math.floor(rnd() * 256);
      try {
        decodeSafetensors(b, "fuzz");
      } catch (e) {
        assert.ok(e instanceof RecapError, `raw error escaped: ${String(e)}`);
      }
    }
  });
});
