// Tests of the seeded RNG (src/engine/rng.ts): known answers of xoshiro128** and splitmix32
// (checked against the C reference code compiled with gcc), determinism, ranges, distribution
// moments with loose (about 5-6 sigma) bounds, bias-free int(), and exact state round trips.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.ts";

/** n draws of f. */
function draw(n: number, f: () => number): number[] {
  return Array.from({ length: n }, f);
}

/** Mean and (population) variance. */
function moments(xs: number[]): { mean: number; variance: number } {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
  return { mean, variance };
}

describe("Rng", () => {
  it("matches the xoshiro128** reference output from state [1, 2, 3, 4]", () => {
    const r = Rng.fromState([1, 2, 3, 4, 0, 0]);
    assert.deepEqual(
      draw(6, () => r.nextU32()),
      [11520, 0, 5927040, 70819200, 2031721883, 1637235492],
    );
  });

  it("seeds through splitmix32 (reference values for seeds 1 and -7)", () => {
    assert.deepEqual(new Rng(1).getState().slice(0, 4), [1580013426, 350525680, 3524174333, 3011703609]);
    assert.deepEqual(new Rng(-7).getState().slice(0, 4), [3546010066, 3675335440, 1668422175, 1927592385]);
    assert.throws(() => new Rng(1.5), RangeError);
  });

  it("is deterministic per seed and differs across seeds", () => {
    const a = draw(
      1000,
      (
        (r) => () =>
          r.nextU32()
      )(new Rng(42)),
    );
    const b = draw(
      1000,
      (
        (r) => () =>
          r.nextU32()
      )(new Rng(42)),
    );
    const c = draw(
      1000,
      (
        (r) => () =>
          r.nextU32()
      )(new Rng(43)),
    );
    assert.deepEqual(a, b);
    assert.ok(a.filter((x, i) => x === c[i]).length < 5, "seeds 42 and 43 must give different streams");
    assert.ok(
      a.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32),
      "nextU32 must be an unsigned 32-bit int",
    );
  });

  it("uniform() lies in [0, 1) with mean 1/2 and variance 1/12", () => {
    const xs = draw(
      100_000,
      (
        (r) => () =>
          r.uniform()
      )(new Rng(7)),
    );
    assert.ok(
      xs.every((x) => x >= 0 && x < 1),
      "uniform out of range",
    );
    const { mean, variance } = moments(xs);
    assert.ok(Math.abs(mean - 0.5) < 0.005, `uniform mean ${mean}`); // sd of mean 9e-4
    assert.ok(Math.abs(variance - 1 / 12) < 0.002, `uniform variance ${variance}`); // sd 2.7e-4
  });

  it("normal() has mean 0, variance 1 and the normal's central mass", () => {
    const xs = draw(
      100_000,
      (
        (r) => () =>
          r.normal()
      )(new Rng(8)),
    );
    assert.ok(
      xs.every((x) => Number.isFinite(x)),
      "normal must be finite",
    );
    const { mean, variance } = moments(xs);
    assert.ok(Math.abs(mean) < 0.02, `normal mean ${mean}`); // sd 3.2e-3
    assert.ok(Math.abs(variance - 1) < 0.03, `normal variance ${variance}`); // sd 4.5e-3
    const within1 = xs.filter((x) => Math.abs(x) < 1).length / xs.length;
    assert.ok(Math.abs(within1 - 0.6827) < 0.01, `P(|x| < 1) = ${within1}`); // sd 1.5e-3
    // Consecutive pairs (the two halves of one Box-Muller transform) are uncorrelated.
    let sxy = 0;
    for (let i = 0; i + 1 < xs.length; i += 2) sxy += (xs[i] as number) * (xs[i + 1] as number);
    assert.ok(Math.abs(sxy / (xs.length / 2)) < 0.03, `pair correlation ${sxy / (xs.length / 2)}`); // sd 4.5e-3
  });

  it("int(n) covers [0, n) uniformly without modulo bias", () => {
    const r = new Rng(9);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60_000; i++) {
      const x = r.int(6);
      assert.ok(Number.isInteger(x) && x >= 0 && x < 6, `int(6) gave ${x}`);
      counts[x] = (counts[x] as number) + 1;
    }
    for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `int(6) counts ${counts}`); // sd 91
    // n = 3 * 2^30: a plain nextU32() % n would put half the mass below 2^30, rejection puts a third.
    const n = 3 * 2 ** 30;
    const low = draw(20_000, () => r.int(n)).filter((x) => x < 2 ** 30).length / 20_000;
    assert.ok(Math.abs(low - 1 / 3) < 0.02, `P(int(3*2^30) < 2^30) = ${low}`); // sd 3.3e-3
    assert.equal(r.int(1), 0);
    const big = draw(100, () => r.int(2 ** 32));
    assert.ok(big.every((x) => x >= 0 && x < 2 ** 32) && big.some((x) => x >= 2 ** 31), "int(2^32) range");
    for (const bad of [0, -1, 2.5, 2 ** 32 + 1]) assert.throws(() => r.int(bad), RangeError, `int(${bad})`);
  });

  it("shuffle() permutes in place, deterministically, with all orders equally likely", () => {
    const a = Array.from({ length: 50 }, (_, i) => i);
    const b = [...a];
    new Rng(10).shuffle(a);
    new Rng(10).shuffle(b);
    assert.deepEqual(a, b, "same seed, same shuffle");
    assert.deepEqual(
      [...a].sort((x, y) => x - y),
      Array.from({ length: 50 }, (_, i) => i),
      "a permutation",
    );
    assert.notDeepEqual(
      a,
      Array.from({ length: 50 }, (_, i) => i),
      "actually shuffled",
    );
    const r = new Rng(11);
    const counts = new Map<string, number>();
    for (let i = 0; i < 60_000; i++) {
      const p = ["a", "b", "c"];
      r.shuffle(p);
      counts.set(p.join(""), (counts.get(p.join("")) ?? 0) + 1);
    }
    assert.equal(counts.size, 6);
    for (const [k, c] of counts) assert.ok(Math.abs(c - 10_000) < 500, `order ${k}: ${c}`); // sd 91
    const empty: number[] = [];
    r.shuffle(empty);
    assert.deepEqual(empty, []);
  });

  it("getState()/fromState() round trip exactly, including a cached normal, through JSON", () => {
    const r = new Rng(12);
    draw(17, () => r.nextU32());
    r.normal(); // leaves the second Box-Muller value cached
    const state = r.getState();
    assert.equal(state[4], 1, "a normal must be cached at this point");
    const restored = Rng.fromState(JSON.parse(JSON.stringify(state)) as number[]);
    const mixed = (g: Rng) => [g.normal(), g.normal(), g.uniform(), g.int(1000), g.normal(), g.nextU32()];
    for (let i = 0; i < 50; i++) assert.deepEqual(mixed(restored), mixed(r), `draw ${i}`);
    assert.deepEqual(restored.getState(), r.getState());
    assert.throws(() => Rng.fromState([0, 0, 0, 0, 0, 0]), RangeError);
    assert.throws(() => Rng.fromState([1, 2, 3]), RangeError);
  });

  it("fork(label) gives independent, reproducible streams without advancing the parent", () => {
    const parent = new Rng(13);
    const twin = Rng.fromState(parent.getState());
    const f1 = parent.fork(1),
      f1again = parent.fork(1),
      f2 = parent.fork(2);
    assert.deepEqual(parent.getState(), twin.getState(), "fork must not advance the parent");
    const s1 = draw(10_000, () => f1.uniform());
    assert.deepEqual(
      draw(10_000, () => f1again.uniform()),
      s1,
      "same label, same stream",
    );
    const s2 = draw(10_000, () => f2.uniform());
    const sp = draw(10_000, () => parent.uniform());
    for (const [name, other] of [
      ["fork(2)", s2],
      ["parent", sp],
    ] as const) {
      let c = 0;
      for (let i = 0; i < s1.length; i++) c += ((s1[i] as number) - 0.5) * ((other[i] as number) - 0.5);
      const corr = (c / s1.length) * 12;
      assert.ok(Math.abs(corr) < 0.05, `fork(1) vs ${name}: correlation ${corr}`); // sd 0.01
      assert.ok(s1.filter((x, i) => x === other[i]).length < 3, `fork(1) vs ${name} must differ`);
    }
    // Forks of different parents with the same label differ too.
    const other = new Rng(14).fork(1);
    assert.notDeepEqual(
      draw(10, () => other.nextU32()),
      draw(
        10,
        (
          (g) => () =>
            g.nextU32()
        )(new Rng(13).fork(1)),
      ),
    );
  });
});
