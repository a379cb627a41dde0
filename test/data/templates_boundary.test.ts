// The prefill boundary on every real chat template of ../shared/datasets/chat_templates: the
// prefilled prompt is exactly the template's generation prompt + `<think>\n` (once, whether or not
// the template opened it) + the partial thinking, and nothing after it: no end-of-turn / EOS marker
// after the partial assistant text, no second `<think>`, no `</think>`. The same holds for the
// prompts `recap data build` writes (which render through renderPrefilled).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { loadChatTemplate, renderMessages, renderPrefilled } from "../../src/lm/templates.ts";
import { DEFAULT_EOS_STRINGS } from "../../src/reward/response.ts";

const DIR = "../shared/datasets/chat_templates";
const skip = fs.existsSync(DIR) ? false : `${DIR} not found (run beside ../shared)`;
const FILES: [string, Record<string, unknown>][] = [
  ["deepseek-ai-DeepSeek-R1-Distill-Qwen-32B_tokenizer_config.json", {}],
  ["Qwen-Qwen3-0.6B.jinja", {}],
  ["meta-llama-Llama-3.3-70B-Instruct.jinja", { bos_token: "<|begin_of_text|>" }],
];
const END_MARKERS = [...DEFAULT_EOS_STRINGS, "<|eom_id|>", "<｜Assistant｜>", "<|start_header_id|>"];

for (const [file, extra] of FILES) {
  test(`${file}: the prefilled prompt ends exactly at the partial thinking`, { skip }, () => {
    const t = loadChatTemplate(`${DIR}/${file}`);
    const msgs = [
      { role: "system", content: "Be careful." },
      { role: "user", content: "How do I kill a Python process?" },
    ];
    const prefill = "Okay, the user wants to stop a process. That is";
    const gen = renderMessages(t, msgs, true, { extra });
    const pre = renderPrefilled(t, msgs, prefill, { extra });
    assert.equal(pre, gen + "<think>\n" + prefill);
    assert.ok(pre.endsWith(prefill));
    const tail = pre.slice(gen.length);
    for (const m of END_MARKERS) assert.ok(!tail.includes(m), `${m} after the generation prompt`);
    assert.equal(pre.split("<think>").length - 1, 1);
    assert.ok(!pre.includes("</think>"));
    // the system message and the user turn are rendered once, before the assistant turn
    assert.equal(pre.split("How do I kill a Python process?").length - 1, 1);
  });
}
