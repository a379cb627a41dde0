// The Hugging Face export: the folder round-trips through our own checkpoint loader (f32 bit for
// bit, f16 within half rounding), carries torch_dtype and the generation ids; and `recap export`
// as a user runs it, including its one-line errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { decodeGguf } from "../../src/export/gguf.ts";
import { checkLlamaGguf } from "../../src/export/gguf_llama.ts";
import { exportHf, loadExportSource } from "../../src/export/export.ts";
import { loadCheckpoint } from "../../src/model/checkpoint.ts";
import { decodeSafetensors } from "../../src/model/safetensors.ts";

const BIN = path.resolve("bin/recap.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-export-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

function recap(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: tmp, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const ckpt = path.join(tmp, "m");
const init = recap("model", "init", "--preset", "micro", "--seed", "3", "--out", "m");

test("f32 HF export round-trips through the checkpoint loader bit for bit", async () => {
  assert.equal(init.code, 0, init.stderr);
  const src = await loadExportSource(ckpt);
  await exportHf(src, path.join(tmp, "hf32"), "f32");
  const back = await loadCheckpoint(path.join(tmp, "hf32"));
  assert.equal(back.params.size, src.params.size);
  for (const [name, a] of src.params) assert.deepEqual(back.params.get(name), a, name);
  const config = JSON.parse(fs.readFileSync(path.join(tmp, "hf32/config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(config["torch_dtype"], "float32");
  assert.equal(Array.isArray(config["architectures"]) && config["architectures"][0], "LlamaForCausalLM");
  assert.equal(config["eos_token_id"], 1);
  const gen = JSON.parse(fs.readFileSync(path.join(tmp, "hf32/generation_config.json"), "utf8")) as Record<
    string,
    unknown
  >;
  assert.deepEqual(gen, { bos_token_id: 1, eos_token_id: 1, pad_token_id: 0 });
  assert.deepEqual(
    JSON.parse(fs.readFileSync(path.join(tmp, "hf32/tokenizer.json"), "utf8")),
    JSON.parse(fs.readFileSync(path.join(ckpt, "tokenizer.json"), "utf8")),
  );
  const tc = JSON.parse(fs.readFileSync(path.join(tmp, "hf32/tokenizer_config.json"), "utf8")) as Record<
    string,
    unknown
  >;
  assert.equal(typeof tc["chat_template"], "string");
});

test("f16 HF export stores F16 tensors within half rounding of the weights", async () => {
  const r = recap("export", "m", "--format", "hf", "--dtype", "f16", "--out", "hf16", "--json");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { checkpoint: "m", format: "hf", dtype: "f16", out: "hf16" });
  const raw = decodeSafetensors(new Uint8Array(fs.readFileSync(path.join(tmp, "hf16/model.safetensors"))), "hf16");
  assert.ok([...raw.tensors.values()].every((t) => t.dtype === "F16"));
  const orig = await loadCheckpoint(ckpt),
    back = await loadCheckpoint(path.join(tmp, "hf16"));
  let maxRel = 0,
    changed = 0;
  for (const [name, a] of orig.params) {
    const b = back.params.get(name)!;
    a.forEach((x, i) => {
      if (b[i] !== x) changed++;
      maxRel = Math.max(maxRel, Math.abs(b[i]! - x) / Math.max(Math.abs(x), 2 ** -14));
    });
  }
  assert.ok(changed > 0, "f16 rounding changes some weights");
  assert.ok(maxRel <= 2 ** -11, `max relative error ${maxRel}`);
  assert.equal(JSON.parse(fs.readFileSync(path.join(tmp, "hf16/config.json"), "utf8")).torch_dtype, "float16");
});

test("recap export --format gguf writes a valid llama GGUF", () => {
  const r = recap("export", "m", "--format", "gguf", "--out", "out/m.gguf", "--json");
  assert.equal(r.code, 0, r.stderr);
  const file = path.join(tmp, "out/m.gguf");
  const bytes = new Uint8Array(fs.readFileSync(file));
  assert.equal(JSON.parse(r.stdout).bytes, bytes.length);
  const s = checkLlamaGguf(decodeGguf(bytes, file), file);
  assert.equal(s.nVocab, 300);
});

test("bad export requests give one error line and exit 1", () => {
  fs.mkdirSync(path.join(tmp, "precious"), { recursive: true });
  fs.writeFileSync(path.join(tmp, "precious/notes.txt"), "keep me");
  const cases: [string[], RegExp][] = [
    [["export", "m", "--format", "onnx", "--out", "x"], /unknown --format "onnx"/],
    [["export", "m", "--format", "gguf", "--dtype", "q4", "--out", "x.gguf"], /unknown --dtype "q4"/],
    [["export", "nope", "--format", "gguf", "--out", "x.gguf"], /checkpoint directory nope does not exist/],
    [["export", "m", "--format", "hf", "--out", "precious"], /non-empty folder that is not a model export/],
    [["export", "m", "--format", "gguf", "--out", "precious"], /exists and is not a file/],
    [["export", "m", "--format", "hf", "--out", "m"], /is the checkpoint itself/],
  ];
  for (const [args, pattern] of cases) {
    const r = recap(...args);
    assert.equal(r.code, 1, args.join(" "));
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^error: /);
    assert.match(lines[0]!, pattern);
  }
  assert.equal(fs.readFileSync(path.join(tmp, "precious/notes.txt"), "utf8"), "keep me");
});
