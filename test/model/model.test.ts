// Whole-model checks: finite-difference gradients through every parameter tensor, the cached
// inference path against the training forward (including left padding and one-token decoding),
// and a short training run that lowers the loss and moves every parameter.
import { test } from "node:test";
import assert from "node:assert/strict";
import { refKernels } from "../../src/engine/ref.ts";
import { Rng } from "../../src/engine/rng.ts";
import { decayedParamNames, presetConfig } from "../../src/model/config.ts";
import { backward, forward } from "../../src/model/forward.ts";
import { KVCache, inferStep } from "../../src/model/infer.ts";
import { Llama, initParams } from "../../src/model/llama.ts";
import { AdamW } from "../../src/model/optim.ts";
import { lengthBuckets, lmTrainStep } from "../../src/model/train_step.ts";

function microModel(seed: number, tied = false, std = 0.2): Llama {
  const config = presetConfig("micro", { tie_word_embeddings: tied, initializer_range: std });
  const params = initParams(config, seed);
  // Non-trivial norm weights so their gradients are exercised too.
  const rng = new Rng(seed + 100);
  for (const [name, a] of params)
    if (name.endsWith("norm.weight")) for (let i = 0; i < a.length; i++) a[i] = 1 + 0.3 * rng.normal();
  return new Llama(config, params, refKernels);
}

function randomIds(rng: Rng, n: number, V: number): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(V));
}

/** loss = -sum(w * logp) evaluated in float64 over float32 forward results. */
function weightedLoss(m: Llama, ids: Int32Array, targets: Int32Array, w: Float32Array, B: number, T: number): number {
  const { logprobs } = forward(m, ids, targets, B, T);
  let s = 0;
  for (let i = 0; i < w.length; i++) s -= w[i]! * logprobs[i]!;
  return s;
}

for (const tied of [false, true]) {
  test(`finite differences agree with backward for every tensor (${tied ? "tied" : "untied"} embeddings)`, () => {
    const m = microModel(3, tied);
    const rng = new Rng(7);
    const B = 2,
      T = 7,
      V = m.config.vocab_size;
    const ids = randomIds(rng, B * T, V),
      targets = randomIds(rng, B * T, V);
    const w = Float32Array.from({ length: B * T }, () => rng.normal());
    m.zeroGrads();
    const { logprobs, cache } = forward(m, ids, targets, B, T);
    backward(
      m,
      cache,
      Float32Array.from(w, (x) => -x),
    );
    assert.ok(logprobs.every((x) => x < 0));
    const eps = 1e-2;
    let checked = 0;
    for (const [name, p] of m.params) {
      const g = m.grads.get(name)!;
      // The entries with the largest analytic gradient, plus two random ones.
      const idx = [...g.keys()].sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, 2);
      idx.push(rng.int(p.length), rng.int(p.length));
      for (const i of idx) {
        const old = p[i]!;
        p[i] = old + eps;
        const up = weightedLoss(m, ids, targets, w, B, T);
        p[i] = old - eps;
        const down = weightedLoss(m, ids, targets, w, B, T);
        p[i] = old;
        const num = (up - down) / (2 * eps);
        const tol = 3e-3 + 2e-2 * Math.abs(num);
        assert.ok(Math.abs(g[i]! - num) <= tol, `${name}[${i}]: backward ${g[i]} vs finite difference ${num}`);
        checked++;
      }
    }
    assert.equal(checked, m.params.size * 4);
  });
}

test("cached inference reproduces the training forward, with left padding and one-token steps", () => {
  const m = microModel(5);
  const rng = new Rng(11);
  const V = m.config.vocab_size;
  const lengths = [9, 5, 7];
  const seqs = lengths.map((L) => Array.from(randomIds(rng, L, V)));
  // Reference: each sequence alone through the training forward; log-probs of its own next tokens.
  const refLogp = seqs.map((s) => {
    const T = s.length - 1;
    return forward(m, Int32Array.from(s.slice(0, T)), Int32Array.from(s.slice(1)), 1, T).logprobs;
  });
  // Batched, left-padded: prompt = first 3 tokens of each row padded to 3... use per-row prompts of
  // different lengths, then feed the rest one token at a time.
  const prompts = seqs.map((s, b) => s.slice(0, 2 + b));
  const P = Math.max(...prompts.map((p) => p.length));
  const cache = new KVCache(
    m,
    3,
    16,
    Int32Array.from(prompts, (p) => P - p.length),
  );
  const ids = new Int32Array(3 * P);
  prompts.forEach((p, b) => ids.set(p, b * P + P - p.length));
  const all = inferStep(m, cache, ids, P, true); // (B, P, V)
  const lsm = (row: Float32Array, id: number) => {
    let mx = -Infinity;
    for (const x of row) mx = Math.max(mx, x);
    let s = 0;
    for (const x of row) s += Math.exp(x - mx);
    return row[id]! - mx - Math.log(s);
  };
  for (let b = 0; b < 3; b++) {
    const p = prompts[b]!;
    for (let t = 0; t < p.length - 1; t++) {
      const row = all.subarray((b * P + P - p.length + t) * V, (b * P + P - p.length + t + 1) * V);
      assert.ok(Math.abs(lsm(row, seqs[b]![t + 1]!) - refLogp[b]![t]!) < 1e-4, `prompt row ${b} pos ${t}`);
    }
  }
  // Decode: feed true next tokens one at a time, check each next-token distribution.
  let last = all; // rows of the last prompt position
  let lastRow = (b: number) => last.subarray((b * P + P - 1) * V, (b * P + P) * V);
  for (let step = 0; step < 4; step++) {
    const next = new Int32Array(3);
    for (let b = 0; b < 3; b++) {
      const t = prompts[b]!.length - 1 + step; // predicting token t+1
      if (t + 1 < seqs[b]!.length) {
        assert.ok(Math.abs(lsm(lastRow(b), seqs[b]![t + 1]!) - refLogp[b]![t]!) < 1e-4, `decode row ${b} step ${step}`);
        next[b] = seqs[b]![t + 1]!;
      }
    }
    last = inferStep(m, cache, next, 1);
    lastRow = (b: number) => last.subarray(b * V, (b + 1) * V);
  }
});

