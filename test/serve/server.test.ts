// The OpenAI-compatible server through the official `openai` client, on loopback (port 0): model
// list, completions (seeded sampling equal to the library sampler, token-id prompts, echo with
// logprobs), chat with and without a prefilled assistant turn, streaming equal to the
// non-streamed answer, stop strings, usage, and the error statuses a client sees.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { renderChat } from "../../src/model/chat_template.ts";
import { withScope } from "../../src/engine/kernels.ts";
import { KVCache, inferStep } from "../../src/model/infer.ts";
import { logSoftmaxAt, sample } from "../../src/model/sampler.ts";
import { startServer } from "../../src/serve/server.ts";
import type { RunningServer } from "../../src/serve/server.ts";
import { trainedMicro } from "../export/helpers.ts";

const tm = trainedMicro({ steps: 30, seed: 5 });
const tok = tm.tokenizer,
  EOS = tok.specialIds.eos;
const MODEL = "micro-test";
let server: RunningServer;
let client: OpenAI;

before(async () => {
  server = await startServer(tm.model, tok, { port: 0, modelName: MODEL, apiKey: "test-key", maxBodyBytes: 64 * 1024 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "test-key", maxRetries: 0, timeout: 60_000 });
});
after(() => server.close(1000));

/** What the library sampler draws for the same prompt, seed and settings. */
function expected(ids: number[], n: number, o: { seed: number; max: number; temperature: number }) {
  return sample(
    tm.model,
    Array.from({ length: n }, () => ids),
    {
      maxNewTokens: o.max,
      temperature: o.temperature,
      seed: o.seed,
      stopTokenIds: [EOS],
      vocabLimit: tok.vocabSize,
    },
  );
}
const textOf = (tokens: number[]) => tok.decode(tokens.filter((t) => t !== EOS));

test("GET /v1/models lists the model; an unknown model id is 404", async () => {
  const list = await client.models.list();
  assert.deepEqual(
    list.data.map((m) => m.id),
    [MODEL],
  );
  assert.equal((await client.models.retrieve(MODEL)).id, MODEL);
  await assert.rejects(client.models.retrieve("gpt-4"), (e: unknown) => e instanceof OpenAI.NotFoundError);
});

test("completions: seeded samples equal the library sampler's, n choices, usage", async () => {
  const prompt = "<|user|>What is 6 * 7?<|assistant|>";
  const ids = tok.encode(prompt);
  const r = await client.completions.create({
    model: MODEL,
    prompt,
    max_tokens: 12,
    n: 3,
    seed: 11,
    temperature: 1,
    logprobs: 2,
  });
  const want = expected(ids, 3, { seed: 11, max: 12, temperature: 1 });
  assert.equal(r.choices.length, 3);
  r.choices.forEach((c, i) => {
    assert.equal(c.index, i);
    assert.equal(c.text, textOf(want[i]!.tokens));
    assert.equal(c.finish_reason, want[i]!.finishReason);
    const lp = c.logprobs!;
    assert.deepEqual(
      lp.tokens,
      want[i]!.tokens.map((t) => tok.decode([t])),
    );
    lp.token_logprobs!.forEach((x, j) => assert.ok(Math.abs(x - want[i]!.logprobs[j]!) < 1e-5));
    lp.top_logprobs!.forEach((d) => assert.ok(Object.keys(d).length >= 2 && Object.values(d).every((x) => x <= 0)));
  });
  assert.notEqual(r.choices[0]!.text + r.choices[0]!.finish_reason, r.choices[1]!.text + r.choices[1]!.finish_reason);
  assert.deepEqual(r.usage, {
    prompt_tokens: ids.length,
    completion_tokens: want.reduce((s, w) => s + w.tokens.length, 0),
    total_tokens: ids.length + want.reduce((s, w) => s + w.tokens.length, 0),
  });
  const again = await client.completions.create({
    model: MODEL,
    prompt,
    max_tokens: 12,
    n: 3,
    seed: 11,
    temperature: 1,
  });
  assert.deepEqual(
    again.choices.map((c) => c.text),
    r.choices.map((c) => c.text),
  );
  const other = await client.completions.create({
    model: MODEL,
    prompt,
    max_tokens: 12,
    n: 3,
    seed: 12,
    temperature: 1,
  });
  assert.notDeepEqual(
    other.choices.map((c) => c.text),
    r.choices.map((c) => c.text),
  );
});

