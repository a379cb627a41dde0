// Prefill truncation: words (l_pre 0, longer than the text, runs of spaces and newlines, special
// tokens atomic and uncounted, never "</think>") and tokens (token boundaries, decoding a prefix
// of the text even through multi-byte characters, count <= l_pre after re-encoding).
import { test } from "node:test";
import assert from "node:assert/strict";
import { freshModel } from "../../src/model/init.ts";
import { truncatePrefill, truncateTokens, truncateWords } from "../../src/recap/truncate.ts";
import { RecapError } from "../../src/util/errors.ts";

const TRACE = "<think>First, I  classify\n\nthe request.\tIt is harmful.</think>Sorry, no.";

test("words: the cut ends at the l_pre-th word, spacing inside kept, no trailing space", () => {
  assert.deepEqual(truncateWords(TRACE, 3), { text: "<think>First, I  classify", count: 3, complete: false });
  assert.deepEqual(truncateWords(TRACE, 5), {
    text: "<think>First, I  classify\n\nthe request.",
    count: 5,
    complete: false,
  });
  assert.deepEqual(truncateWords("a  b \n\n c d", 3), { text: "a  b \n\n c", count: 3, complete: false });
});

test("words: l_pre 0, l_pre beyond the text, empty text", () => {
  assert.deepEqual(truncateWords(TRACE, 0), { text: "<think>", count: 0, complete: false }); // leading special kept, 0 words
  assert.deepEqual(truncateWords("plain words", 0), { text: "", count: 0, complete: false });
  // 8 words before </think>: everything up to it, never the end marker nor the response
  assert.deepEqual(truncateWords(TRACE, 100), {
    text: "<think>First, I  classify\n\nthe request.\tIt is harmful.",
    count: 8,
    complete: true,
  });
  assert.deepEqual(truncateWords(TRACE, 8), truncateWords(TRACE, 100));
  assert.deepEqual(truncateWords("", 5), { text: "", count: 0, complete: true });
  assert.deepEqual(truncateWords("  a b  \n", 5), { text: "  a b", count: 2, complete: true });
});

test("words: special tokens are atomic, count zero words, and split the word they touch", () => {
  assert.deepEqual(truncateWords("<think>First<|user|>second third", 1), {
    text: "<think>First<|user|>",
    count: 1,
    complete: false,
  });
  assert.deepEqual(truncateWords("ab</think>cd", 5), { text: "ab", count: 1, complete: true });
  assert.deepEqual(truncateWords("x </think> y z", 5), { text: "x", count: 1, complete: true });
  for (let l = 0; l < 12; l++) {
    const cut = truncateWords(TRACE, l).text;
    assert.ok(TRACE.startsWith(cut) && !cut.includes("</think>"));
    assert.ok(
      !/<[^>]*$/.test(cut.replace(/<think>/g, "")),
      `l_pre ${l}: a special token was split: ${JSON.stringify(cut)}`,
    );
  }
  assert.throws(
    () => truncateWords(TRACE, -1),
    (e: unknown) => e instanceof RecapError && /l_pre must be an integer >= 0/.test(e.message),
  );
});

const { tokenizer: tok } = freshModel("micro", 1);

test("tokens: a token-boundary prefix, special tokens whole, nothing from </think> on", () => {
  const body = "<think>First, I  classify\n\nthe request.\tIt is harmful.";
  const ids = tok.encode(body);
  assert.ok(ids.length > 8);
  for (let l = 0; l <= ids.length + 2; l++) {
    const cut = truncateTokens(TRACE, l, tok);
    assert.ok(body.startsWith(cut.text), `l_pre ${l}`);
    assert.ok(cut.count <= l && tok.encode(cut.text).length === cut.count);
    assert.equal(cut.complete, l >= ids.length);
    if (l <= ids.length)
      assert.equal(cut.text, tok.decode(ids.slice(0, l)), "cuts exactly at token l when it decodes cleanly");
  }
  assert.deepEqual(truncateTokens(TRACE, 1, tok), { text: "<think>", count: 1, complete: false });
});

test("tokens: a cut inside a multi-byte character backs off to a clean prefix", () => {
  const text = "ok 🙂🙂 done";
  const ids = tok.encode(text);
  const bad = [...Array(ids.length).keys()].filter((k) => !text.startsWith(tok.decode(ids.slice(0, k))));
  assert.ok(bad.length > 0, "the emoji spans several byte tokens");
  for (const k of bad) {
    const cut = truncateTokens(text, k, tok);
    assert.ok(text.startsWith(cut.text) && !cut.text.includes("\uFFFD"));
    assert.ok(cut.count < k);
  }
  assert.throws(() => truncatePrefill(text, { unit: "tokens", l_pre: 3 }), /needs a tokenizer/);
  assert.equal(truncatePrefill(TRACE, { unit: "words", l_pre: 3 }).text, "<think>First, I  classify");
});

test("words: a run of CJK / Thai text is split into words by Intl.Segmenter; space-separated text counts as before", () => {
  // 我们 应该 先 分析 这个 问题。 然后 (7 words; the full stop stays with the word before it)
  const zh = "<think>我们应该先分析这个问题。然后给出答案</think>好的";
  assert.deepEqual(truncateWords(zh, 6), { text: "<think>我们应该先分析这个问题。", count: 6, complete: false });
  assert.deepEqual(truncateWords(zh, 2), { text: "<think>我们应该", count: 2, complete: false });
  assert.equal(truncateWords(zh, 100).count, 10);
  assert.deepEqual(truncateWords("Hello世界 ok", 1), { text: "Hello", count: 1, complete: false });
  assert.deepEqual(truncateWords("ภาษาไทยง่ายนิดเดียว", 2), { text: "ภาษาไทย", count: 2, complete: false });
  // leading punctuation stays with the first word; a run with no word-like segment is one word
  assert.deepEqual(truncateWords("「你好」世界", 1), { text: "「你好」", count: 1, complete: false });
  assert.equal(truncateWords("。。。 x", 5).count, 2);
  // ASCII: one word per whitespace run, as before (the segmenter would split these)
  assert.deepEqual(truncateWords("well-known x=5 a/b don't", 3), {
    text: "well-known x=5 a/b",
    count: 3,
    complete: false,
  });
  assert.equal(truncateWords("café naïve, Straße", 10).count, 3);
});
