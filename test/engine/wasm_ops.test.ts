// Every op of the WebAssembly kernel sets (`wasm`, and `wasm-threads` with every call split
// between the main thread and the worker) against the reference kernels, on random shapes with
// ragged edges (sizes that are not multiples of the 4x8 / 2x4 tiles or of the 4-lane vectors),
// with arguments foreign, in kernel memory, and at misaligned offsets.
// Tolerances (norm-wise: max |ours - ref| <= rel * max |ref|):
// - 1e-5 for everything here. The reference sums in f64; ours sums in f32 lanes, so each output
//   carries about sqrt(terms) * 2^-24 of relative rounding (terms <= 130 here: ~7e-7) and the
//   polynomial exp adds ~2e-7; 1e-5 leaves an order of magnitude of margin while a wrong index,
//   mask or factor gives errors of order 1.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { AttnDims } from "../../src/engine/kernels.ts";
import { refKernels as R, ropeTables } from "../../src/engine/ref.ts";
import { Rng } from "../../src/engine/rng.ts";
import { randArray, randInts } from "../helpers/gradcheck.ts";
import { PLACEMENTS, assertNear, kernelSets, place } from "./wasm_helpers.ts";

const REL = 1e-5;
const SETS = kernelSets();
after(() => SETS.forEach((k) => k.dispose()));

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 5, 7],
  [3, 17, 1],
  [5, 3, 13],
  [7, 33, 5],
  [13, 17, 33],
  [17, 130, 7],
  [33, 7, 130],
  [130, 33, 17],
  [64, 128, 64],
  [67, 300, 21],
  [97, 9, 8], // packed B' (M >= 64): K past one 256-row block, row and column edges
];
const TRANSPOSES: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

describe("matmul", () => {
  for (const K of SETS) {
    it(`${K.name}: all transpose cases, accumulate on/off, ragged shapes, every placement`, () => {
      const rng = new Rng(11);
      let n = 0;
      for (const [M, Kd, N] of SHAPES) {
        for (const [tA, tB] of TRANSPOSES) {
          for (const acc of [false, true]) {
            const how = PLACEMENTS[n++ % PLACEMENTS.length]!;
            const a = randArray(rng, M * Kd),
              b = randArray(rng, Kd * N),
              c0 = randArray(rng, M * N);
            const want = Float32Array.from(c0); // (M, N)
            R.matmul(want, a, b, M, Kd, N, tA, tB, acc);
            const c = place(K, acc ? c0 : new Float32Array(M * N).fill(Number.NaN), how);
            K.matmul(c, place(K, a, how), place(K, b, how), M, Kd, N, tA, tB, acc);
            assertNear(`${M}x${Kd}x${N} tA=${tA} tB=${tB} acc=${acc} ${how}`, c, want, REL);
          }
        }
      }
    });
  }

  it("plain SIMD: packing B' changes no bit (NN and TN, one thread and two)", () => {
    // M >= 64 packs B'; the first 60 rows alone (M < 64) do not. Row tiles start at 0 either way.
    const rng = new Rng(19);
    const M = 71,
      Mu = 60,
      Kd = 300,
      N = 45;
    for (const K of SETS.filter((k) => k.variant === "simd")) {
      for (const tA of [false, true]) {
        const a = randArray(rng, M * Kd),
          b = randArray(rng, Kd * N);
        // A' rows 0..Mu-1: rows of A (NN), or the first Mu columns of A stored (K, M) (TN).
        const aSub = tA
          ? Float32Array.from({ length: Kd * Mu }, (_, i) => a[Math.floor(i / Mu) * M + (i % Mu)]!)
          : a.subarray(0, Mu * Kd);
        for (const acc of [false, true]) {
          const c0 = randArray(rng, M * N);
          const full = K.alloc(M * N),
            part = K.alloc(Mu * N);
          full.set(c0);
          part.set(c0.subarray(0, Mu * N));
          K.matmul(full, a, b, M, Kd, N, tA, false, acc);
          K.matmul(part, aSub, b, Mu, Kd, N, tA, false, acc);
          assert.deepEqual([...full.subarray(0, Mu * N)], [...part], `${K.name} tA=${tA} acc=${acc}`);
        }
      }
    }
  });

  it("K = 0 writes zeros (or leaves C when accumulating); bad sizes throw", () => {
    for (const K of SETS) {
      const c = K.alloc(6).fill(3);
      K.matmul(c, new Float32Array(0), new Float32Array(0), 2, 0, 3, false, false, true);
      assert.deepEqual([...c], [3, 3, 3, 3, 3, 3]);
      K.matmul(c, new Float32Array(0), new Float32Array(0), 2, 0, 3, false, true, false);
      assert.deepEqual([...c], [0, 0, 0, 0, 0, 0]);
      assert.throws(
        () => K.matmul(c, new Float32Array(3), new Float32Array(6), 2, 2, 3, false, false, false),
        /needs 4 elements/,
      );
      assert.throws(
        () => K.matmul(c, new Float32Array(4), new Float32Array(6), 2, 2, -3, false, false, false),
        /non-negative/,
      );
    }
  });
});

