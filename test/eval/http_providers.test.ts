// The endpoint providers against a fake OpenAI-compatible server on loopback: the exact prompts
// (a real DeepSeek-R1-distill template: clean, prefill, hijack), vLLM's continue_final_message
// flags on chat, the hijack refusal on chat, retries on 429 / 500 / timeouts, no retry on 400,
// per-item errors that do not stop the other items, and the token accounting.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadChatTemplate, renderMessages, renderPrefilled } from "../../src/lm/templates.ts";
import { HttpOptionsSchema, backoffDelay, endpointUrl, postJson } from "../../src/lm/providers/http.ts";
import { ChatProvider } from "../../src/lm/providers/openai_chat.ts";
import { CompletionsProvider, exactSplit, renderCompletionPrompt } from "../../src/lm/providers/openai_completions.ts";
import { CHAT_TEMPLATE } from "../../src/model/chat_template.ts";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { GenRequest } from "../../src/lm/types.ts";
import { isRecapError } from "../../src/util/errors.ts";
import { chatReply, completionReply, startFake } from "./fake_openai.ts";

// The published DeepSeek-R1-distill template when ../shared is beside the checkout; otherwise our
// own template in its format (test/eval/fixtures/README.md).
const SHARED_DS = "../shared/datasets/chat_templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B_tokenizer_config.json";
const DS_FILE = fs.existsSync(SHARED_DS) ? SHARED_DS : "test/eval/fixtures/r1_style_tokenizer_config.json";
const DS = loadChatTemplate(DS_FILE);
const fast = HttpOptionsSchema.parse({ backoffMs: 1, maxBackoffMs: 5, retries: 3, timeoutMs: 2000, concurrency: 2 });
const params = { maxTokens: 32, temperature: 0.6, topP: 0.95, seed: 7 };
const msgs = [{ role: "user", content: "How do I kill a Python process?" }];
const req = (key: string, extra: Partial<GenRequest> = {}): GenRequest => ({
  key,
  messages: msgs,
  params,
  n: 1,
  ...extra,
});

test("completions: the prompt is the model's own template, with <think> once and the hijack closed", async () => {
  const fake = await startFake(() => completionReply("ok</think>\n\nanswer", 6));
  try {
    const p = new CompletionsProvider({ baseUrl: fake.url + "/v1", model: "ds", template: DS, http: fast });
    const out = await p.generate([
      req("a"),
      req("b", { thinking: "The user wants" }),
      req("c", { thinking: "Fine, I will help.", closeThinking: true, n: 2 }),
    ]);
    assert.equal(out.length, 3);
    assert.ok(out.every((r) => r.error === undefined));
    assert.equal(out[2]!.completions.length, 2);
    const bodies = fake.requests.map((r) => r.body);
    assert.ok(fake.requests.every((r) => r.path === "/v1/completions"));
    assert.equal(bodies[0]!["prompt"], renderMessages(DS, msgs, true));
    assert.equal(bodies[1]!["prompt"], renderPrefilled(DS, msgs, "The user wants"));
    const hijack = bodies[2]!["prompt"] as string;
    assert.equal(hijack, renderPrefilled(DS, msgs, "Fine, I will help.", { closeThinking: true }));
    assert.equal(hijack.split("<think>").length - 1, 1);
    assert.ok(hijack.endsWith("Fine, I will help.\n</think>\n\n"));
    assert.deepEqual([bodies[2]!["seed"], bodies[3]!["seed"]], [7, 8]); // sample j uses seed + j
    assert.equal(bodies[0]!["max_tokens"], 32);
    assert.equal(bodies[0]!["n"], 1);
    assert.equal(bodies[0]!["model"], "ds");
  } finally {
    await fake.close();
  }
});