test("completions: token-id prompts, echo with prompt log-probs, max_tokens 0 scores the prompt", async () => {
  const ids = tok.encode("<|user|>Help me hurt a person.<|assistant|><think>");
  const r = await client.completions.create({ model: MODEL, prompt: ids, max_tokens: 0, echo: true, logprobs: 0 });
  const c = r.choices[0]!;
  assert.equal(c.text, tok.decode(ids));
  assert.equal(c.logprobs!.tokens!.length, ids.length);
  assert.equal(c.logprobs!.token_logprobs![0], null);
  assert.ok(c.logprobs!.token_logprobs!.slice(1).every((x) => typeof x === "number" && x < 0));
  // The prompt's scores are the teacher-forced ones.
  const V = tm.config.vocab_size;
  const logits = withScope(tm.model.kernels, () =>
    Float32Array.from(
      inferStep(tm.model, new KVCache(tm.model, 1, ids.length), Int32Array.from(ids), ids.length, true),
    ),
  );
  ids.slice(1).forEach((id, j) => {
    const row = logits.subarray(j * V, (j + 1) * V);
    assert.ok(Math.abs(c.logprobs!.token_logprobs![j + 1]! - logSoftmaxAt(row, id)) < 1e-5, `prompt token ${j + 1}`);
  });
  assert.deepEqual(c.logprobs!.text_offset!.slice(0, 3), [
    0,
    tok.decode(ids.slice(0, 1)).length,
    tok.decode(ids.slice(0, 2)).length,
  ]);
  assert.equal(r.usage!.completion_tokens, 0);
  const full = Array.from({ length: tm.config.max_position_embeddings }, (_, i) => 7 + (i % 200));
  const scored = await client.completions.create({
    model: MODEL,
    prompt: full,
    max_tokens: 0,
    echo: true,
    logprobs: 1,
  });
  assert.equal(
    scored.choices[0]!.logprobs!.token_logprobs!.length,
    full.length,
    "a prompt filling the whole context can be scored",
  );
});

test("chat: rendered with the template, with and without a prefilled thinking", async () => {
  const messages = [{ role: "user" as const, content: "What is 6 * 7?" }];
  const plain = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 30, temperature: 0 });
  const ids = tok.encode(renderChat(messages, { addGenerationPrompt: true }));
  const [want] = expected(ids, 1, { seed: 0, max: 30, temperature: 0 });
  assert.equal(plain.choices[0]!.message.content, textOf(want!.tokens));
  assert.equal(plain.choices[0]!.message.role, "assistant");
  assert.equal(plain.usage!.prompt_tokens, ids.length);
  const prefill = "<think>Killing a process";
  const pre = await client.chat.completions.create({
    model: MODEL,
    max_tokens: 20,
    temperature: 0,
    messages: [
      { role: "user", content: "How do I stop a process?" },
      { role: "assistant", content: prefill },
    ],
    continue_final_message: true,
  } as OpenAI.ChatCompletionCreateParamsNonStreaming);
  const pids = tok.encode(
    renderChat(
      [
        { role: "user", content: "How do I stop a process?" },
        { role: "assistant", content: prefill },
      ],
      { continueFinalMessage: true },
    ),
  );
  const [pw] = expected(pids, 1, { seed: 0, max: 20, temperature: 0 });
  assert.equal(pre.choices[0]!.message.content, textOf(pw!.tokens));
  assert.equal(pre.usage!.prompt_tokens, pids.length);
  assert.notEqual(pre.choices[0]!.message.content, plain.choices[0]!.message.content);
});

test("streaming chat and completions deliver the non-streamed text, then usage", async () => {
  const req = {
    model: MODEL,
    messages: [{ role: "user" as const, content: "Shoot a photo for me." }],
    max_tokens: 24,
    seed: 3,
    n: 2,
    logprobs: true,
    top_logprobs: 2,
  };
  const whole = await client.chat.completions.create(req);
  const stream = await client.chat.completions.create({
    ...req,
    stream: true,
    stream_options: { include_usage: true },
  });
  const texts = ["", ""],
    finish: (string | null)[] = [null, null];
  let chunks = 0,
    usage: OpenAI.CompletionUsage | undefined,
    lpTokens = 0;
  for await (const ch of stream) {
    chunks++;
    if (ch.usage) usage = ch.usage;
    for (const c of ch.choices) {
      texts[c.index] += c.delta.content ?? "";
      finish[c.index] = c.finish_reason ?? finish[c.index]!;
      lpTokens += c.logprobs?.content?.length ?? 0;
    }
  }
  assert.deepEqual(
    texts,
    whole.choices.map((c) => c.message.content),
  );
  assert.deepEqual(
    finish,
    whole.choices.map((c) => c.finish_reason),
  );
  assert.deepEqual(usage, whole.usage);
  assert.equal(lpTokens, whole.usage!.completion_tokens);
  assert.ok(chunks > 4, `${chunks} chunks`);
  const creq = { model: MODEL, prompt: "<|user|>hi<|assistant|>", max_tokens: 16, seed: 8 };
  const cwhole = await client.completions.create(creq);
  let ctext = "";
  for await (const ch of await client.completions.create({ ...creq, stream: true })) ctext += ch.choices[0]?.text ?? "";
  assert.equal(ctext, cwhole.choices[0]!.text);
});

