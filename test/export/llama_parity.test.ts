// Parity with llama.cpp (node-llama-cpp 3.21.1, CPU prebuilt, 1 thread, F32 KV cache, no flash
// attention) on the GGUF export of a trained micro model whose tokenizer (280 tokens) is smaller
// than its vocabulary (300), so the padded vocabulary is exercised too:
// - tokenisation of a seeded fuzz corpus is identical, with special tokens parsed and as plain
//   text (llama.cpp always matches user-defined tokens such as <think> in text, even with special
//   parsing off, so the plain-text corpus leaves special-token strings out), and llama.cpp
//   detokenises back to the same text;
// - next-token log-probs at every position, for the whole vocabulary, match our engine's within
//   1e-4 (tied and untied embeddings), and within f16 rounding for the f16 export;
// - greedy generation from prefilled prompts gives identical tokens.
// Each test file runs in its own process under `node --test`, so even a llama.cpp abort would be
// reported as this file failing; the files are validated (checkLlamaGguf) before loading anyway.
// If node-llama-cpp or its prebuilt binary is unavailable the tests skip and say why.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { withScope } from "../../src/engine/kernels.ts";
import { disposeKernels, selectKernels } from "../../src/engine/select.ts";
import { exportGguf } from "../../src/export/export.ts";
import {
  createComparableContext,
  llamaCppGreedy,
  llamaCppLogprobs,
  loadGgufModel,
  loadLlamaCpp,
} from "../../src/export/llama_cpp.ts";
import type { LlamaCpp, LlamaCppLoad, LlamaCppModel, LlamaCppSequence } from "../../src/export/llama_cpp.ts";
import { renderChat } from "../../src/model/chat_template.ts";
import { KVCache, inferStep } from "../../src/model/infer.ts";
import { Llama } from "../../src/model/llama.ts";
import { sample } from "../../src/model/sampler.ts";
import { SPECIAL_TOKENS } from "../../src/model/tokenizer.ts";
import { CHATS, fuzzCorpus, trainedMicro } from "./helpers.ts";
import type { TrainedModel } from "./helpers.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-parity-"));
let load: LlamaCppLoad;
let untied: TrainedModel, tied: TrainedModel;
const opened: { model: LlamaCppModel; seq: LlamaCppSequence }[] = [];

before(async () => {
  load = await loadLlamaCpp();
  if (!load.ok) return;
  untied = trainedMicro({ steps: 40, seed: 1 });
  tied = trainedMicro({ steps: 30, seed: 2, tied: true });
  await exportGguf(untied.source, path.join(tmp, "untied.gguf"), "f32");
  await exportGguf(untied.source, path.join(tmp, "untied-f16.gguf"), "f16");
  await exportGguf(tied.source, path.join(tmp, "tied.gguf"), "f32");
});

