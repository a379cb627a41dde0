// Sampler: reproducible from a seed, rows independent of batch composition, greedy equals the
// argmax of the training forward, stop tokens and strings, top-k / top-p restrictions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { refKernels } from "../../src/engine/ref.ts";
import { Rng } from "../../src/engine/rng.ts";
import { presetConfig } from "../../src/model/config.ts";
import { forward } from "../../src/model/forward.ts";
import { Llama, initParams } from "../../src/model/llama.ts";
import { PREFILL_ROWS, argmax, drawToken, sample } from "../../src/model/sampler.ts";
import { selectKernels } from "../../src/engine/select.ts";

const model = new Llama(
  presetConfig("micro", { initializer_range: 0.3 }),
  initParams(presetConfig("micro", { initializer_range: 0.3 }), 2),
  refKernels,
);
const V = model.config.vocab_size;
const prompts = [
  [5, 6, 7, 8],
  [9, 10],
  [11, 12, 13],
];

test("same seed, same samples; another seed, other samples", () => {
  const a = sample(model, prompts, { maxNewTokens: 12, seed: 4 });
  const b = sample(model, prompts, { maxNewTokens: 12, seed: 4 });
  const c = sample(model, prompts, { maxNewTokens: 12, seed: 5 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(
    a.map((r) => r.tokens),
    c.map((r) => r.tokens),
  );
  for (const r of a) {
    assert.equal(r.tokens.length, 12);
    assert.equal(r.finishReason, "length");
  }
});

test("a row's sample does not depend on the other rows of the batch", () => {
  const batch = sample(model, prompts, { maxNewTokens: 10, seed: 9 });
  const alone = sample(model, [prompts[0]!], { maxNewTokens: 10, seed: 9 });
  assert.deepEqual(batch[0]!.tokens, alone[0]!.tokens);
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(batch[0]!.logprobs[i]! - alone[0]!.logprobs[i]!) < 1e-4);
});

test("a batch larger than one prefill chunk samples what its rows sample alone (wasm kernels)", () => {
  const k = selectKernels("wasm");
  const m = new Llama(model.config, model.params, k);
  const rng = new Rng(12);
  const n = PREFILL_ROWS + 9;
  // Equal lengths (no left padding): a row computes exactly what it computes alone, bit for bit.
  const even = Array.from({ length: n }, () => Array.from({ length: 6 }, () => 1 + rng.int(V - 1)));
  // Ragged lengths: each chunk's rows keep their own key starts (padding moves f32 sums a little).
  const ragged = Array.from({ length: n }, () => Array.from({ length: 2 + rng.int(9) }, () => 1 + rng.int(V - 1)));
  const seeds = even.map((_, i) => 100 + i);
  const a = sample(m, even, { maxNewTokens: 8, rowSeeds: seeds });
  const b = sample(m, ragged, { maxNewTokens: 8, rowSeeds: seeds });
  for (const i of [0, PREFILL_ROWS - 1, PREFILL_ROWS, n - 1]) {
    assert.deepEqual(a[i], sample(m, [even[i]!], { maxNewTokens: 8, rowSeeds: [seeds[i]!] })[0], `row ${i}`);
    const alone = sample(m, [ragged[i]!], { maxNewTokens: 8, rowSeeds: [seeds[i]!] })[0]!;
    assert.deepEqual(b[i]!.tokens, alone.tokens, `ragged row ${i}`);
    b[i]!.logprobs.forEach((x, t) => assert.ok(Math.abs(x - alone.logprobs[t]!) < 1e-4, `ragged row ${i} step ${t}`));
  }
});

test("greedy decoding follows the training forward's argmax and log-probs", () => {
  const [r] = sample(model, [prompts[1]!], { maxNewTokens: 8, temperature: 0 });
  const seq = [...prompts[1]!, ...r!.tokens];
  const T = seq.length - 1;
  const { cache, logprobs } = forward(model, Int32Array.from(seq.slice(0, T)), Int32Array.from(seq.slice(1)), 1, T);
  for (let i = 0; i < 8; i++) {
    const t = prompts[1]!.length - 1 + i;
    assert.equal(r!.tokens[i], argmax(cache.logits.subarray(t * V, (t + 1) * V)));
    assert.ok(Math.abs(r!.logprobs[i]! - logprobs[t]!) < 1e-4);
  }
});

test("stops on a stop token and on a stop string", () => {
  const [free] = sample(model, [prompts[0]!], { maxNewTokens: 10, seed: 1 });
  const stopId = free!.tokens[3]!;
  const [stopped] = sample(model, [prompts[0]!], { maxNewTokens: 10, seed: 1, stopTokenIds: [stopId] });
  const first = free!.tokens.indexOf(stopId);
  assert.deepEqual(stopped!.tokens, free!.tokens.slice(0, first + 1));
  assert.equal(stopped!.finishReason, "stop");
  const decode = (ids: number[]) => ids.map((i) => `<${i}>`).join("");
  const target = `<${free!.tokens[5]}>`;
  const [s2] = sample(model, [prompts[0]!], { maxNewTokens: 10, seed: 1, stop: [target], decode });
  assert.equal(s2!.finishReason, "stop");
  assert.equal(s2!.stopString, target);
  assert.ok(decode(s2!.tokens).endsWith(target));
  assert.ok(s2!.tokens.length <= 6);
});

test("top-k 1 is greedy; top-p keeps only the nucleus", () => {
  const greedy = sample(model, prompts, { maxNewTokens: 6, temperature: 0 });
  const k1 = sample(model, prompts, { maxNewTokens: 6, temperature: 1.5, topK: 1, seed: 3 });
  assert.deepEqual(
    k1.map((r) => r.tokens),
    greedy.map((r) => r.tokens),
  );
  // A row where one token holds 70% of the mass: top-p 0.5 must always pick it.
  const row = new Float32Array(8).fill(0);
  row[3] = Math.log((0.7 * 7) / 0.3);
  const rng = new Rng(0);
  for (let i = 0; i < 50; i++) assert.equal(drawToken(row, 1, 0, 0.5, rng), 3);
  let other = 0;
  for (let i = 0; i < 400; i++) if (drawToken(row, 1, 0, 1, rng) !== 3) other++;
  assert.ok(other > 70 && other < 170, `untruncated sampling picked other tokens ${other}/400 times, expected ~120`);
});

test("bad options fail with a clear message", () => {
  assert.throws(() => sample(model, prompts, { maxNewTokens: 0 }), /maxNewTokens/);
  assert.throws(() => sample(model, prompts, { maxNewTokens: 3, topP: 0 }), /topP/);
  assert.throws(() => sample(model, [[]], { maxNewTokens: 3 }), /empty/);
  assert.throws(
    () => sample(model, [Array.from({ length: 64 }, () => 3)], { maxNewTokens: 1 }),
    /leaves no room in the model's context of 64/,
  );
  assert.throws(() => sample(model, [[V + 5]], { maxNewTokens: 2 }), /vocabulary/);
});

test("vocabLimit: ids at or above the limit are never drawn", () => {
  const rs = sample(model, prompts, { maxNewTokens: 20, seed: 2, temperature: 3, vocabLimit: 40 });
  for (const r of rs) assert.ok(r.tokens.every((t) => t < 40));
  const greedy = sample(model, prompts, { maxNewTokens: 5, temperature: 0, vocabLimit: 2 });
  for (const r of greedy) assert.ok(r.tokens.every((t) => t < 2));
});

test("each row's generation limit is its own: the context left after its prompt, whatever the batch", () => {
  // micro's context is 64 positions: a 4-token prompt may take 60 tokens, a 50-token prompt 14.
  const short = [5, 6, 7, 8],
    long = Array.from({ length: 50 }, (_, i) => 20 + i);
  const opts = { maxNewTokens: 60, temperature: 3, rowSeeds: [7, 8] };
  const [a, b] = sample(model, [short, long], opts);
  const [aAlone] = sample(model, [short], { ...opts, rowSeeds: [7] });
  const [bAlone] = sample(model, [long], { ...opts, rowSeeds: [8] });
  assert.deepEqual(a!.tokens, aAlone!.tokens, "the short row keeps its full budget next to a long one");
  assert.deepEqual(b!.tokens, bAlone!.tokens);
  assert.ok(a!.tokens.length > 14, `the short row is not cut at the long row's limit: ${a!.tokens.length}`);
  assert.ok(b!.tokens.length <= 14);
  if (b!.tokens.length === 14) assert.equal(b!.finishReason, "length");
  const [full] = sample(model, [[1, 2]], { maxNewTokens: 100, temperature: 3, seed: 1 });
  assert.ok(full!.tokens.length <= 62, "a row stops where its prompt and tokens fill the context");
});
