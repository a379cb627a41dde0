// DAPO's soft overlong punishment (eq. 13) at hand-computed lengths, and the sizing of
// max_new_tokens from the longest expected trace (DESIGN.md §4.1 lesson 4).
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkMaxNewTokens, overlongPenalty, sizeMaxNewTokens } from "../../src/rl/overlong.ts";

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

test("penalty: 0 up to L_max - L_cache, linear to -1 at L_max, -1 beyond (times the factor)", () => {
  const cfg = { maxLen: 20, buffer_len: 5, factor: 1 }; // expected length 15
  close(overlongPenalty(15, cfg), 0);
  close(overlongPenalty(16, cfg), -0.2); // (15 - 16) / 5
  close(overlongPenalty(18, cfg), -0.6); // (15 - 18) / 5
  close(overlongPenalty(20, cfg), -1); // cut at the limit
  close(overlongPenalty(21, cfg), -1);
  close(overlongPenalty(18, { ...cfg, factor: 0.5 }), -0.3);
  close(overlongPenalty(25, { ...cfg, factor: 0.5 }), -0.5);
  // DAPO's setting: L_max 20480, L_cache 4096: (16384 - 18432) / 4096 = -0.5
  close(overlongPenalty(18432, { maxLen: 20480, buffer_len: 4096, factor: 1 }), -0.5);
  assert.deepEqual(
    [1, 1, 0].map((r, b) => Math.round((r + overlongPenalty([10, 18, 21][b]!, cfg)) * 1e9) / 1e9),
    [1, 0.4, -1],
  );
  assert.throws(() => overlongPenalty(3, { maxLen: 20, buffer_len: 0, factor: 1 }), /buffer_len/);
});

test("max_new_tokens from the longest trace: ceil(57 * 1.25) = 72, + buffer 16 = 88", () => {
  const s = sizeMaxNewTokens({ traceLengths: [40, 57, 52], margin: 0.25, buffer_len: 16 });
  assert.deepEqual(s, { maxNewTokens: 88, expectedLen: 72, longestTrace: 57 });
  // the longest trace is never penalised under the sized limit
  assert.equal(overlongPenalty(57, { maxLen: 88, buffer_len: 16, factor: 1 }), 0);
  assert.equal(overlongPenalty(72, { maxLen: 88, buffer_len: 16, factor: 1 }), 0);
  assert.throws(
    () => sizeMaxNewTokens({ traceLengths: [57], buffer_len: 16, contextLeft: 80 }),
    /exceeds the 80 tokens/,
  );
  assert.equal(sizeMaxNewTokens({ traceLengths: [57] }).maxNewTokens, 72); // default margin 0.25, no buffer
});

test("a limit that would cut or penalise the longest trace is refused", () => {
  assert.throws(() => checkMaxNewTokens(48, 57), /below the longest expected trace, 57/);
  assert.throws(() => checkMaxNewTokens(72, 57, 16), /minus overlong buffer 16/); // 72 - 16 = 56 < 57
  assert.doesNotThrow(() => checkMaxNewTokens(88, 57, 16));
});