test("completions: token counts from usage (split estimated) or exact from logprobs tokens", async () => {
  const fake = await startFake((r) =>
    r.body["logprobs"]
      ? completionReply("ab</think>cd", 99, { logprobs: { tokens: ["ab", "</", "think>", "c", "d"] } })
      : completionReply("abcdefgh</think>xyzuvw12", 10),
  );
  try {
    const approx = await new CompletionsProvider({ baseUrl: fake.url, model: "m", template: DS, http: fast }).generate([
      req("a", { thinking: "x" }),
    ]);
    const c = approx[0]!.completions[0]!;
    assert.equal(c.completionTokens, 10);
    assert.equal(c.approxTokens, true);
    assert.equal(c.cotTokens + c.responseTokens, 10);
    assert.equal(c.cotTokens, Math.round((10 * 16) / 24));
    const exact = await new CompletionsProvider({
      baseUrl: fake.url,
      model: "m",
      template: DS,
      http: fast,
      logprobs: true,
    }).generate([req("b")]);
    const e = exact[0]!.completions[0]!;
    assert.deepEqual([e.completionTokens, e.cotTokens, e.responseTokens, e.approxTokens], [5, 3, 2, undefined]);
  } finally {
    await fake.close();
  }
  assert.deepEqual(exactSplit(["a", "b"], true), { cotTokens: 2, responseTokens: 0 });
  assert.deepEqual(exactSplit(["a", "b"], false), { cotTokens: 0, responseTokens: 2 });
});

test("retries on 429, 500 and timeouts; a 400 is not retried; failures stay per item", async () => {
  const fake = await startFake((r, i) => {
    const p = String(r.body["prompt"]);
    if (p.includes("bad")) return { status: 400, body: { error: { message: "bad request" } } };
    if (p.includes("flaky")) {
      const tries = fake.requests.filter((q) => String(q.body["prompt"]).includes("flaky")).length;
      return tries === 1
        ? { status: 429, headers: { "retry-after": "0" } }
        : tries === 2
          ? { status: 500 }
          : tries === 3
            ? { delayMs: 2500 }
            : completionReply("fine", 2);
    }
    return completionReply(`ok${i}`, 2);
  });
  try {
    const http = { ...fast, timeoutMs: 1000 }; // wide enough that a loaded machine does not time out "good"
    const p = new CompletionsProvider({ baseUrl: fake.url, model: "m", http });
    const out = await p.generate([
      req("flaky", { raw: "flaky prompt" }),
      req("bad", { raw: "bad prompt" }),
      req("good", { raw: "good prompt" }),
    ]);
    assert.equal(out[0]!.error, undefined, out[0]!.error);
    assert.equal(out[0]!.completions[0]!.text, "fine");
    assert.equal(fake.requests.filter((q) => String(q.body["prompt"]).includes("flaky")).length, 4);
    assert.match(out[1]!.error!, /HTTP 400/);
    assert.equal(fake.requests.filter((q) => String(q.body["prompt"]).includes("bad")).length, 1);
    assert.equal(out[1]!.completions.length, 0);
    assert.equal(out[2]!.error, undefined);
    assert.match(out[2]!.completions[0]!.text, /^ok\d+$/);
  } finally {
    await fake.close();
  }
});

test("retries give up with a clear error: always 500, and a refused connection", async () => {
  const fake = await startFake(() => ({ status: 503, body: "overloaded" }));
  const p = new CompletionsProvider({ baseUrl: fake.url, model: "m", http: { ...fast, retries: 2 } });
  const [r] = await p.generate([req("x", { raw: "hi" })]);
  assert.match(r!.error!, /HTTP 503: overloaded \(after 3 attempts\)/);
  assert.equal(fake.requests.length, 3);
  await fake.close();
  const dead = new CompletionsProvider({ baseUrl: fake.url, model: "m", http: { ...fast, retries: 1 } });
  const [d] = await dead.generate([req("y", { raw: "hi" })]);
  assert.match(d!.error!, /connection failed/);
});

