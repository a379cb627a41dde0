// Where a chat template comes from (fixtures in test/data/fixtures/templates, no ../shared):
// a model folder in today's HF layout (chat_template.jinja beside a tokenizer_config.json that
// has no template; named templates in additional_chat_templates/), a tokenizer_config.json
// (with its own template, or falling back to the chat_template.jinja beside it) and a .jinja
// file, whose special tokens (bos_token, eos_token, ...) come from the tokenizer_config.json
// beside it, so a .jinja template keeps its BOS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadChatTemplate, renderMessages, renderPrefilled } from "../../src/lm/templates.ts";
import { RecapError } from "../../src/util/errors.ts";

const DIR = new URL("fixtures/templates/", import.meta.url).pathname;
const user = [{ role: "user", content: "Hi" }];

test("a .jinja template takes bos_token and eos_token from the tokenizer_config.json beside it", () => {
  const t = loadChatTemplate(`${DIR}hf_model/chat_template.jinja`);
  assert.equal(t.bosToken, "<|bos|>"); // an AddedToken object in the config
  assert.equal(t.eosToken, "<|eos|>");
  assert.equal(t.tokenizerConfig, `${DIR}hf_model/tokenizer_config.json`);
  assert.equal(t.addBosToken, true);
  assert.equal(renderMessages(t, user, true), "<|bos|><|U|>Hi<|A|>");
  assert.equal(
    renderMessages(t, [...user, { role: "assistant", content: "Yo" }], false),
    "<|bos|><|U|>Hi<|A|>Yo<|eos|>",
  );
  assert.equal(renderPrefilled(t, user, "The user"), "<|bos|><|U|>Hi<|A|><think>\nThe user");
});

test("a model folder in HF's layout (chat_template.jinja, config without a template) is accepted", () => {
  const t = loadChatTemplate(`${DIR}hf_model`);
  assert.equal(t.source, `${DIR}hf_model/chat_template.jinja`);
  assert.equal(renderMessages(t, user, true), "<|bos|><|U|>Hi<|A|>");
  assert.equal(t.specialTokens?.["pad_token"], "<|pad|>");
  // a named template from additional_chat_templates/, with the same special tokens
  const named = loadChatTemplate(`${DIR}hf_model`, "think");
  assert.equal(renderMessages(named, user, true), "<|bos|>[user]Hi[assistant]<think>\n");
  assert.throws(() => loadChatTemplate(`${DIR}hf_model`, "nope"), /named "nope"/);
});

test("a tokenizer_config.json without a template falls back to the chat_template.jinja beside it", () => {
  const t = loadChatTemplate(`${DIR}hf_model/tokenizer_config.json`);
  assert.equal(t.source, `${DIR}hf_model/chat_template.jinja`);
  assert.equal(renderMessages(t, user, true), "<|bos|><|U|>Hi<|A|>");
});

test("a tokenizer_config.json with its own template, as before; its folder gives the same", () => {
  for (const src of [`${DIR}config_only/tokenizer_config.json`, `${DIR}config_only`]) {
    const t = loadChatTemplate(src);
    assert.equal(t.source, `${DIR}config_only/tokenizer_config.json`);
    assert.equal(t.bosToken, "<s>");
    assert.equal(t.addBosToken, false);
    assert.equal(renderMessages(t, user, true), "<s>user: Hi\nassistant: ");
  }
});

test("a .jinja with no tokenizer_config.json beside it renders its special tokens empty", () => {
  const t = loadChatTemplate(`${DIR}lone/template.jinja`);
  assert.equal(t.bosToken, "");
  assert.equal(t.tokenizerConfig, undefined);
  assert.equal(renderMessages(t, user, true), "<user>Hi<assistant>");
});

test("no template anywhere: a RecapError naming the place and the fix", () => {
  for (const [src, msg] of [
    [`${DIR}empty_model`, /empty_model has no chat_template.jinja and no tokenizer_config.json with a chat_template/],
    [`${DIR}empty_model/tokenizer_config.json`, /has no chat_template and there is no chat_template.jinja beside it/],
    [`${DIR}nowhere`, /no such file or folder/],
  ] as const) {
    assert.throws(
      () => loadChatTemplate(src),
      (e: unknown) => e instanceof RecapError && msg.test(e.message) && /model folder/.test(e.hint ?? ""),
    );
  }
});
