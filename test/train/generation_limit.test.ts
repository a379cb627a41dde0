// The trainer's generation-limit check: the longest base-corpus answer in the policy's tokens,
// against max_new_tokens minus the overlong buffer (src/rl/overlong.ts checkMaxNewTokens).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { trainBpe } from "../../src/model/bpe_train.ts";
import { checkGenerationLimit } from "../../src/train/generation_limit.ts";

test("the longest base-corpus answer decides whether the generation limit cuts answers", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "recap-limit-"));
  try {
    const tok = trainBpe(["the answer is short. the answer is longer than that one. "], 300);
    assert.equal(checkGenerationLimit(dir, tok, 352, 24), null, "no corpus: nothing to measure");
    const answers = [
      "<think>short.</think>ok.<eos>",
      "<think>the answer is longer than that one.</think>the answer.<eos>",
    ];
    const rows = answers.map((a, i) => JSON.stringify({ id: `r${i}`, text: `<|user|>question ${i}<|assistant|>${a}` }));
    fs.mkdirSync(path.join(dir, "corpora"));
    fs.writeFileSync(path.join(dir, "corpora", "base_sft.jsonl"), rows.join("\n") + "\n");
    const longest = tok.encode(answers[1]!).length;
    const fits = checkGenerationLimit(dir, tok, longest + 24, 24)!;
    assert.deepEqual(fits, { max_new_tokens: longest + 24, buffer_len: 24, longest_answer: longest, ok: true });
    const short = checkGenerationLimit(dir, tok, longest + 23, 24)!;
    assert.equal(short.ok, false);
    assert.match(
      short.warning!,
      new RegExp(
        `below the longest expected trace, ${longest} tokens.*raise max_new_tokens to at least ${longest + 24}`,
      ),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
