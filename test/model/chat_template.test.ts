// Tests for the chat template (src/model/chat_template.ts): exact renderings per role, the
// generation prompt, the template's own error on an unknown role, continueFinalMessage prefills
// (including contents that also occur elsewhere in the text), and tokenizer_config.json.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Template } from "@huggingface/jinja";
import { CHAT_TEMPLATE, renderChat, tokenizerConfig } from "../../src/model/chat_template.ts";
import type { ChatMessage } from "../../src/model/chat_template.ts";
import { Tokenizer } from "../../src/model/tokenizer.ts";
import { trainBpe } from "../../src/model/bpe_train.ts";

const convo: ChatMessage[] = [
  { role: "system", content: "Be safe." },
  { role: "user", content: "hi" },
  { role: "assistant", content: "<think>ok</think>fine" },
  { role: "user", content: "and?" },
];

describe("renderChat", () => {
  it("renders each role with its tag, assistant turns closed by <eos>", () => {
    assert.equal(renderChat(convo), "<|system|>Be safe.<|user|>hi<|assistant|><think>ok</think>fine<eos><|user|>and?");
  });
  it("appends <|assistant|> for a generation prompt", () => {
    assert.equal(renderChat(convo, { addGenerationPrompt: true }), `${renderChat(convo)}<|assistant|>`);
    assert.equal(renderChat([], { addGenerationPrompt: true }), "<|assistant|>");
  });
  it("renders the acceptance conversation to the expected ids", () => {
    const text = renderChat([
      { role: "user", content: "hi" },
      { role: "assistant", content: "<think>ok</think>fine" },
    ]);
    assert.equal(text, "<|user|>hi<|assistant|><think>ok</think>fine<eos>");
    const ids = Tokenizer.fromMerges([]).encode(text);
    assert.equal(ids[0], 3);
    assert.deepEqual(
      ids.filter((id) => id < 7),
      [3, 4, 5, 6, 1],
    );
  });
  it("keeps contents verbatim, whitespace and template syntax included", () => {
    const m = [{ role: "user", content: "  {{ x }} {% if %}\n" }];
    assert.equal(renderChat(m), "<|user|>  {{ x }} {% if %}\n");
  });
  it("raises on an unknown role from inside the template", () => {
    assert.throws(() => renderChat([{ role: "tool", content: "x" }]), /Unknown role: tool/);
    const t = new Template(CHAT_TEMPLATE);
    assert.throws(() => t.render({ messages: [{ role: "robot", content: "x" }] }), /Unknown role: robot/);
  });
});

describe("continueFinalMessage", () => {
  const user = { role: "user", content: "hi" };
  it("ends exactly at the prefill, without <eos>", () => {
    const out = renderChat([user, { role: "assistant", content: "<think>ok" }], { continueFinalMessage: true });
    assert.equal(out, "<|user|>hi<|assistant|><think>ok");
  });
  it("does not trim the prefill", () => {
    const out = renderChat([user, { role: "assistant", content: " <think>\nok  " }], { continueFinalMessage: true });
    assert.equal(out, "<|user|>hi<|assistant|> <think>\nok  ");
  });
  it("cuts at the final turn when its content also appears earlier or inside <eos>", () => {
    const cases: [string, string][] = [
      ["hi", "hi"],
      ["s", "s"],
      [">", ">"],
      ["eos>", "eos>"],
      ["<eos", "<eos"],
      ["<", "<"],
    ];
    for (const [earlier, prefill] of cases) {
      const msgs = [
        { role: "user", content: earlier },
        { role: "assistant", content: prefill },
      ];
      assert.equal(
        renderChat(msgs, { continueFinalMessage: true }),
        `<|user|>${earlier}<|assistant|>${prefill}`,
        prefill,
      );
    }
  });
  it("treats an empty prefill as the generation prompt", () => {
    const out = renderChat([user, { role: "assistant", content: "" }], { continueFinalMessage: true });
    assert.equal(out, "<|user|>hi<|assistant|>");
  });
  it("rejects a final message that is not an assistant turn, and both flags at once", () => {
    assert.throws(
      () => renderChat([user], { continueFinalMessage: true }),
      /needs a final assistant message, got role "user"/,
    );
    assert.throws(() => renderChat([], { continueFinalMessage: true }), /got no messages/);
    const msgs = [user, { role: "assistant", content: "a" }];
    assert.throws(
      () => renderChat(msgs, { continueFinalMessage: true, addGenerationPrompt: true }),
      /cannot both be set/,
    );
  });
});

describe("tokenizerConfig", () => {
  const tok = trainBpe(["the cat sat on the mat, the end"], 280);
  it("writes HF tokenizer_config.json fields", () => {
    const c = tokenizerConfig(tok, 128);
    assert.equal(c.chat_template, CHAT_TEMPLATE);
    assert.equal(c.bos_token, null);
    assert.equal(c.eos_token, "<eos>");
    assert.equal(c.pad_token, "<pad>");
    assert.equal(c.model_max_length, 128);
    assert.equal(c.clean_up_tokenization_spaces, false);
    assert.equal(c.tokenizer_class, "PreTrainedTokenizerFast");
    assert.equal(tokenizerConfig(tok).model_max_length, 256);
  });
  it("lists every special token in added_tokens_decoder by id string", () => {
    const added = tokenizerConfig(tok).added_tokens_decoder as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(added), ["0", "1", "2", "3", "4", "5", "6"]);
    assert.deepEqual(added["5"], {
      content: "<think>",
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    });
    assert.equal(added["1"]!.content, "<eos>");
    assert.equal(added["4"]!.content, "<|assistant|>");
  });
  it("carries a template that renders like renderChat", () => {
    const t = new Template(tokenizerConfig(tok).chat_template as string);
    assert.equal(
      t.render({ messages: convo, add_generation_prompt: true }),
      renderChat(convo, { addGenerationPrompt: true }),
    );
  });
});
