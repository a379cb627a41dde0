// Our engine against an independent PyTorch implementation of Llama (HF conventions), through
// golden files made by `npm run goldens` (bench/torch_reference.py): logits, per-token log-probs
// and every parameter gradient of loss = -sum(weights * logprobs), tied and untied embeddings;
// and the acceptance check of `recap model init --preset tiny --seed 1` + `recap logprobs`.
// Tolerance: relative 1e-4, per tensor: max |ours - torch| <= 1e-4 * max |torch|.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { refKernels } from "../../src/engine/ref.ts";
import { loadCheckpoint } from "../../src/model/checkpoint.ts";
import { backward, forward } from "../../src/model/forward.ts";
import { freshModel } from "../../src/model/init.ts";
import { Llama } from "../../src/model/llama.ts";
import { decodeSafetensors } from "../../src/model/safetensors.ts";

const REL = 1e-4;

function assertClose(ours: Float32Array, ref: Float32Array, what: string): void {
  assert.equal(ours.length, ref.length, `${what}: length`);
  let maxRef = 0,
    maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
    maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - ref[i]!));
  }
  assert.ok(maxRef > 0, `${what}: reference is all zeros`);
  assert.ok(maxDiff <= REL * maxRef, `${what}: max |diff| ${maxDiff} > ${REL} * max |ref| ${maxRef}`);
}

function f32(golden: ReturnType<typeof decodeSafetensors>, name: string): Float32Array {
  const t = golden.tensors.get(name);
  assert.ok(t && t.data instanceof Float32Array, `golden tensor ${name} missing`);
  return t.data as Float32Array;
}

for (const name of ["micro-untied", "micro-tied"]) {
  test(`logits, log-probs and gradients match PyTorch (${name})`, async () => {
    const ck = await loadCheckpoint(`test/golden/${name}`);
    const golden = decodeSafetensors(new Uint8Array(fs.readFileSync(`test/golden/${name}.golden.safetensors`)), name);
    const idsT = golden.tensors.get("input_ids")!;
    const [B, T1] = idsT.shape as [number, number];
    const T = T1 - 1;
    const all = idsT.data as Int32Array; // (B, T+1)
    const ids = new Int32Array(B * T),
      targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        ids[b * T + t] = all[b * T1 + t]!;
        targets[b * T + t] = all[b * T1 + t + 1]!;
      }
    const weights = f32(golden, "weights"); // (B, T)
    const m = new Llama(ck.config, ck.params, refKernels);
    m.zeroGrads();
    const { logprobs, cache } = forward(m, ids, targets, B, T);
    assertClose(cache.logits, f32(golden, "logits"), "logits");
    assertClose(logprobs, f32(golden, "logprobs"), "logprobs");
    backward(
      m,
      cache,
      Float32Array.from(weights, (w) => -w),
    );
    let grads = 0;
    for (const [pname, g] of m.grads) {
      assertClose(g, f32(golden, `grad.${pname}`), `grad ${pname}`);
      grads++;
    }
    assert.equal(grads, [...golden.tensors.keys()].filter((k) => k.startsWith("grad.")).length);
  });
}

test("acceptance: a fresh tiny seed-1 model's log-probs match PyTorch to 1e-4", () => {
  const doc = JSON.parse(fs.readFileSync("test/golden/tiny-seed1-acceptance.json", "utf8")) as {
    text: string;
    ids: number[];
    logprobs: number[];
  };
  const fresh = freshModel("tiny", 1);
  assert.deepEqual(fresh.tokenizer.encode(doc.text), doc.ids, "tokenizer changed: run `npm run goldens`");
  const m = new Llama(fresh.config, fresh.params, refKernels);
  const T = doc.ids.length - 1;
  const { logprobs } = forward(m, Int32Array.from(doc.ids.slice(0, T)), Int32Array.from(doc.ids.slice(1)), 1, T);
  for (let i = 0; i < T; i++)
    assert.ok(Math.abs(logprobs[i]! - doc.logprobs[i]!) < 1e-4, `token ${i}: ${logprobs[i]} vs ${doc.logprobs[i]}`);
});
