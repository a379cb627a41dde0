// Real chat templates from ../shared/datasets/chat_templates: rendering, prefilled prompts with
// `<think>` placed exactly once, full-hijack prompts, and HF-style continue_final_message.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { Template } from "@huggingface/jinja";
import { loadChatTemplate, renderContinueFinal, renderMessages, renderPrefilled } from "../../src/lm/templates.ts";

const DIR = "../shared/datasets/chat_templates";
const have = fs.existsSync(DIR);
const skip = have ? false : `${DIR} not found (run beside ../shared)`;
const user = [{ role: "user", content: "Hi" }];

test("DeepSeek-R1-distill (Jan 2025): generation prompt, prefill, hijack, continue_final_message", { skip }, () => {
  const t = loadChatTemplate(`${DIR}/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B_tokenizer_config.json`);
  assert.equal(t.bosToken, "<｜begin▁of▁sentence｜>");
  const gen = renderMessages(t, user, true);
  assert.equal(gen, "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>");
  const pre = renderPrefilled(t, user, "The user wants");
  assert.equal(pre, gen + "<think>\nThe user wants");
  assert.equal(
    renderPrefilled(t, user, "Unsafe plan.", { closeThinking: true }),
    gen + "<think>\nUnsafe plan.\n</think>\n\n",
  );
  // HF continue_final_message gives the same prompt for a partial thinking...
  assert.equal(renderContinueFinal(t, user, "<think>\nThe user wants"), pre);
  // ...but the template keeps only the text after </think>, so a hijack cannot go that way.
  assert.throws(() => renderContinueFinal(t, user, "<think>\nplan\n</think>\n\nSure"), /rewrote/);
  assert.throws(() => renderPrefilled(t, user, "a </think> b"), /must not contain/);
});

test("a template that opens <think> itself gets no second one", { skip }, () => {
  const t = loadChatTemplate(`${DIR}/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B_tokenizer_config.json`);
  const opened = t.template.replace("{{'<｜Assistant｜>'}}{% endif %}", "{{'<｜Assistant｜><think>\\n'}}{% endif %}");
  assert.notEqual(opened, t.template, "the edit must apply");
  const t2 = { ...t, template: opened, compiled: new Template(opened) };
  const pre = renderPrefilled(t2, user, "The user wants");
  assert.equal(pre, "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜><think>\nThe user wants");
  assert.equal(pre.split("<think>").length, 2);
});

test("Qwen3: thinking on by default, refused when disabled", { skip }, () => {
  const t = loadChatTemplate(`${DIR}/Qwen-Qwen3-0.6B.jinja`);
  const gen = renderMessages(t, user, true);
  assert.equal(gen, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  assert.equal(renderPrefilled(t, user, "Let me think"), gen + "<think>\nLet me think");
  assert.equal(renderMessages(t, user, true, { extra: { enable_thinking: false } }), gen + "<think>\n\n</think>\n\n");
  assert.throws(() => renderPrefilled(t, user, "x", { extra: { enable_thinking: false } }), /closes the thinking/);
});

test("Llama 3.3: renders its header; errors are one clear line", { skip }, () => {
  const t = loadChatTemplate(`${DIR}/meta-llama-Llama-3.3-70B-Instruct.jinja`);
  const gen = renderMessages(t, user, true, { extra: { bos_token: "<|begin_of_text|>" } });
  assert.match(gen, /Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024/);
  assert.ok(gen.endsWith("<|start_header_id|>assistant<|end_header_id|>\n\n"));
  assert.throws(() => loadChatTemplate("no/such/file.json"), /cannot read chat template/);
});
