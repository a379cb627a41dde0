// The sampler's fast paths (one allocation scope per decoding step, batched log-sum-exp and
// sampling distributions from the kernels, dropping finished rows from the KV cache once at
// most half are still running) keep every row's result what it would be alone, on the
// reference and on the WebAssembly kernels; and the kernel memory is given back afterwards.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Kernels } from "../../src/engine/kernels.ts";
import { refKernels } from "../../src/engine/ref.ts";
import { presetConfig } from "../../src/model/config.ts";
import { KVCache } from "../../src/model/infer.ts";
import { Llama, initParams } from "../../src/model/llama.ts";
import { sample } from "../../src/model/sampler.ts";
import { kernelSets } from "./wasm_helpers.ts";

const SETS = kernelSets();
after(() => SETS.forEach((k) => k.dispose()));

function model(k: Kernels): Llama {
  const config = presetConfig("micro", { initializer_range: 0.3 });
  return new Llama(config, initParams(config, 2), k);
}

const prompts = [[5, 6, 7, 8], [9, 10], [11, 12, 13], [1], [2, 3], [4]];

describe("sampler fast paths", () => {
  for (const k of [refKernels, ...SETS]) {
    it(`${k.name}: rows that stop early, with the cache compacted, match the rows sampled alone`, () => {
      const m = model(k);
      for (const opts of [{ temperature: 1, seed: 7 }, { temperature: 0.7, topK: 20, seed: 8 }, { temperature: 0 }]) {
        const free = sample(m, prompts, { maxNewTokens: 10, ...opts });
        // Stop on the tokens that rows 0..3 draw early, so most rows finish within a few steps.
        const stopTokenIds = [free[0]!.tokens[1]!, free[1]!.tokens[0]!, free[2]!.tokens[2]!, free[3]!.tokens[1]!];
        const top = k.mark();
        const batch = sample(m, prompts, { maxNewTokens: 10, stopTokenIds, ...opts });
        assert.equal(k.mark(), top, "sampling gives its memory back");
        assert.ok(batch.filter((r) => r.finishReason === "stop").length >= 4, "most rows stopped early");
        prompts.forEach((p, b) => {
          const [alone] = sample(m, [p], { maxNewTokens: 10, stopTokenIds, ...opts, seed: opts.seed ?? 0 });
          // Row b of a batch uses stream fork(b); alone it is row 0, so compare the greedy rows and
          // row 0 exactly, the others by their stop behaviour.
          if (opts.temperature === 0 || b === 0) {
            assert.deepEqual(batch[b]!.tokens, alone!.tokens, `row ${b} tokens`);
            batch[b]!.logprobs.forEach((lp, i) =>
              assert.ok(Math.abs(lp - alone!.logprobs[i]!) < 1e-5, `row ${b} logprob ${i}`),
            );
          }
          const r = batch[b]!;
          assert.equal(r.finishReason === "stop", stopTokenIds.includes(r.tokens.at(-1)!), `row ${b} stop reason`);
        });
        // The rows of the stopped batch agree with the free batch up to their stop.
        batch.forEach((r, b) =>
          assert.deepEqual(r.tokens, free[b]!.tokens.slice(0, r.tokens.length), `row ${b} prefix`),
        );
      }
    });
  }

  it("KVCache.compact keeps the chosen rows and rejects bad row lists", () => {
    const m = model(refKernels);
    const cache = new KVCache(m, 3, 4, Int32Array.of(0, 1, 2));
    cache.length = 2;
    for (const a of [...cache.k, ...cache.v]) a.forEach((_, i) => (a[i] = i));
    const row = 4 * m.config.num_key_value_heads * (m.config.hidden_size / m.config.num_attention_heads);
    cache.compact([0, 2]);
    assert.equal(cache.B, 2);
    assert.deepEqual([...cache.keyStart], [0, 2]);
    assert.equal(cache.k[0]![row], 2 * row, "row 1 now holds old row 2");
    assert.throws(() => cache.compact([1, 0]), /ascending/);
    assert.throws(() => cache.compact([0, 5]), /ascending/);
  });
});