/** Attention dims of the three ways the model calls it. */
const ATTN_CASES: { label: string; d: AttnDims; keyStart?: number[] }[] = [
  { label: "training", d: { B: 2, Tq: 7, qOffset: 0, kvStride: 7, Hq: 4, Hkv: 2, D: 6 } },
  { label: "training, MHA, D=33", d: { B: 1, Tq: 13, qOffset: 0, kvStride: 13, Hq: 3, Hkv: 3, D: 33 } },
  { label: "training, 4 groups of 1, D=32", d: { B: 3, Tq: 17, qOffset: 0, kvStride: 17, Hq: 4, Hkv: 1, D: 32 } },
  {
    label: "prefill with left padding",
    d: { B: 3, Tq: 5, qOffset: 0, kvStride: 12, Hq: 4, Hkv: 2, D: 8 },
    keyStart: [0, 2, 4],
  },
  { label: "cached block", d: { B: 2, Tq: 3, qOffset: 4, kvStride: 9, Hq: 2, Hkv: 1, D: 5 }, keyStart: [1, 0] },
  {
    label: "decode step, a row seeing no key",
    d: { B: 3, Tq: 1, qOffset: 9, kvStride: 17, Hq: 4, Hkv: 2, D: 32 },
    keyStart: [0, 3, 11],
  },
];

