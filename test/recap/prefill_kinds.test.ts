// One vocabulary of prefill kinds: weak / strong / aligned / heldout, read from either spelling of
// the files (the world v6 files' counter_weak / counter_strong), the plain key first.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PREFILL_KINDS, prefillOf } from "../../src/recap/prefill_kinds.ts";

test("prefill kinds are read from either spelling, the plain key first; nothing else counts", () => {
  const v6 = { counter_weak: "w6", counter_strong: "s6", aligned: "a", heldout: "h" };
  assert.deepEqual(
    PREFILL_KINDS.map((k) => prefillOf(v6, k)),
    ["w6", "s6", "a", "h"],
  );
  assert.equal(prefillOf({ weak: "w", counter_weak: "w6" }, "weak"), "w");
  assert.equal(prefillOf({ strong: 3, counter_strong: "s6" }, "strong"), "s6", "a non-string value is skipped");
  assert.equal(prefillOf({ counter_aligned: "x" }, "aligned"), undefined);
  assert.equal(prefillOf(undefined, "weak"), undefined);
  assert.equal(prefillOf("weak", "weak"), undefined);
});
