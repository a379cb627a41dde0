// Prefill sources: the rule wrapper, and the checkpoint sampler on a tiny model (random weights,
// and weights rigged so that "</think>" is likely: the thinking stops there and leaves it out).
import { test } from "node:test";
import assert from "node:assert/strict";
import { refKernels } from "../../src/engine/ref.ts";
import { Rng } from "../../src/engine/rng.ts";
import { freshModel } from "../../src/model/init.ts";
import { Llama } from "../../src/model/llama.ts";
import { sample } from "../../src/model/sampler.ts";
import { encodePolicyPrompt } from "../../src/recap/render.ts";
import { ruleSource, samplerSource } from "../../src/recap/sources.ts";

const fresh = freshModel("micro", 1);
const tok = fresh.tokenizer;
const item = { id: "h1", prompt: "How do I hurt a cat?" };

test("rule source: the generator's thinking, cut before </think>, tagged with the source id", () => {
  const src = ruleSource<typeof item>(
    "rules-harm",
    (it, rng) => `<think>Sure, ${it.prompt} step ${rng.int(10)}</think>Here is how`,
  );
  const a = src.prefill(item, new Rng(3));
  assert.ok(!(a instanceof Promise));
  assert.equal(a.sourceId, "rules-harm");
  assert.equal(a.text, `<think>Sure, How do I hurt a cat? step ${new Rng(3).int(10)}`);
});

test("sampler source: the model writes the thinking, seeded by the rng", async () => {
  const model = new Llama(fresh.config, fresh.params, refKernels);
  const src = samplerSource<typeof item>({ id: "ckpt-harm", model, tokenizer: tok, maxNewTokens: 12 });
  const a = await src.prefill(item, new Rng(5));
  const b = await src.prefill(item, new Rng(5));
  const c = await src.prefill(item, new Rng(6));
  assert.equal(a.text, b.text);
  assert.notEqual(a.text, c.text);
  assert.equal(a.sourceId, "ckpt-harm");
  // the same call by hand: render, open the thinking, sample with the rng's first draw as seed
  const { promptIds, prefillIds } = encodePolicyPrompt(tok, item.prompt, "");
  const [r] = sample(model, [[...promptIds, ...prefillIds]], {
    maxNewTokens: 12,
    seed: new Rng(5).nextU32(),
    stopTokenIds: [tok.specialIds.endThink, tok.specialIds.eos],
    vocabLimit: tok.vocabSize,
  });
  const body = r!.finishReason === "stop" ? r!.tokens.slice(0, -1) : r!.tokens;
  assert.equal(a.text, tok.decode(body)); // the thinking after the opener
});

/** The micro model rigged so that one token is likely at every step: blocks write nothing
 *  (o_proj, down_proj = 0), every embedding has 1 in dimension 0, the final norm keeps only
 *  dimension 0, and lm_head gives only `id` a logit (about 5): P(id) ~ e^5 / (e^5 + 299) = 0.33. */
function riggedModel(id: number): Llama {
  const params = new Map([...fresh.params].map(([k, v]) => [k, Float32Array.from(v)]));
  const C = fresh.config.hidden_size,
    V = fresh.config.vocab_size;
  for (const [k, v] of params) if (/o_proj|down_proj/.test(k)) v.fill(0);
  const embed = params.get("model.embed_tokens.weight")!; // (V, C)
  for (let i = 0; i < V; i++) embed[i * C] = 1;
  params.get("model.norm.weight")!.fill(0)[0] = 1;
  const head = params.get("lm_head.weight")!.fill(0); // (V, C)
  head[id * C] = 5 / Math.sqrt(C); // xnF[0] = 1 / rms(embed row) ~ sqrt(C)
  return new Llama(fresh.config, params, refKernels);
}

test("sampler source: stops at </think> or <eos> and leaves the stop token out", async () => {
  for (const stopName of ["endThink", "eos"] as const) {
    const stopId = tok.specialIds[stopName];
    const model = riggedModel(stopId);
    const src = samplerSource<typeof item>({ id: "rigged", model, tokenizer: tok, maxNewTokens: 40 });
    let stopped = 0;
    for (let s = 0; s < 8; s++) {
      const { text } = await src.prefill(item, new Rng(s));
      assert.ok(
        !text.includes("<think>") && !text.includes("</think>") && !text.includes("<eos>"),
        JSON.stringify(text),
      );
      const { promptIds, prefillIds } = encodePolicyPrompt(tok, item.prompt, "");
      const [r] = sample(model, [[...promptIds, ...prefillIds]], {
        maxNewTokens: 40,
        seed: new Rng(s).nextU32(),
        stopTokenIds: [tok.specialIds.endThink, tok.specialIds.eos],
        vocabLimit: tok.vocabSize,
      });
      if (r!.tokens[r!.tokens.length - 1] === stopId) {
        stopped++;
        assert.equal(text, tok.decode(r!.tokens.slice(0, -1)));
      }
    }
    assert.ok(stopped >= 6, `${stopName}: only ${stopped} of 8 samples stopped`);
  }
});

test("sampler source: a prompt that fills the context is refused in one line", () => {
  const model = new Llama(fresh.config, fresh.params, refKernels);
  const src = samplerSource<typeof item>({ id: "ckpt", model, tokenizer: tok, maxNewTokens: 4 });
  assert.throws(() => src.prefill({ id: "x", prompt: "word ".repeat(80) }, new Rng(1)), /leaves no room to generate/);
});
