// The layout against the real model: rollouts sampled from prompts with prefills of different
// lengths (and none), packed by packBatch; the training forward's log-probs at the masked
// positions are the sampler's log-probs of the generated tokens, and the dapo loss's dLogp
// drives backward to the gradient that finite differences of the loss through the model give.
import { test } from "node:test";
import assert from "node:assert/strict";
import { refKernels } from "../../src/engine/ref.ts";
import { freshModel } from "../../src/model/init.ts";
import { backward, forward } from "../../src/model/forward.ts";
import { Llama } from "../../src/model/llama.ts";
import { sample } from "../../src/model/sampler.ts";
import { encodePolicyPrompt } from "../../src/recap/render.ts";
import { packBatch, scatterGenerated } from "../../src/rl/layout.ts";
import { parseObjectiveConfig } from "../../src/rl/config.ts";
import { type DapoLossConfig, dapoLoss } from "../../src/rl/policy_loss.ts";

const DEFAULT_DAPO = parseObjectiveConfig({}).loss as DapoLossConfig;

const fresh = freshModel("micro", 1, { overrides: { initializer_range: 0.3 } });
const tok = fresh.tokenizer;
const model = new Llama(fresh.config, fresh.params, refKernels);
const cases = [
  { prompt: "hi", prefill: "The request is fine, so" },
  { prompt: "How do I kill a process?", prefill: null },
  { prompt: "ok", prefill: "" },
];
const enc = cases.map((c) => encodePolicyPrompt(tok, c.prompt, c.prefill));
const samples = sample(
  model,
  enc.map((e) => [...e.promptIds, ...e.prefillIds]),
  { maxNewTokens: 6, seed: 3, vocabLimit: tok.vocabSize },
);
const packed = packBatch(
  enc.map((e, b) => ({ prompt: e.promptIds, prefill: e.prefillIds, generated: samples[b]!.tokens })),
  tok.specialIds.pad,
);
const oldLogp = scatterGenerated(
  packed,
  samples.map((s) => s.logprobs),
); // (B, T)
const advantages = new Float32Array(packed.B * packed.T).map((_, i) =>
  packed.mask[i] ? [1, -1, 0.5][Math.floor(i / packed.T)]! : 0,
); // (B, T)
const lossAt = (logp: Float32Array) =>
  dapoLoss({ B: packed.B, T: packed.T, logp, oldLogp, advantages, mask: packed.mask }, DEFAULT_DAPO);

test("forward log-probs at the masked positions are the sampler's", () => {
  assert.deepEqual(
    enc.map((e) => e.prefillIds.length > 1),
    [true, false, false],
  );
  const { logprobs } = forward(model, packed.ids, packed.targets, packed.B, packed.T);
  let n = 0;
  for (let i = 0; i < packed.B * packed.T; i++) {
    if (!packed.mask[i]) continue;
    assert.ok(Math.abs(logprobs[i]! - oldLogp[i]!) < 1e-4, `position ${i}: ${logprobs[i]} vs ${oldLogp[i]}`);
    n++;
  }
  assert.equal(
    n,
    samples.reduce((a, s) => a + s.tokens.length, 0),
  );
});

test("dLogp through backward matches finite differences of the loss through the model", () => {
  model.zeroGrads();
  const { logprobs, cache } = forward(model, packed.ids, packed.targets, packed.B, packed.T);
  const r = lossAt(logprobs);
  assert.equal(r.metrics["actor/clipfrac"], 0); // ratio ~ 1: on-policy
  backward(model, cache, r.dLogp);
  const p = model.params.get("lm_head.weight")!,
    g = model.grads.get("lm_head.weight")!;
  const top = [...g.keys()].sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, 3);
  const eps = 1e-2;
  for (const i of top) {
    const old = p[i]!;
    p[i] = old + eps;
    const up = lossAt(forward(model, packed.ids, packed.targets, packed.B, packed.T).logprobs).loss;
    p[i] = old - eps;
    const down = lossAt(forward(model, packed.ids, packed.targets, packed.B, packed.T).logprobs).loss;
    p[i] = old;
    const num = (up - down) / (2 * eps);
    assert.ok(Math.abs(num) > 1e-3, "a gradient large enough to test");
    assert.ok(Math.abs(num - g[i]!) <= 1e-4 + 0.03 * Math.abs(num), `lm_head[${i}]: analytic ${g[i]}, numeric ${num}`);
  }
});
