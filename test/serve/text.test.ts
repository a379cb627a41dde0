// Incremental detokenisation and the engine's helpers: deltas never split a UTF-8 character or
// hand out the start of a stop string, the stop string is cut, eos adds no text; top-k log-probs
// are the k largest in order; a batch of rows gives each row what the library sampler gives it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.ts";
import { selectKernels } from "../../src/engine/select.ts";
import { presetConfig } from "../../src/model/config.ts";
import { Llama, initParams } from "../../src/model/llama.ts";
import { sample } from "../../src/model/sampler.ts";
import { Tokenizer } from "../../src/model/tokenizer.ts";
import { BatchEngine, logSumExp, topK } from "../../src/serve/engine.ts";
import { TextStream, tokenBytes } from "../../src/serve/text.ts";

const tok = Tokenizer.fromMerges([]); // specials + the 256 byte tokens (id 7 + byte)
const byte = (s: string) => [...new TextEncoder().encode(s)].map((b) => 7 + b);

function run(text: string, stop: string[]): { deltas: string[]; final: string; stopped: string | null } {
  const ts = new TextStream(tok, stop);
  const deltas: string[] = [];
  for (const id of byte(text)) {
    deltas.push(ts.push(id));
    if (ts.stopped) break;
  }
  deltas.push(ts.finish());
  return { deltas, final: ts.text, stopped: ts.stoppedBy };
}

test("deltas hold back partial UTF-8 characters and possible stop-string starts", () => {
  const r = run("aé€b", []);
  assert.deepEqual(r.deltas, ["a", "", "é", "", "", "€", "b", ""]);
  const s = run("xxSTOPyy", ["STOP"]);
  assert.deepEqual(s.deltas, ["x", "x", "", "", "", "", ""]);
  assert.equal(s.final, "xx");
  assert.equal(s.stopped, "STOP");
  const near = run("xSTx", ["STOP"]);
  assert.deepEqual(near.deltas, ["x", "", "", "STx", ""], "a false start is released");
  assert.equal(near.stopped, null);
  const two = run("abcd", ["cd", "bc"]);
  assert.equal(two.final, "a");
  assert.equal(two.stopped, "bc");
});

test("eos ends the text without adding to it; token bytes are the raw bytes", () => {
  const ts = new TextStream(tok, []);
  assert.equal(ts.push(byte("h")[0]!), "h");
  assert.equal(ts.push(tok.specialIds.eos), "");
  assert.equal(ts.finish(), "");
  assert.equal(ts.text, "h");
  assert.deepEqual(tokenBytes(tok, 7 + 0xc3), [0xc3]);
  assert.deepEqual(tokenBytes(tok, tok.specialIds.think), [...new TextEncoder().encode("<think>")]);
});

test("topK returns the k largest log-probs in order, restricted to the limit", () => {
  const row = Float32Array.from([0.5, 3, -1, 3, 2, 9]);
  const lse = logSumExp(row);
  assert.ok(Math.abs(lse - Math.log([...row].reduce((s, x) => s + Math.exp(x), 0))) < 1e-12);
  assert.deepEqual(
    topK(row, lse, 3, 5).map(([i]) => i),
    [1, 3, 4],
  );
  assert.deepEqual(
    topK(row, lse, 2, 6).map(([i]) => i),
    [5, 1],
  );
  assert.equal(topK(row, lse, 0, 6).length, 0);
  assert.ok(Math.abs(topK(row, lse, 1, 6)[0]![1] - (9 - lse)) < 1e-12);
});

test("the engine gives every row of a mixed batch what the sampler gives it alone", async () => {
  const config = presetConfig("micro", { initializer_range: 0.3 });
  const m = new Llama(config, initParams(config, 6), selectKernels("ref"));
  const engine = new BatchEngine(m, { vocabLimit: 290, windowMs: 20 });
  const rows = [
    { prompt: [5, 9, 11], max: 7, temperature: 1, seed: 1 },
    { prompt: [30], max: 3, temperature: 0, seed: 0 },
    { prompt: [8, 8, 8, 8, 8], max: 10, temperature: 0.7, seed: 2 },
  ];
  const results = await Promise.all(
    rows.map((r) =>
      engine.submit([
        {
          prompt: r.prompt,
          maxTokens: r.max,
          temperature: r.temperature,
          topP: 1,
          topK: 0,
          rng: new Rng(r.seed).fork(0),
          stopIds: [1],
          topLogprobs: -1,
          promptLogprobs: false,
        },
      ]),
    ),
  );
  assert.equal(engine.stats.batches, 1, "one batch");
  rows.forEach((r, i) => {
    const [want] = sample(m, [r.prompt], {
      maxNewTokens: r.max,
      temperature: r.temperature,
      seed: r.seed,
      stopTokenIds: [1],
      vocabLimit: 290,
    });
    assert.deepEqual(results[i]![0]!.tokens, want!.tokens, `row ${i}`);
    results[i]![0]!.logprobs.forEach((x, j) => assert.ok(Math.abs(x - want!.logprobs[j]!) < 1e-5));
  });
});