test("a short training run lowers the loss and changes every parameter", () => {
  const m = microModel(1, false, 0.02);
  const before = new Map([...m.params].map(([k, v]) => [k, v.slice()]));
  const opt = new AdamW(m.params, refKernels, decayedParamNames(m.config));
  // A repetitive "text": the model must learn to continue a fixed cycle of tokens.
  const cycle = [10, 20, 30, 40, 50, 60, 70, 80, 90];
  const B = 4,
    T = 12;
  const ids = new Int32Array(B * T),
    targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      ids[b * T + t] = cycle[(b + t) % cycle.length]!;
      targets[b * T + t] = cycle[(b + t + 1) % cycle.length]!;
    }
  const weights = new Float32Array(B * T).fill(1);
  const losses: number[] = [];
  for (let s = 0; s < 30; s++)
    losses.push(lmTrainStep(m, opt, { B, T, ids, targets, weights }, { lr: 1e-2, weightDecay: 0.1 }).loss);
  assert.ok(losses[0]! > 5, `initial loss ${losses[0]} should be near ln(V)`);
  assert.ok(losses.at(-1)! < 0.5 * losses[0]!, `loss fell from ${losses[0]} to ${losses.at(-1)}`);
  for (const [name, a] of m.params) {
    const b0 = before.get(name)!;
    let changed = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b0[i]) changed++;
    assert.ok(changed > 0, `parameter ${name} never changed`);
  }
});

test("length-bucketed micro-batches give the one-batch step: same loss, gradient norm and update", () => {
  // Six right-padded rows of lengths 3..12 (weights 0 on padding and on a two-token "prompt"),
  // and one row with no weighted target, which the buckets drop.
  const B = 7,
    T = 12,
    rng = new Rng(11);
  const lens = [12, 3, 7, 9, 5, 11, 6];
  const ids = new Int32Array(B * T),
    targets = new Int32Array(B * T),
    weights = new Float32Array(B * T); // (B, T)
  lens.forEach((L, b) => {
    for (let t = 0; t < L; t++) {
      ids[b * T + t] = 1 + rng.int(200);
      targets[b * T + t] = 1 + rng.int(200);
      weights[b * T + t] = b === 6 || t < 2 ? 0 : 1;
    }
  });
  const batch = { B, T, ids, targets, weights };
  const parts = lengthBuckets(batch, 3);
  assert.deepEqual(
    parts.map((p) => [p.B, p.T]),
    [
      [2, 5],
      [2, 9],
      [2, 12],
    ],
    "rows sorted by length, each part trimmed to its longest",
  );
  const kept = (w: Float32Array) => w.reduce((a, x) => a + x, 0);
  assert.equal(
    parts.reduce((a, p) => a + kept(p.weights), 0),
    kept(weights),
    "every weighted target is in exactly one part",
  );
  const one = microModel(1, false, 0.02),
    split = microModel(1, false, 0.02);
  const optA = new AdamW(one.params, refKernels, decayedParamNames(one.config));
  const optB = new AdamW(split.params, refKernels, decayedParamNames(split.config));
  for (let s = 0; s < 3; s++) {
    const a = lmTrainStep(one, optA, batch, { lr: 1e-2 }),
      b = lmTrainStep(split, optB, batch, { lr: 1e-2 }, 3);
    assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * a.loss, `step ${s}: loss ${b.loss} vs ${a.loss}`);
    assert.ok(
      Math.abs(a.gradNorm - b.gradNorm) <= 1e-4 * a.gradNorm,
      `step ${s}: grad norm ${b.gradNorm} vs ${a.gradNorm}`,
    );
    assert.equal(a.tokens, b.tokens);
  }
  for (const [name, p] of one.params) {
    const q = split.params.get(name)!;
    let worst = 0;
    for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i]! - q[i]!));
    assert.ok(worst <= 1e-5, `${name}: max |param diff| ${worst} after 3 steps`);
  }
});