after(async () => {
  for (const o of opened) await o.model.dispose();
  if (load?.ok) await load.llama.dispose();
  disposeKernels();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function open(llama: LlamaCpp, file: string): Promise<{ model: LlamaCppModel; seq: LlamaCppSequence }> {
  const model = await loadGgufModel(llama, path.join(tmp, file));
  const ctx = await createComparableContext(model, { contextSize: 128 });
  const o = { model, seq: ctx.getSequence() };
  opened.push(o);
  return o;
}

/** Our log-softmax after every position of ids, in float64: (T) rows of (V). */
function ourLogprobs(m: Llama, ids: number[]): Float64Array[] {
  const V = m.config.vocab_size;
  return withScope(m.kernels, () => {
    const logits = inferStep(m, new KVCache(m, 1, ids.length), Int32Array.from(ids), ids.length, true); // (T, V)
    return ids.map((_, t) => {
      const row = logits.subarray(t * V, (t + 1) * V);
      let max = -Infinity,
        sum = 0;
      for (const x of row) max = Math.max(max, x);
      for (const x of row) sum += Math.exp(x - max);
      return Float64Array.from(row, (x) => x - max - Math.log(sum));
    });
  });
}

function sequences(tm: TrainedModel): number[][] {
  const chats = CHATS.map(([u, a]) =>
    tm.tokenizer.encode(
      renderChat([
        { role: "user", content: u },
        { role: "assistant", content: a },
      ]),
    ),
  );
  return [
    ...chats,
    ...fuzzCorpus(4, 9, true)
      .map((s) => tm.tokenizer.encode(s).slice(0, 100))
      .filter((s) => s.length > 1),
  ];
}

async function maxLogprobDiff(
  tm: TrainedModel,
  file: string,
  m: Llama = tm.model,
): Promise<{ max: number; positions: number }> {
  if (!load.ok) throw new Error("unreachable");
  const { seq } = await open(load.llama, file);
  let max = 0,
    positions = 0;
  for (const ids of sequences(tm)) {
    const ours = ourLogprobs(m, ids),
      theirs = await llamaCppLogprobs(seq, ids, tm.config.vocab_size);
    ours.forEach((row, t) => row.forEach((x, v) => (max = Math.max(max, Math.abs(x - theirs[t]![v]!)))));
    positions += ids.length;
  }
  return { max, positions };
}

test("a missing node-llama-cpp is detected and explained, not thrown", async () => {
  const r = await loadLlamaCpp(path.join(tmp, "no-such-dir"));
  assert.equal(r.ok, false);
  assert.match(r.ok ? "" : r.reason, /not installed .*npm run setup:llama/);
});

test("tokenisation matches llama.cpp on a fuzz corpus, with and without special tokens", async (t) => {
  if (!load.ok) return t.skip(load.reason);
  const { model } = await open(load.llama, "untied.gguf");
  const tok = untied.tokenizer;
  const specials = SPECIAL_TOKENS.map((s) => s.content);
  const plain = fuzzCorpus(300, 1, false).filter((s) => !specials.some((sp) => s.includes(sp)));
  const withSpecial = fuzzCorpus(300, 2, true);
  assert.ok(plain.length > 250 && withSpecial.filter((s) => specials.some((sp) => s.includes(sp))).length > 200);
  for (const [corpus, parse] of [
    [plain, false],
    [withSpecial, true],
  ] as const)
    for (const s of corpus) {
      const ours = tok.encode(s, { parseSpecial: parse });
      assert.deepEqual(model.tokenize(s, parse), ours, `tokenize(${JSON.stringify(s)}, special=${parse})`);
      assert.equal(model.detokenize(ours, parse), s, `detokenize of ${JSON.stringify(s)}`);
    }
  // The padding tokens of the GGUF vocabulary never come out of tokenisation.
  assert.ok(!model.tokenize("[PAD290] [PAD299]", true).some((id) => id >= tok.vocabSize));
  assert.equal(model.tokens.eos, tok.specialIds.eos);
});

test("next-token log-probs match llama.cpp within 1e-4 at every position (untied and tied)", async (t) => {
  if (!load.ok) return t.skip(load.reason);
  const fast = new Llama(untied.config, untied.source.params, selectKernels()); // the default kernels
  for (const [tm, file, m] of [
    [untied, "untied.gguf", untied.model],
    [tied, "tied.gguf", tied.model],
    [untied, "untied.gguf", fast],
  ] as const) {
    const { max, positions } = await maxLogprobDiff(tm, file, m);
    t.diagnostic(
      `${file} vs ${m.kernels.name} kernels: max |log-prob difference| ${max.toExponential(2)} over ${positions} positions x ${tm.config.vocab_size} tokens`,
    );
    assert.ok(positions > 100, `${file}: ${positions} positions compared`);
    assert.ok(max < 1e-4, `${file} vs ${m.kernels.name}: max |log-prob difference| ${max}`);
  }
});

test("the f16 export matches within f16 rounding", async (t) => {
  if (!load.ok) return t.skip(load.reason);
  const { max } = await maxLogprobDiff(untied, "untied-f16.gguf");
  t.diagnostic(`f16 GGUF vs our f32 model: max |log-prob difference| ${max.toExponential(2)}`);
  // Weights are rounded to 11 significant bits (and llama.cpp rounds activations to f16 in
  // its f16 matmuls), so the log-probs move by up to a few 1e-3, far below a layout error's.
  assert.ok(max > 1e-6 && max < 0.05, `f16: max |log-prob difference| ${max}`);
});

test("greedy generation from a prefilled prompt gives identical tokens", async (t) => {
  if (!load.ok) return t.skip(load.reason);
  const { seq } = await open(load.llama, "untied.gguf");
  const tok = untied.tokenizer,
    eos = tok.specialIds.eos;
  const prompts = [
    renderChat(
      [
        { role: "user", content: "How do I stop a process?" },
        { role: "assistant", content: "<think>Killing" },
      ],
      { continueFinalMessage: true },
    ),
    renderChat(
      [
        { role: "user", content: "Help me hurt a person." },
        { role: "assistant", content: "<think>" },
      ],
      { continueFinalMessage: true },
    ),
    renderChat([{ role: "user", content: "What is 6 * 7?" }], { addGenerationPrompt: true }),
  ];
  let total = 0;
  for (const p of prompts) {
    const ids = tok.encode(p);
    const [ours] = sample(untied.model, [ids], { maxNewTokens: 40, temperature: 0, stopTokenIds: [eos] });
    const theirs = await llamaCppGreedy(seq, ids, 40, eos);
    assert.deepEqual(theirs, ours!.tokens, `greedy continuation of ${JSON.stringify(p)}`);
    total += theirs.length;
  }
  assert.ok(total >= 20, `${total} generated tokens compared`);
});
