// The policy prompt: exact rendered text with and without a prefill, and prompt / prefill token
// lists that concatenate to the tokenization of the whole (what the loss mask relies on).
import { test } from "node:test";
import assert from "node:assert/strict";
import { freshModel } from "../../src/model/init.ts";
import { encodePolicyPrompt, renderPolicyPrompt } from "../../src/recap/render.ts";

const { tokenizer: tok } = freshModel("micro", 1);

test("rendered text: generation prompt, or the chat cut right after the prefill", () => {
  assert.equal(renderPolicyPrompt("hi", null), "<|user|>hi<|assistant|>");
  assert.equal(renderPolicyPrompt("hi", "ok so"), "<|user|>hi<|assistant|><think>ok so");
  assert.equal(renderPolicyPrompt("hi", "ok so", undefined, ""), "<|user|>hi<|assistant|>ok so"); // a template that opens the thinking itself
  assert.equal(renderPolicyPrompt("hi", "", "be safe"), "<|system|>be safe<|user|>hi<|assistant|><think>");
});

test("prompt ids ++ prefill ids = ids of the whole rendering", () => {
  for (const prefill of ["First, the request is fine to help with", "", " leading space"]) {
    const { promptIds, prefillIds } = encodePolicyPrompt(tok, "How do I kill a process?", prefill);
    assert.deepEqual(
      [...promptIds, ...prefillIds],
      tok.encode(renderPolicyPrompt("How do I kill a process?", prefill)),
    );
    assert.deepEqual(prefillIds, tok.encode(`<think>${prefill}`));
    assert.equal(promptIds[promptIds.length - 1], tok.specialIds.assistant);
  }
  assert.deepEqual(encodePolicyPrompt(tok, "hi", null).prefillIds, []);
});
