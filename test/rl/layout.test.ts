// The token layout and the one loss mask: hand-placed positions for rows with prefills of
// different lengths, packing into ids/targets, scattering sampler values, bad layouts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { lossMask, packBatch, scatterGenerated } from "../../src/rl/layout.ts";
import { RecapError } from "../../src/util/errors.ts";

test("mask marks t = P+F-1 .. P+F+G-2 of each row, whatever the prefill length", () => {
  // row 0: P=3, F=0, G=4 -> t = 2..5;  row 1: P=2, F=3, G=2 -> t = 4..5;  row 2: P=1, F=5, G=1 -> t = 5
  const mask = lossMask({
    B: 3,
    T: 8,
    rows: [
      { promptLen: 3, prefillLen: 0, genLen: 4 },
      { promptLen: 2, prefillLen: 3, genLen: 2 },
      { promptLen: 1, prefillLen: 5, genLen: 1 },
    ],
  });
  assert.deepEqual([...mask], [0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
});

test("packBatch: the targets at masked positions are exactly the generated tokens", () => {
  const rollouts = [
    { prompt: [10, 11, 12], prefill: [], generated: [20, 21, 22, 23] },
    { prompt: [10, 11], prefill: [30, 31, 32], generated: [24, 25] },
    { prompt: [10], prefill: [33], generated: [26] },
  ];
  const p = packBatch(rollouts, 99);
  // longest row: 7 tokens -> T = 6 positions (its last token is only a target)
  assert.equal(p.T, 6);
  assert.deepEqual([...p.ids.subarray(6, 12)], [10, 11, 30, 31, 32, 24]);
  assert.deepEqual([...p.targets.subarray(6, 12)], [11, 30, 31, 32, 24, 25]);
  assert.deepEqual([...p.ids.subarray(12, 18)], [10, 33, 26, 99, 99, 99]); // ids hold the whole row, pad after
  assert.deepEqual([...p.targets.subarray(12, 18)], [33, 26, 99, 99, 99, 99]);
  rollouts.forEach((r, b) => {
    const scored: number[] = [];
    for (let t = 0; t < p.T; t++) if (p.mask[b * p.T + t] === 1) scored.push(p.targets[b * p.T + t]!);
    assert.deepEqual(scored, r.generated, `row ${b}`);
  });
});

test("scatterGenerated puts sampler values at the scored positions", () => {
  const layout = {
    B: 2,
    T: 6,
    rows: [
      { promptLen: 3, prefillLen: 0, genLen: 4 },
      { promptLen: 2, prefillLen: 3, genLen: 2 },
    ],
  };
  const v = scatterGenerated(layout, [
    [-1, -2, -3, -4],
    [-5, -6],
  ]);
  assert.deepEqual([...v], [0, 0, -1, -2, -3, -4, 0, 0, 0, 0, -5, -6]);
  assert.throws(() => scatterGenerated(layout, [[-1], [-5, -6]]), RecapError);
});

test("bad layouts are refused", () => {
  const row = (promptLen: number, prefillLen: number, genLen: number) => ({ promptLen, prefillLen, genLen });
  assert.throws(() => lossMask({ B: 1, T: 4, rows: [row(0, 0, 2)] }), /no prompt or prefill/);
  assert.throws(() => lossMask({ B: 1, T: 4, rows: [row(2, 1, 3)] }), /needs 5 positions/);
  assert.doesNotThrow(() => lossMask({ B: 1, T: 5, rows: [row(2, 1, 3)] }));
  assert.throws(() => lossMask({ B: 2, T: 4, rows: [row(1, 0, 1)] }), /1 rows for a batch of B=2/);
  assert.throws(() => lossMask({ B: 1, T: 4, rows: [row(1.5, 0, 1)] }), /promptLen must be an integer/);
});
