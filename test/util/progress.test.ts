// The log form of the progress bar: lines written from update itself (no timer), throttled,
// with the last value always shown and an ETA from the units done since the first update.
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatSeconds, progressLines } from "../../src/util/progress.ts";

test("log progress: throttled lines from update, the final value always, ETA from a resumed start", () => {
  let now = 0;
  const out: string[] = [];
  const p = progressLines("sft", 100, ["loss"], { write: (l) => out.push(l), now: () => now, everyMs: 5000 });
  p.update(40); // resumed at 40
  for (let v = 41; v <= 100; v++) {
    now += 1000; // one unit per second
    p.update(v, { loss: (1 / v).toFixed(3) });
  }
  assert.equal(out[0], "sft 40/100 (40.0%) | ETA - | loss -\n");
  assert.ok(out.length >= 12 && out.length <= 14, `about one line per 5 s of 60 s: ${out.length}`);
  assert.equal(out.at(-1), "sft 100/100 (100.0%) | ETA 0m00s | loss 0.010\n");
  const mid = out.find((l) => l.startsWith("sft 50/100"));
  assert.equal(mid, "sft 50/100 (50.0%) | ETA 0m50s | loss 0.020\n", "50 units left at 1 s each");
});

test("formatSeconds", () => {
  assert.equal(formatSeconds(842), "14m02s");
  assert.equal(formatSeconds(3725), "1h02m05s");
  assert.equal(formatSeconds(-3), "0m00s");
});
