// The embedded provider on a micro model: the exact prompt text for clean / prefill / hijack / raw,
// n samples per request in one batched call, reproducibility, exact CoT / response token counts
// (the split is at the `</think>` token) and a per-item error for a prompt too long for the context.
import { test } from "node:test";
import assert from "node:assert/strict";
import { refKernels } from "../../src/engine/ref.ts";
import { EmbeddedProvider, renderEmbeddedPrompt } from "../../src/lm/providers/embedded.ts";
import type { GenRequest } from "../../src/lm/types.ts";
import { freshModel } from "../../src/model/init.ts";
import { Llama } from "../../src/model/llama.ts";

const fm = freshModel("micro", 3, { overrides: { max_position_embeddings: 128, initializer_range: 0.3 } });
const model = new Llama(fm.config, fm.params, refKernels);
const msgs = [{ role: "user", content: "hi there" }];
const params = { maxTokens: 12, temperature: 1, topP: 1, seed: 5 };
const req = (key: string, extra: Partial<GenRequest> = {}): GenRequest => ({
  key,
  messages: msgs,
  params,
  n: 1,
  ...extra,
});

test("prompts follow the tiny template: <think> appended by the prefill, closed by the hijack", () => {
  assert.equal(renderEmbeddedPrompt(req("a")), "<|user|>hi there<|assistant|>");
  assert.equal(
    renderEmbeddedPrompt(req("b", { thinking: "the user" })),
    "<|user|>hi there<|assistant|><think>the user",
  );
  assert.equal(
    renderEmbeddedPrompt(req("c", { thinking: "all of it", closeThinking: true })),
    "<|user|>hi there<|assistant|><think>all of it</think>",
  );
  assert.equal(renderEmbeddedPrompt(req("d", { raw: "<|user|>x<|assistant|>" })), "<|user|>x<|assistant|>");
});

test("n samples per request, reproducible, with exact token counts", async () => {
  const p = new EmbeddedProvider(model, fm.tokenizer, { name: "micro", batchRows: 4 });
  const reqs = [
    req("clean", { n: 3 }),
    req("pre", { thinking: "so", n: 2 }),
    req("hij", { thinking: "done", closeThinking: true, n: 2 }),
  ];
  const a = await p.generate(reqs),
    b = await p.generate(reqs);
  assert.deepEqual(a, b);
  assert.deepEqual(
    a.map((r) => [r.key, r.completions.length, r.error]),
    [
      ["clean", 3, undefined],
      ["pre", 2, undefined],
      ["hij", 2, undefined],
    ],
  );
  const eos = fm.tokenizer.specialIds.eos;
  for (const r of a)
    for (const c of r.completions) {
      assert.equal(c.cotTokens + c.responseTokens, c.completionTokens);
      assert.ok(c.completionTokens >= 1 && c.completionTokens <= 12);
      assert.ok(!c.text.includes(fm.tokenizer.idToToken(eos)), "the end-of-sequence token is not part of the text");
      if (c.text.includes("</think>")) assert.ok(c.cotTokens >= 1);
      else if (r.key === "pre")
        assert.equal(c.cotTokens, c.completionTokens, "an open prefill with no </think> is all thinking");
      else if (r.key === "hij") assert.equal(c.cotTokens, 0, "after a closed hijack everything is response");
    }
  const other = await new EmbeddedProvider(model, fm.tokenizer, { name: "micro" }).generate([
    req("clean", { n: 3, params: { ...params, seed: 6 } }),
  ]);
  assert.notDeepEqual(
    other[0]!.completions.map((c) => c.text),
    a[0]!.completions.map((c) => c.text),
  );
  assert.equal(p.id(), "embedded:micro");
  assert.equal(p.tokenizer().decode(p.tokenizer().encode("hello")), "hello");
});

test("a prompt beyond the context is an error for that item only", async () => {
  const p = new EmbeddedProvider(model, fm.tokenizer, { name: "micro" });
  const long = "word ".repeat(200);
  const out = await p.generate([req("long", { messages: [{ role: "user", content: long }] }), req("ok")]);
  assert.match(out[0]!.error!, /leaves no room in the model's context of 128/);
  assert.equal(out[0]!.completions.length, 0);
  assert.equal(out[1]!.error, undefined);
  assert.equal(out[1]!.completions.length, 1);
});

test("a prompt near the end of the context gets the room that is left", async () => {
  const p = new EmbeddedProvider(model, fm.tokenizer, { name: "micro" });
  const ids = (t: string) => fm.tokenizer.encode(t).length;
  let content = "word";
  while (ids(`<|user|>${content} word<|assistant|>`) < 124) content += " word";
  const out = await p.generate([
    req("near", { messages: [{ role: "user", content }], params: { ...params, maxTokens: 50 } }),
  ]);
  assert.equal(out[0]!.error, undefined);
  const used = ids(`<|user|>${content}<|assistant|>`);
  assert.ok(out[0]!.completions[0]!.completionTokens <= 128 - used, "generation stops at the end of the context");
});

test("a request's samples do not depend on what it is batched with (per-row seeds)", async () => {
  const p = new EmbeddedProvider(model, fm.tokenizer, { name: "micro", batchRows: 3 });
  const target = req("t", { thinking: "so", n: 2, params: { ...params, seed: 11 } });
  const alone = await p.generate([target]);
  const crowd = await p.generate([
    req("x", { n: 2, params: { ...params, seed: 3 } }),
    req("y", { thinking: "so", n: 1, params: { ...params, seed: 4 } }),
    target,
  ]);
  assert.deepEqual(crowd[2]!.completions, alone[0]!.completions);
  // Sample j uses seed + j: the second sample of seed 11 is the first of seed 12.
  const shifted = await p.generate([req("s", { thinking: "so", n: 1, params: { ...params, seed: 12 } })]);
  assert.deepEqual(shifted[0]!.completions[0], alone[0]!.completions[1]);
});