describe("attention", () => {
  for (const K of SETS) {
    it(`${K.name}: forward and backward as training and the cached decoder use them`, () => {
      const rng = new Rng(12);
      let n = 0;
      for (const { label, d, keyStart } of ATTN_CASES) {
        const how = PLACEMENTS[n++ % PLACEMENTS.length]!;
        const Tk = d.qOffset + d.Tq,
          qn = d.B * d.Tq * d.Hq * d.D,
          kn = d.B * d.kvStride * d.Hkv * d.D;
        const q = randArray(rng, qn, 2),
          k = randArray(rng, kn, 2),
          v = randArray(rng, kn); // (B,Tq,Hq,D), (B,S,Hkv,D)
        const ks = keyStart ? Int32Array.from(keyStart) : undefined;
        const out0 = new Float32Array(qn),
          att0 = new Float32Array(d.B * d.Hq * d.Tq * Tk);
        R.attentionForward(out0, att0, q, k, v, d, ks);
        const out = place(K, new Float32Array(qn).fill(Number.NaN), how);
        const att = place(K, new Float32Array(att0.length).fill(Number.NaN), how);
        K.attentionForward(out, att, place(K, q, how), place(K, k, how), place(K, v, how), d, ks);
        assertNear(`${label} out (${how})`, out, out0, REL);
        assertNear(`${label} att (${how})`, att, att0, REL);
        for (let i = 0; i < att0.length; i++)
          if (att0[i] === 0) assert.equal(att[i], 0, `${label}: masked probability ${i} must be exactly 0`);
        // Backward; dk/dv beyond the first Tk positions of each row must be left alone.
        const g = randArray(rng, qn);
        const sentinel = 7.5;
        const dq0 = new Float32Array(qn),
          dk0 = new Float32Array(kn).fill(sentinel),
          dv0 = new Float32Array(kn).fill(sentinel);
        R.attentionBackward(dq0, dk0, dv0, g, att0, q, k, v, d);
        const dq = place(K, new Float32Array(qn).fill(Number.NaN), how);
        const dk = place(K, new Float32Array(kn).fill(sentinel), how),
          dv = place(K, new Float32Array(kn).fill(sentinel), how);
        K.attentionBackward(dq, dk, dv, place(K, g, how), att, place(K, q, how), place(K, k, how), place(K, v, how), d);
        assertNear(`${label} dq (${how})`, dq, dq0, REL);
        assertNear(`${label} dk (${how})`, dk, dk0, REL);
        assertNear(`${label} dv (${how})`, dv, dv0, REL);
      }
    });
  }

  it("rejects bad dims like the reference", () => {
    for (const K of SETS) {
      const z = new Float32Array(64);
      assert.throws(
        () => K.attentionForward(z, z, z, z, z, { B: 1, Tq: 2, qOffset: 0, kvStride: 2, Hq: 3, Hkv: 2, D: 2 }),
        /multiple of Hkv/,
      );
      assert.throws(
        () => K.attentionForward(z, z, z, z, z, { B: 1, Tq: 2, qOffset: 1, kvStride: 2, Hq: 2, Hkv: 2, D: 2 }),
        /exceeds kvStride/,
      );
    }
  });
});