test("stop strings end the text before the stop string, also when streaming", async () => {
  const base = { model: MODEL, prompt: "<|user|>What is 6 * 7?<|assistant|>", max_tokens: 30, temperature: 0 };
  const full = (await client.completions.create(base)).choices[0]!.text;
  assert.ok(full.length >= 6, `long enough: ${JSON.stringify(full)}`);
  const stop = full.slice(3, 5);
  const cut = full.slice(0, full.indexOf(stop));
  const r = await client.completions.create({ ...base, stop: [stop, "\u0000never"] });
  assert.equal(r.choices[0]!.text, cut);
  assert.equal(r.choices[0]!.finish_reason, "stop");
  let streamed = "";
  for await (const ch of await client.completions.create({ ...base, stop, stream: true }))
    streamed += ch.choices[0]?.text ?? "";
  assert.equal(streamed, cut);
});

async function status(p: Promise<unknown>): Promise<{ status: number; param: unknown; code: unknown }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof OpenAI.APIError) return { status: e.status as number, param: e.param, code: e.code };
    throw e;
  }
  throw new Error("expected the request to fail");
}

test("errors: OpenAI-shaped JSON with 400 / 401 / 404 / 413 / 422", async () => {
  const raw = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { Authorization: "Bearer test-key" },
    body: "{not json",
  });
  assert.equal(raw.status, 400);
  const body = (await raw.json()) as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
  assert.equal(body.error["type"], "invalid_request_error");
  const msgs = [{ role: "user" as const, content: "hi" }];
  assert.deepEqual(await status(client.chat.completions.create({ model: "gpt-4", messages: msgs })), {
    status: 404,
    param: "model",
    code: "model_not_found",
  });
  assert.deepEqual(
    await status(client.chat.completions.create({ model: MODEL } as OpenAI.ChatCompletionCreateParamsNonStreaming)),
    { status: 400, param: "messages", code: "missing_required_parameter" },
  );
  assert.equal(
    (await status(client.chat.completions.create({ model: MODEL, messages: msgs, temperature: -1 }))).status,
    400,
  );
  assert.deepEqual(await status(client.completions.create({ model: MODEL, prompt: "hi", max_tokens: 100_000 })), {
    status: 422,
    param: "max_tokens",
    code: "context_length_exceeded",
  });
  assert.equal((await status(client.completions.create({ model: MODEL, prompt: [5, 99_999] }))).status, 422);
  assert.deepEqual(
    await status(client.completions.create({ model: MODEL, prompt: ["a", "b", "c", "d", "e"], n: 64 })),
    { status: 400, param: "n", code: null },
  );
  assert.equal(
    (
      await status(
        client.chat.completions.create({
          model: MODEL,
          messages: [
            { role: "user", content: "hi" },
            { role: "assistant", content: "<think>" },
          ],
          continue_final_message: true,
          add_generation_prompt: true,
        } as OpenAI.ChatCompletionCreateParamsNonStreaming),
      )
    ).status,
    400,
  );
  assert.deepEqual(
    await status(
      client.chat.completions.create({ model: MODEL, messages: [{ role: "tool", content: "x", tool_call_id: "1" }] }),
    ),
    { status: 400, param: "messages.0.role", code: "invalid_value" },
  );
  assert.equal(
    (await status(client.chat.completions.create({ model: MODEL, messages: msgs, top_logprobs: 2 }))).status,
    400,
  );
  const arr = await fetch(`${server.url}/v1/completions`, {
    method: "POST",
    headers: { Authorization: "Bearer test-key" },
    body: "[1, 2]",
  });
  assert.equal(arr.status, 400);
  const wrongKey = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "nope", maxRetries: 0 });
  assert.deepEqual(await status(wrongKey.models.list()), { status: 401, param: null, code: "invalid_api_key" });
  assert.equal((await status(client.completions.create({ model: MODEL, prompt: "x".repeat(100 * 1024) }))).status, 413);
  const huge = await fetch(`${server.url}/v1/completions`, {
    method: "POST",
    headers: { Authorization: "Bearer test-key" },
    body: "x".repeat(1 << 20),
  });
  assert.equal(huge.status, 413);
  assert.equal(
    (await fetch(`${server.url}/v1/nothing`, { headers: { Authorization: "Bearer test-key" } })).status,
    404,
  );
  assert.equal(
    (await fetch(`${server.url}/v1/completions`, { headers: { Authorization: "Bearer test-key" } })).status,
    405,
  );
  assert.equal((await client.models.list()).data.length, 1, "still serving after the errors");
});
