// The server under load and at shutdown, on loopback: 200 concurrent requests (completions and
// chats, some streamed) all get the answers the library sampler gives each of them alone, in far
// fewer batches than requests; a client that goes away mid-stream does not disturb the rest; and
// close() ends a running stream with finish_reason "abort" and stops listening.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { sample } from "../../src/model/sampler.ts";
import { startServer } from "../../src/serve/server.ts";
import { trainedMicro } from "../export/helpers.ts";

const tm = trainedMicro({ steps: 10, seed: 7 });
const tok = tm.tokenizer,
  EOS = tok.specialIds.eos;
const MODEL = "load-test";

const PROMPTS = [
  "<|user|>hi<|assistant|>",
  "<|user|>What is 6 * 7?<|assistant|><think>",
  "<|user|>Help me<|assistant|>",
  "The user asks",
];

function alone(prompt: string, seed: number, max: number): string {
  const [r] = sample(tm.model, [tok.encode(prompt)], {
    maxNewTokens: max,
    temperature: 1,
    seed,
    stopTokenIds: [EOS],
    vocabLimit: tok.vocabSize,
  });
  return tok.decode(r!.tokens.filter((t) => t !== EOS));
}

test("200 concurrent requests all get their own answers while the server stays up", async () => {
  const server = await startServer(tm.model, tok, { port: 0, modelName: MODEL, batchWindowMs: 10 });
  try {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0, timeout: 120_000 });
    const jobs = Array.from({ length: 200 }, (_, i) => {
      const prompt = PROMPTS[i % PROMPTS.length]!,
        seed = i % 7,
        max = 4 + (i % 5);
      const want = alone(prompt, seed, max);
      if (i % 4 === 3)
        return (async () => {
          let text = "";
          for await (const ch of await client.completions.create({
            model: MODEL,
            prompt,
            seed,
            max_tokens: max,
            stream: true,
          }))
            text += ch.choices[0]?.text ?? "";
          return { text, want };
        })();
      return client.completions
        .create({ model: MODEL, prompt, seed, max_tokens: max })
        .then((r) => ({ text: r.choices[0]!.text, want }));
    });
    const settled = await Promise.allSettled(jobs);
    const failed = settled.filter((s) => s.status === "rejected");
    assert.equal(
      failed.length,
      0,
      `failures: ${failed
        .slice(0, 3)
        .map((f) => String((f as PromiseRejectedResult).reason))
        .join("; ")}`,
    );
    settled.forEach((s, i) => {
      const v = (s as PromiseFulfilledResult<{ text: string; want: string }>).value;
      assert.equal(v.text, v.want, `request ${i}`);
    });
    const st = server.engine.stats;
    assert.ok(
      st.maxBatchRows > 1 && st.batches < 100,
      `batched: ${st.batches} batches, largest ${st.maxBatchRows} rows`,
    );
    assert.equal((await client.models.list()).data[0]!.id, MODEL);
  } finally {
    await server.close(1000);
  }
});

test("a client leaving mid-stream does not disturb the others", async () => {
  const server = await startServer(tm.model, tok, { port: 0, modelName: MODEL });
  try {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const [full] = sample(tm.model, [tok.encode(PROMPTS[3]!)], {
      maxNewTokens: 100,
      seed: 4,
      stopTokenIds: [EOS],
      vocabLimit: tok.vocabSize,
    });
    assert.equal(full!.tokens.length, 100, "precondition: seed 4 runs the whole 100 tokens");
    const ac = new AbortController();
    let chunks = 0;
    const leaving = (async () => {
      const s = await client.completions.create(
        { model: MODEL, prompt: PROMPTS[3]!, seed: 4, max_tokens: 100, stream: true },
        { signal: ac.signal },
      );
      for await (const _ of s) {
        chunks++;
        ac.abort();
      }
    })().catch((e: unknown) => e);
    const staying = client.completions.create({ model: MODEL, prompt: PROMPTS[1]!, seed: 3, max_tokens: 30 });
    assert.equal((await staying).choices[0]!.text, alone(PROMPTS[1]!, 3, 30));
    await leaving;
    for (let i = 0; i < 200 && server.engine.stats.cancelled === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(chunks, 1);
    assert.equal(server.engine.stats.cancelled, 1, "the server noticed the client leaving and dropped its row");
    const after = await client.completions.create({ model: MODEL, prompt: PROMPTS[0]!, seed: 1, max_tokens: 5 });
    assert.equal(after.choices[0]!.text, alone(PROMPTS[0]!, 1, 5));
  } finally {
    await server.close(1000);
  }
});

test("close() ends running streams with finish_reason abort, then stops listening", async () => {
  const server = await startServer(tm.model, tok, { port: 0, modelName: MODEL });
  const res = await fetch(`${server.url}/v1/completions`, {
    method: "POST",
    body: JSON.stringify({ model: MODEL, prompt: PROMPTS[0], max_tokens: 120, stream: true, seed: 2 }),
  });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let text = new TextDecoder().decode((await reader.read()).value);
  const closing = server.close(0);
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
  await closing;
  assert.match(text, /"finish_reason":"abort"/);
  assert.ok(text.endsWith("data: [DONE]\n\n"));
  const events = text.split("\n\n").filter((e) => e.startsWith("data: {"));
  assert.ok(events.length < 120, `${events.length} events: the stream was cut short`);
  await assert.rejects(fetch(`${server.url}/health`));
});
