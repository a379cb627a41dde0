// The one aggregation: each mode's value and per-token weights against hand arithmetic, masked
// garbage ignored, empty rows, bad modes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { aggregate, aggregationUnits } from "../../src/rl/aggregate.ts";
import { RecapError } from "../../src/util/errors.ts";

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const closeAll = (a: ArrayLike<number>, b: number[], tol = 1e-12) => {
  assert.equal(a.length, b.length);
  b.forEach((x, i) => close(a[i]!, x, tol));
};

// B = 2, T = 3; row 0 optimises t = 0, 1 (losses 1, 2), row 1 optimises t = 0 (loss 4).
// lossMat[2] is NaN: a masked position must never be read.
const lossMat = [1, 2, NaN, 4, 5, 6];
const mask = [1, 1, 0, 1, 0, 0];

test("token-mean: (1 + 2 + 4) / 3 tokens", () => {
  const r = aggregate(lossMat, mask, "token-mean", { B: 2, T: 3 });
  close(r.value, 7 / 3);
  closeAll(r.weights, [1 / 3, 1 / 3, 0, 1 / 3, 0, 0]);
});

test("seq-mean-token-mean: rows (1+2)/2 = 1.5 and 4/1 = 4, mean 2.75", () => {
  const r = aggregate(lossMat, mask, "seq-mean-token-mean", { B: 2, T: 3 });
  close(r.value, 2.75);
  // d/dL: row 0 tokens 1/(2 tokens * 2 rows), row 1 token 1/(1 * 2)
  closeAll(r.weights, [0.25, 0.25, 0, 0.5, 0, 0]);
});

test("seq-mean-token-sum-norm: rows 3/4 and 4/4 with norm_len 4, mean over B = 0.875", () => {
  const r = aggregate(lossMat, mask, "seq-mean-token-sum-norm", { B: 2, T: 3, norm_len: 4 });
  close(r.value, 0.875);
  closeAll(r.weights, [1 / 8, 1 / 8, 0, 1 / 8, 0, 0]);
});

test("a row without optimised tokens: left out of seq-mean-token-mean, counted by token-sum-norm", () => {
  const L = [...lossMat, 9, 9, 9],
    m = [...mask, 0, 0, 0]; // B = 3, row 2 empty
  close(aggregate(L, m, "seq-mean-token-mean", { B: 3, T: 3 }).value, 2.75);
  close(aggregate(L, m, "seq-mean-token-sum-norm", { B: 3, T: 3, norm_len: 4 }).value, (0.75 + 1 + 0) / 3);
  close(aggregate(L, m, "token-mean", { B: 3, T: 3 }).value, 7 / 3);
  const empty = aggregate([1, 2], [0, 0], "token-mean", { B: 1, T: 2 });
  assert.equal(empty.value, 0);
  closeAll(empty.weights, [0, 0]);
});

test("unknown mode lists the valid ones; token-sum-norm without norm_len is refused", () => {
  assert.throws(
    () => aggregate(lossMat, mask, "seq-sum", { B: 2, T: 3 }),
    (e: unknown) =>
      e instanceof RecapError &&
      /seq-sum/.test(e.message) &&
      /token-mean, seq-mean-token-mean, seq-mean-token-sum-norm/.test(e.hint ?? ""),
  );
  assert.throws(() => aggregate(lossMat, mask, "seq-mean-token-sum-norm", { B: 2, T: 3 }), /norm_len/);
  assert.throws(() => aggregate([1, 2], mask, "token-mean", { B: 2, T: 3 }), /B\*T = 6/);
});

test("micro-batches weighted by their share of the mode's units add up to the whole batch's aggregate", () => {
  // 4 rows x 3 tokens; row 2 has no optimised token.
  const B = 4,
    T = 3;
  const loss = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const mask = [1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1];
  const cases: [string, number][] = [
    ["token-mean", 7],
    ["seq-mean-token-mean", 3],
    ["seq-mean-token-sum-norm", 4],
  ];
  for (const [mode, units] of cases) {
    assert.equal(aggregationUnits(mask, mode, { B, T }), units, mode);
    const whole = aggregate(loss, mask, mode, { B, T, norm_len: 3 }).value;
    const parts = [
      [0, 2],
      [2, 4],
    ].map(([r0, r1]) => {
      const l = loss.slice(r0! * T, r1! * T),
        m = mask.slice(r0! * T, r1! * T),
        b = r1! - r0!;
      return { u: aggregationUnits(m, mode, { B: b, T }), v: aggregate(l, m, mode, { B: b, T, norm_len: 3 }).value };
    });
    const total = parts.reduce((a, p) => a + p.u, 0);
    const split = parts.reduce((a, p) => a + (p.u / total) * p.v, 0);
    assert.ok(Math.abs(split - whole) < 1e-12, `${mode}: ${split} vs ${whole}`);
  }
  assert.throws(
    () => aggregationUnits(mask, "seq-sum", { B, T }),
    (e: unknown) => e instanceof RecapError && /unknown aggregation mode "seq-sum"/.test(e.message),
  );
});