describe("row and elementwise ops", () => {
  for (const K of SETS) {
    it(`${K.name}: rmsnorm, rope, swiglu, addInPlace on ragged sizes`, () => {
      const rng = new Rng(13);
      let n = 0;
      for (const [N, C] of [
        [1, 1],
        [3, 5],
        [7, 13],
        [33, 130],
        [130, 32],
      ] as const) {
        const how = PLACEMENTS[n++ % PLACEMENTS.length]!;
        const x = randArray(rng, N * C, 3),
          w = randArray(rng, C),
          dOut = randArray(rng, N * C);
        const out0 = new Float32Array(N * C),
          rstd0 = new Float32Array(N);
        R.rmsnormForward(out0, rstd0, x, w, N, C, 1e-5);
        const out = place(K, new Float32Array(N * C), how),
          rstd = place(K, new Float32Array(N), how);
        K.rmsnormForward(out, rstd, place(K, x, how), place(K, w, how), N, C, 1e-5);
        assertNear(`rmsnorm out ${N}x${C} ${how}`, out, out0, REL);
        assertNear(`rmsnorm rstd ${N}x${C} ${how}`, rstd, rstd0, REL);
        const dw00 = randArray(rng, C);
        const dx0 = new Float32Array(N * C),
          dw0 = Float32Array.from(dw00);
        R.rmsnormBackward(dx0, dw0, dOut, x, w, rstd0, N, C);
        const dx = place(K, new Float32Array(N * C), how),
          dw = place(K, dw00, how);
        K.rmsnormBackward(dx, dw, place(K, dOut, how), place(K, x, how), place(K, w, how), rstd, N, C);
        // dx is a difference of two O(1) terms that cancel exactly when C = 1: absolute floor.
        assertNear(`rmsnorm dx ${N}x${C} ${how}`, dx, dx0, REL, 1e-6);
        assertNear(`rmsnorm dw (accumulated) ${N}x${C} ${how}`, dw, dw0, REL);
        // swiglu over N*C elements with gates far into both tails of the sigmoid.
        const gate = randArray(rng, N * C, 12),
          up = randArray(rng, N * C);
        if (gate.length > 2) {
          gate[0] = 95;
          gate[1] = -95;
        }
        const s0 = new Float32Array(N * C);
        R.swigluForward(s0, gate, up, N * C);
        const s = place(K, new Float32Array(N * C), how);
        K.swigluForward(s, place(K, gate, how), place(K, up, how), N * C);
        assertNear(`swiglu ${N * C} ${how}`, s, s0, REL);
        const dg0 = new Float32Array(N * C),
          du0 = new Float32Array(N * C);
        R.swigluBackward(dg0, du0, dOut, gate, up, N * C);
        const dg = place(K, new Float32Array(N * C), how),
          du = place(K, new Float32Array(N * C), how);
        K.swigluBackward(dg, du, place(K, dOut, how), place(K, gate, how), place(K, up, how), N * C);
        assertNear(`swiglu dGate ${N * C} ${how}`, dg, dg0, REL);
        assertNear(`swiglu dUp ${N * C} ${how}`, du, du0, REL);
        const y0 = Float32Array.from(x);
        R.addInPlace(y0, dOut, N * C);
        const y = place(K, x, how);
        K.addInPlace(y, place(K, dOut, how), N * C);
        assertNear(`addInPlace ${N * C} ${how}`, y, y0, 0);
      }
    });

    it(`${K.name}: swiglu allows its output to alias its gate`, () => {
      const rng = new Rng(14);
      const gate = randArray(rng, 37, 4),
        up = randArray(rng, 37);
      const want = new Float32Array(37);
      R.swigluForward(want, gate, up, 37);
      for (const how of PLACEMENTS) {
        const g = place(K, gate, how);
        K.swigluForward(g, g, place(K, up, how), 37);
        assertNear(`aliased swiglu ${how}`, g, want, REL);
      }
    });

    it(`${K.name}: rope forward and backward at table positions, odd head counts`, () => {
      const rng = new Rng(15);
      for (const [N, H, D] of [
        [5, 3, 6],
        [9, 2, 32],
        [4, 1, 2],
        [7, 5, 34],
      ] as const) {
        const { cos, sin } = ropeTables(64, D, 10000);
        const pos = randInts(rng, N, 64);
        for (const how of PLACEMENTS) {
          for (const dir of ["ropeForward", "ropeBackward"] as const) {
            const x = randArray(rng, N * H * D);
            const want = Float32Array.from(x);
            R[dir](want, pos, cos, sin, N, H, D);
            const got = place(K, x, how);
            K[dir](got, pos, place(K, cos, how), place(K, sin, how), N, H, D);
            assertNear(`${dir} ${N}x${H}x${D} ${how}`, got, want, REL);
          }
        }
      }
      const { cos, sin } = ropeTables(8, 4, 10000);
      assert.throws(
        () => K.ropeForward(new Float32Array(4), Int32Array.of(8), cos, sin, 1, 1, 4),
        /outside the cos\/sin tables/,
      );
      assert.throws(() => K.ropeForward(new Float32Array(3), Int32Array.of(0), cos, sin, 1, 1, 3), /must be even/);
    });

    it(`${K.name}: token log-probs forward and backward, large logits, bad targets`, () => {
      const rng = new Rng(16);
      for (const [N, V] of [
        [1, 1],
        [3, 7],
        [5, 300],
        [17, 513],
      ] as const) {
        const how = PLACEMENTS[(N + V) % 3]!;
        const logits = randArray(rng, N * V, 40); // (N, V) spread so that exp under/overflows without the max shift
        const targets = randInts(rng, N, V),
          dLogp = randArray(rng, N);
        const out0 = new Float32Array(N),
          lse0 = new Float32Array(N);
        R.tokenLogprobForward(out0, lse0, logits, targets, N, V);
        const out = place(K, new Float32Array(N), how),
          lse = place(K, new Float32Array(N), how);
        K.tokenLogprobForward(out, lse, place(K, logits, how), targets, N, V);
        assertNear(`logprob ${N}x${V} ${how}`, out, out0, REL, 1e-6);
        assertNear(`lse ${N}x${V} ${how}`, lse, lse0, REL);
        const d0 = new Float32Array(N * V);
        R.tokenLogprobBackward(d0, dLogp, logits, lse0, targets, N, V);
        const d = place(K, new Float32Array(N * V).fill(Number.NaN), how);
        K.tokenLogprobBackward(d, place(K, dLogp, how), place(K, logits, how), lse, targets, N, V);
        assertNear(`dLogits ${N}x${V} ${how}`, d, d0, REL);
      }
      assert.throws(
        () =>
          K.tokenLogprobForward(new Float32Array(1), new Float32Array(1), new Float32Array(4), Int32Array.of(4), 1, 4),
        /outside \[0, 4\)/,
      );
    });

    it(`${K.name}: AdamW over several steps, with clipping and decay`, () => {
      const rng = new Rng(17);
      for (const N of [1, 7, 1031]) {
        const p0 = randArray(rng, N),
          m0 = new Float32Array(N),
          v0 = new Float32Array(N);
        const p = place(K, p0, "owned"),
          m = place(K, m0, "misaligned"),
          v = place(K, v0, "foreign");
        for (let step = 1; step <= 4; step++) {
          const g = randArray(rng, N, 0.1);
          const o = {
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weightDecay: 0.1,
            step,
            gradScale: step === 2 ? 0.5 : 1,
          };
          R.adamw(p0, g, m0, v0, N, o);
          K.adamw(p, g, m, v, N, o);
        }
        assertNear(`adamw p N=${N}`, p, p0, REL);
        assertNear(`adamw m N=${N}`, m, m0, REL);
        assertNear(`adamw v N=${N}`, v, v0, REL);
      }
      assert.throws(
        () =>
          K.adamw(new Float32Array(1), new Float32Array(1), new Float32Array(1), new Float32Array(1), 1, {
            lr: 1,
            beta1: 0.9,
            beta2: 0.9,
            eps: 1e-8,
            weightDecay: 0,
            step: 0,
            gradScale: 1,
          }),
        /step must be >= 1/,
      );
    });

    it(`${K.name}: embeddings, and softmax on ragged rows (also in place)`, () => {
      const rng = new Rng(18);
      const V = 11,
        C = 5,
        N = 6;
      const table = place(K, randArray(rng, V * C), "owned"),
        ids = randInts(rng, N, V);
      const out = K.alloc(N * C),
        want = new Float32Array(N * C);
      K.embeddingForward(out, table, ids, N, C);
      R.embeddingForward(want, table, ids, N, C);
      assert.deepEqual(out, want);
      const dTable = K.alloc(V * C).fill(1),
        dWant = new Float32Array(V * C).fill(1),
        dOut = randArray(rng, N * C);
      K.embeddingBackward(dTable, dOut, ids, N, C);
      R.embeddingBackward(dWant, dOut, ids, N, C);
      assert.deepEqual(dTable, dWant);
      for (const [n, v] of [
        [1, 1],
        [3, 7],
        [5, 513],
      ] as const) {
        for (const how of PLACEMENTS) {
          const x = randArray(rng, n * v, 30),
            y0 = new Float32Array(n * v);
          R.softmaxForward(y0, x, n, v);
          const y = place(K, new Float32Array(n * v), how);
          K.softmaxForward(y, place(K, x, how), n, v);
          assertNear(`softmax ${n}x${v} ${how}`, y, y0, REL);
          const inPlace = place(K, x, how);
          K.softmaxForward(inPlace, inPlace, n, v);
          assertNear(`softmax in place ${n}x${v} ${how}`, inPlace, y0, REL);
        }
      }
    });
  }
});