test("chat: prefills go as a final assistant message with continue_final_message; hijacks are refused", async () => {
  const fake = await startFake((r) =>
    r.body["continue_final_message"]
      ? chatReply(" so I will refuse.</think>No.", 8)
      : chatReply("<think>hm</think>Sure.", 7),
  );
  try {
    const p = new ChatProvider({
      baseUrl: fake.url,
      model: "m",
      http: fast,
      extraBody: { chat_template_kwargs: { enable_thinking: true } },
    });
    const out = await p.generate([req("clean"), req("pre", { thinking: "The user asks" })]);
    const [clean, pre] = fake.requests.map((r) => r.body);
    assert.equal(fake.requests[0]!.path, "/v1/chat/completions");
    assert.deepEqual(clean!["messages"], msgs);
    assert.equal(clean!["continue_final_message"], undefined);
    assert.deepEqual(pre!["messages"], [...msgs, { role: "assistant", content: "<think>\nThe user asks" }]);
    assert.equal(pre!["continue_final_message"], true);
    assert.equal(pre!["add_generation_prompt"], false);
    assert.deepEqual(pre!["chat_template_kwargs"], { enable_thinking: true });
    assert.equal(out[1]!.completions[0]!.text, " so I will refuse.</think>No.");
    const before = fake.requests.length;
    await assert.rejects(
      p.generate([req("h", { thinking: "I will help.", closeThinking: true })]),
      (e: unknown) => isRecapError(e) && /completions/.test(e.hint ?? "") && /hijack/.test(e.message),
    );
    await assert.rejects(p.generate([req("h2", { thinking: "a </think> b" })]), (e: unknown) => isRecapError(e));
    assert.equal(fake.requests.length, before, "nothing was sent for a refused hijack");
  } finally {
    await fake.close();
  }
});

test("chat: a reasoning parser's reasoning_content is joined back before </think>", async () => {
  const fake = await startFake(() =>
    chatReply("The answer.", 12, {
      message: { role: "assistant", content: "The answer.", reasoning_content: "Let me think." },
    }),
  );
  try {
    const [r] = await new ChatProvider({ baseUrl: fake.url, model: "m", http: fast }).generate([req("a")]);
    const c = r!.completions[0]!;
    assert.equal(c.text, "Let me think.</think>The answer.");
    assert.equal(c.completionTokens, 12);
    assert.ok(c.cotTokens > 0 && c.responseTokens > 0 && c.approxTokens);
  } finally {
    await fake.close();
  }
});

test("http helpers: backoff grows and is capped, URLs join, Authorization is sent", async () => {
  const o = { backoffMs: 100, maxBackoffMs: 1000 };
  assert.equal(
    backoffDelay(0, o, () => 0),
    50,
  );
  assert.equal(
    backoffDelay(0, o, () => 1),
    100,
  );
  assert.equal(
    backoffDelay(3, o, () => 1),
    800,
  );
  assert.equal(
    backoffDelay(10, o, () => 1),
    1000,
  );
  assert.equal(endpointUrl("http://h:1/v1/", "/v1/completions"), "http://h:1/v1/completions");
  assert.equal(endpointUrl("http://h:1", "/v1/completions"), "http://h:1/v1/completions");
  const fake = await startFake(() => ({ body: { ok: true } }));
  try {
    assert.deepEqual(await postJson(fake.url + "/x", { a: 1 }, { ...fast, apiKey: "sek" }), { ok: true });
    assert.equal(fake.requests[0]!.headers["authorization"], "Bearer sek");
  } finally {
    await fake.close();
  }
});

test("completions with our tiny model's template (recap serve) render exactly as the embedded provider", () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "recap-tpl-")), "chat_template.jinja");
  fs.writeFileSync(file, CHAT_TEMPLATE);
  const template = loadChatTemplate(file);
  assert.deepEqual(renderCompletionPrompt(req("a", { thinking: "so" }), { template }), {
    prompt: "<|user|>How do I kill a Python process?<|assistant|><think>so",
    open: true,
  });
  assert.equal(
    renderCompletionPrompt(req("b", { thinking: "x", closeThinking: true }), { template }).prompt.endsWith(
      "<think>x</think>",
    ),
    true,
  );
  assert.throws(
    () => renderCompletionPrompt(req("c"), {}),
    (e: unknown) => isRecapError(e) && /--chat-template/.test(e.hint ?? ""),
  );
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
});
