// Tests of the reference kernels (src/engine/ref.ts): forward values against direct float64
// transcriptions of the contract, and every backward against central finite differences of its
// forward (see test/helpers/gradcheck.ts for the method and the tolerance budget).
// Attention has its own file, ref_attention.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { refKernels as K, ropeTables } from "../../src/engine/ref.ts";
import { Rng } from "../../src/engine/rng.ts";
import { assertClose, assertGradCheck, gradCheck, maxAbsDiff, randArray, randInts } from "../helpers/gradcheck.ts";

/** Named input of a gradCheck spec (asserts it exists). */
function inp(inputs: Record<string, Float32Array>, name: string): Float32Array {
  const x = inputs[name];
  assert.ok(x, `missing input ${name}`);
  return x;
}

/** op(A) @ op(B) by the textbook triple loop in float64. */
function naiveMatmul(
  a: Float32Array,
  b: Float32Array,
  M: number,
  Kd: number,
  N: number,
  tA: boolean,
  tB: boolean,
): Float64Array {
  const c = new Float64Array(M * N); // (M, N)
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < Kd; k++) {
        const aik = (tA ? a[k * M + i] : a[i * Kd + k]) as number;
        const bkj = (tB ? b[j * Kd + k] : b[k * N + j]) as number;
        s += aik * bkj;
      }
      c[i * N + j] = s;
    }
  }
  return c;
}

const TRANSPOSES: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

describe("matmul", () => {
  it("matches a naive triple loop in all four transpose cases, with and without accumulate", () => {
    const rng = new Rng(101);
    for (const [M, Kd, N] of [
      [5, 7, 3],
      [13, 17, 11],
      [1, 9, 1],
      [4, 1, 6],
    ] as const) {
      for (const [tA, tB] of TRANSPOSES) {
        const a = randArray(rng, M * Kd); // (M, K) or (K, M)
        const b = randArray(rng, Kd * N); // (K, N) or (N, K)
        const ref = naiveMatmul(a, b, M, Kd, N, tA, tB); // (M, N)
        const label = `M=${M} K=${Kd} N=${N} tA=${tA} tB=${tB}`;
        const c = new Float32Array(M * N).fill(Number.NaN); // overwritten
        K.matmul(c, a, b, M, Kd, N, tA, tB, false);
        assertClose(`${label} overwrite`, c, ref, 1e-5, 1e-6);
        const c0 = randArray(rng, M * N, 3); // (M, N) existing contents
        const acc = Float32Array.from(c0);
        K.matmul(acc, a, b, M, Kd, N, tA, tB, true);
        assertClose(
          `${label} accumulate`,
          acc,
          ref.map((x, i) => x + (c0[i] as number)),
          1e-5,
          1e-6,
        );
      }
    }
  });

  it("gradients through the matmul identities agree with finite differences", () => {
    const rng = new Rng(102);
    const M = 5,
      Kd = 7,
      N = 3;
    for (const [tA, tB] of TRANSPOSES) {
      assertGradCheck(`matmul tA=${tA} tB=${tB}`, {
        inputs: { a: randArray(rng, M * Kd), b: randArray(rng, Kd * N) },
        wrt: ["a", "b"],
        r: randArray(rng, M * N),
        forward: (x) => {
          const c = new Float32Array(M * N);
          K.matmul(c, inp(x, "a"), inp(x, "b"), M, Kd, N, tA, tB, false);
          return c;
        },
        backward: (x, dC) => {
          const a = inp(x, "a"),
            b = inp(x, "b");
          const dA = new Float32Array(M * Kd);
          const dB = new Float32Array(Kd * N);
          // d op(A) = dC op(B)^T ; d op(B) = op(A)^T dC, written in each operand's storage layout.
          if (!tA) K.matmul(dA, dC, b, M, N, Kd, false, !tB, false);
          else K.matmul(dA, b, dC, Kd, N, M, tB, true, false);
          if (!tB) K.matmul(dB, a, dC, Kd, M, N, !tA, false, false);
          else K.matmul(dB, dC, a, N, M, Kd, true, tA, false);
          return { a: dA, b: dB };
        },
      });
    }
  });
});

describe("embedding", () => {
  const V = 7,
    C = 5,
    N = 9;
  it("forward copies rows; backward accumulates repeated ids onto existing contents", () => {
    const rng = new Rng(201);
    const table = randArray(rng, V * C); // (V, C)
    const ids = randInts(rng, N, V); // (N)
    ids[0] = 2;
    ids[3] = 2;
    ids[7] = 2; // repeated id
    const out = new Float32Array(N * C).fill(Number.NaN);
    K.embeddingForward(out, table, ids, N, C);
    for (let n = 0; n < N; n++) {
      const id = ids[n] as number;
      assert.deepEqual(out.subarray(n * C, n * C + C), table.subarray(id * C, id * C + C), `row ${n}`);
    }
    const dOut = randArray(rng, N * C); // (N, C)
    const d0 = randArray(rng, V * C); // (V, C) existing gradient
    const expected = Float64Array.from(d0);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const at = (ids[n] as number) * C + c;
        expected[at] = (expected[at] as number) + (dOut[n * C + c] as number);
      }
    }
    const dTable = Float32Array.from(d0);
    K.embeddingBackward(dTable, dOut, ids, N, C);
    assertClose("embedding dTable", dTable, expected, 1e-6, 1e-6);
  });

  it("backward agrees with finite differences", () => {
    const rng = new Rng(202);
    const ids = Int32Array.from([1, 4, 1, 6, 0, 1, 3, 4, 2]); // (N) with repeats
    assertGradCheck("embedding", {
      inputs: { table: randArray(rng, V * C) },
      wrt: ["table"],
      r: randArray(rng, N * C),
      forward: (x) => {
        const out = new Float32Array(N * C);
        K.embeddingForward(out, inp(x, "table"), ids, N, C);
        return out;
      },
      backward: (_x, dOut) => {
        const dTable = new Float32Array(V * C);
        K.embeddingBackward(dTable, dOut, ids, N, C);
        return { table: dTable };
      },
    });
  });
});

describe("rmsnorm", () => {
  const N = 3,
    C = 7,
    eps = 1e-5;
  it("forward matches the float64 formula; dw accumulates; dx is overwritten", () => {
    const rng = new Rng(301);
    const x = randArray(rng, N * C); // (N, C)
    const w = randArray(rng, C, 0.5).map((t) => 1 + t); // (C)
    const out = new Float32Array(N * C);
    const rstd = new Float32Array(N);
    K.rmsnormForward(out, rstd, x, w, N, C, eps);
    for (let n = 0; n < N; n++) {
      let ss = 0;
      for (let c = 0; c < C; c++) ss += (x[n * C + c] as number) ** 2;
      const r = 1 / Math.sqrt(ss / C + eps);
      assertClose(`rstd[${n}]`, [rstd[n] as number], [r], 0, 1e-6);
      const row = Array.from({ length: C }, (_, c) => (x[n * C + c] as number) * r * (w[c] as number));
      assertClose(`out row ${n}`, out.subarray(n * C, n * C + C), row, 1e-6, 1e-6);
    }
    const dOut = randArray(rng, N * C);
    const dxFresh = new Float32Array(N * C);
    const dwFresh = new Float32Array(C);
    K.rmsnormBackward(dxFresh, dwFresh, dOut, x, w, rstd, N, C);
    const dw0 = randArray(rng, C);
    const dw = Float32Array.from(dw0);
    const dx = new Float32Array(N * C).fill(Number.NaN);
    K.rmsnormBackward(dx, dw, dOut, x, w, rstd, N, C);
    assert.deepEqual(dx, dxFresh, "dx must be overwritten, not accumulated");
    assertClose(
      "dw accumulates",
      dw,
      Array.from(dw0, (t, c) => t + (dwFresh[c] as number)),
      1e-6,
      1e-6,
    );
  });

  it("dx and dw agree with finite differences", () => {
    const rng = new Rng(302);
    assertGradCheck("rmsnorm", {
      inputs: { x: randArray(rng, N * C), w: randArray(rng, C, 0.5).map((t) => 1 + t) },
      wrt: ["x", "w"],
      r: randArray(rng, N * C),
      forward: (i) => {
        const out = new Float32Array(N * C);
        K.rmsnormForward(out, new Float32Array(N), inp(i, "x"), inp(i, "w"), N, C, eps);
        return out;
      },
      backward: (i, dOut) => {
        const x = inp(i, "x"),
          w = inp(i, "w");
        const rstd = new Float32Array(N);
        K.rmsnormForward(new Float32Array(N * C), rstd, x, w, N, C, eps);
        const dx = new Float32Array(N * C);
        const dw = new Float32Array(C);
        K.rmsnormBackward(dx, dw, dOut, x, w, rstd, N, C);
        return { x: dx, w: dw };
      },
    });
  });
});

describe("rope", () => {
  const N = 5,
    H = 3,
    D = 6,
    half = D / 2,
    P = 12;
  const pos = Int32Array.from([0, 3, 7, 2, 11]); // (N)

  it("ropeTables holds cos/sin(p * theta^(-2i/D)) at [p * D/2 + i]", () => {
    const { cos, sin } = ropeTables(P, D, 10000);
    assert.equal(cos.length, P * half);
    assert.equal(sin.length, P * half);
    for (let p = 0; p < P; p++) {
      for (let i = 0; i < half; i++) {
        const a = p * 10000 ** (-(2 * i) / D);
        assertClose(`cos p=${p} i=${i}`, [cos[p * half + i] as number], [Math.cos(a)], 1e-7);
        assertClose(`sin p=${p} i=${i}`, [sin[p * half + i] as number], [Math.sin(a)], 1e-7);
      }
    }
    // A hand-checked entry: D = 4, i = 1 has inv_freq 10000^(-1/2) = 0.01, so position 5 gives 0.05 rad.
    const t4 = ropeTables(8, 4, 10000);
    assertClose(
      "D=4 p=5 i=1",
      [t4.cos[5 * 2 + 1] as number, t4.sin[5 * 2 + 1] as number],
      [Math.cos(0.05), Math.sin(0.05)],
      1e-7,
    );
  });

  it("forward rotates pairs (i, i + D/2) by +a; backward undoes it", () => {
    const rng = new Rng(401);
    const theta = 10; // small base so every pair rotates visibly
    const { cos, sin } = ropeTables(P, D, theta);
    const x = randArray(rng, N * H * D); // (N, H, D)
    const y = Float32Array.from(x);
    K.ropeForward(y, pos, cos, sin, N, H, D);
    const expected = new Float64Array(N * H * D);
    for (let n = 0; n < N; n++) {
      for (let h = 0; h < H; h++) {
        const base = (n * H + h) * D;
        for (let i = 0; i < half; i++) {
          const a = (pos[n] as number) * theta ** (-(2 * i) / D);
          const x0 = x[base + i] as number,
            x1 = x[base + i + half] as number;
          expected[base + i] = x0 * Math.cos(a) - x1 * Math.sin(a);
          expected[base + i + half] = x1 * Math.cos(a) + x0 * Math.sin(a);
        }
      }
    }
    assertClose("rope forward", y, expected, 1e-6);
    assert.ok(maxAbsDiff(y, x) > 0.1, "rope forward must change x");
    K.ropeBackward(y, pos, cos, sin, N, H, D);
    assertClose("ropeBackward(ropeForward(x))", y, x, 1e-6);
  });

  it("backward agrees with finite differences", () => {
    const rng = new Rng(402);
    const { cos, sin } = ropeTables(P, D, 10);
    assertGradCheck("rope", {
      inputs: { x: randArray(rng, N * H * D) },
      wrt: ["x"],
      r: randArray(rng, N * H * D),
      forward: (i) => {
        const y = Float32Array.from(inp(i, "x"));
        K.ropeForward(y, pos, cos, sin, N, H, D);
        return y;
      },
      backward: (_i, dOut) => {
        const dx = Float32Array.from(dOut);
        K.ropeBackward(dx, pos, cos, sin, N, H, D);
        return { x: dx };
      },
    });
  });
});

describe("swiglu", () => {
  const N = 11;
  it("forward matches silu(gate) * up; backward agrees with finite differences", () => {
    const rng = new Rng(601);
    const gate = randArray(rng, N, 3),
      up = randArray(rng, N);
    const out = new Float32Array(N);
    K.swigluForward(out, gate, up, N);
    assertClose(
      "swiglu",
      out,
      Array.from(gate, (g, i) => (g / (1 + Math.exp(-g))) * (up[i] as number)),
      1e-6,
      1e-6,
    );
    assertGradCheck("swiglu", {
      inputs: { gate, up },
      wrt: ["gate", "up"],
      r: randArray(rng, N),
      forward: (i) => {
        const o = new Float32Array(N);
        K.swigluForward(o, inp(i, "gate"), inp(i, "up"), N);
        return o;
      },
      backward: (i, dOut) => {
        const dGate = new Float32Array(N),
          dUp = new Float32Array(N);
        K.swigluBackward(dGate, dUp, dOut, inp(i, "gate"), inp(i, "up"), N);
        return { gate: dGate, up: dUp };
      },
    });
  });
});

/** A gradCheck spec for a row-wise (N, V) -> (N, V) op whose backward takes the forward output. */
function rowOpSpec(
  rng: Rng,
  N: number,
  V: number,
  fwd: (out: Float32Array, x: Float32Array, N: number, V: number) => void,
  bwd: (dx: Float32Array, dOut: Float32Array, y: Float32Array, N: number, V: number) => void,
) {
  return {
    inputs: { x: randArray(rng, N * V, 2) },
    wrt: ["x"],
    r: randArray(rng, N * V),
    forward: (i: Record<string, Float32Array>) => {
      const y = new Float32Array(N * V);
      fwd(y, inp(i, "x"), N, V);
      return y;
    },
    backward: (i: Record<string, Float32Array>, dOut: Float32Array) => {
      const y = new Float32Array(N * V);
      fwd(y, inp(i, "x"), N, V);
      const dx = new Float32Array(N * V);
      bwd(dx, dOut, y, N, V);
      return { x: dx };
    },
  };
}

describe("softmax and logSoftmax", () => {
  const N = 3,
    V = 13;
  const shifted = Float32Array.from({ length: 2 * 5 }, (_, i) => (i % 5) - 2 + (i >= 5 ? 1000 : 0)); // (2, 5)

  it("softmax rows sum to 1, are shift invariant (no overflow at 1000), and match exp(logSoftmax)", () => {
    const rng = new Rng(701);
    const x = randArray(rng, N * V, 2);
    const y = new Float32Array(N * V),
      ly = new Float32Array(N * V);
    K.softmaxForward(y, x, N, V);
    K.logSoftmaxForward(ly, x, N, V);
    for (let n = 0; n < N; n++) {
      const row = x.subarray(n * V, n * V + V);
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, t) => s + Math.exp(t - m), 0));
      assertClose(
        `softmax row ${n}`,
        y.subarray(n * V, n * V + V),
        Array.from(row, (t) => Math.exp(t - lse)),
        1e-7,
        1e-6,
      );
      assertClose(
        `logSoftmax row ${n}`,
        ly.subarray(n * V, n * V + V),
        Array.from(row, (t) => t - lse),
        1e-6,
      );
    }
    const ys = new Float32Array(10),
      lys = new Float32Array(10);
    K.softmaxForward(ys, shifted, 2, 5);
    K.logSoftmaxForward(lys, shifted, 2, 5);
    assertClose("softmax shift", ys.subarray(5), ys.subarray(0, 5), 1e-7);
    assertClose("logSoftmax shift", lys.subarray(5), lys.subarray(0, 5), 1e-6);
    assertClose("softmax sum", [ys.subarray(5).reduce((s, t) => s + t, 0)], [1], 1e-6);
  });

  it("softmax backward agrees with finite differences", () => {
    assertGradCheck("softmax", rowOpSpec(new Rng(702), N, V, K.softmaxForward, K.softmaxBackward));
  });

  it("logSoftmax backward agrees with finite differences", () => {
    assertGradCheck("logSoftmax", rowOpSpec(new Rng(703), N, V, K.logSoftmaxForward, K.logSoftmaxBackward));
  });

  it("the gradient check rejects plausible wrong backwards", () => {
    // Softmax backward missing the "- sum(dOut * y)" term.
    const missingTerm = rowOpSpec(new Rng(704), N, V, K.softmaxForward, (dx, dOut, y) => {
      for (let i = 0; i < dx.length; i++) dx[i] = (y[i] as number) * (dOut[i] as number);
    });
    assert.ok(gradCheck(missingTerm).worstRatio > 1, "missing term must be detected");
    // logSoftmax backward off by 3%.
    const scaled = rowOpSpec(new Rng(705), N, V, K.logSoftmaxForward, (dx, dOut, y, n, v) => {
      K.logSoftmaxBackward(dx, dOut, y, n, v);
      for (let i = 0; i < dx.length; i++) dx[i] = (dx[i] as number) * 1.03;
    });
    assert.ok(gradCheck(scaled).worstRatio > 1, "3% scale error must be detected");
    // Softmax backward reading dOut of the neighbouring row (an indexing bug).
    const shiftedRow = rowOpSpec(new Rng(706), N, V, K.softmaxForward, (dx, dOut, y, n, v) => {
      const rolled = Float32Array.from(dOut, (_, i) => dOut[(i + v) % dOut.length] as number);
      K.softmaxBackward(dx, rolled, y, n, v);
    });
    assert.ok(gradCheck(shiftedRow).worstRatio > 1, "row indexing bug must be detected");
  });
});

describe("tokenLogprob", () => {
  const N = 4,
    V = 13;
  it("out is logSoftmax at the targets, lse is logsumexp, stable at large logits", () => {
    const rng = new Rng(801);
    const logits = randArray(rng, N * V, 2);
    const targets = randInts(rng, N, V);
    const out = new Float32Array(N),
      lse = new Float32Array(N),
      ls = new Float32Array(N * V);
    K.tokenLogprobForward(out, lse, logits, targets, N, V);
    K.logSoftmaxForward(ls, logits, N, V);
    assertClose(
      "tokenLogprob",
      out,
      Array.from(targets, (t, n) => ls[n * V + t] as number),
      1e-6,
    );
    for (let n = 0; n < N; n++) {
      const row = logits.subarray(n * V, n * V + V);
      const m = Math.max(...row);
      assertClose(
        `lse ${n}`,
        [lse[n] as number],
        [m + Math.log(row.reduce((s, t) => s + Math.exp(t - m), 0))],
        1e-6,
        1e-6,
      );
    }
    const big = Float32Array.from({ length: 5 }, (_, i) => 1000 + i); // (1, 5)
    const o1 = new Float32Array(1),
      l1 = new Float32Array(1);
    K.tokenLogprobForward(o1, l1, big, Int32Array.from([4]), 1, 5);
    const exact = -Math.log([0, 1, 2, 3, 4].reduce((s, i) => s + Math.exp(i - 4), 0));
    assertClose("tokenLogprob at 1000", o1, [exact], 1e-5);
  });

  it("dLogits agrees with finite differences for random dLogp, and is overwritten", () => {
    const rng = new Rng(802);
    const targets = randInts(rng, N, V);
    const spec = {
      inputs: { logits: randArray(rng, N * V, 2) },
      wrt: ["logits"],
      r: randArray(rng, N), // dLogp
      forward: (i: Record<string, Float32Array>) => {
        const out = new Float32Array(N);
        K.tokenLogprobForward(out, new Float32Array(N), inp(i, "logits"), targets, N, V);
        return out;
      },
      backward: (i: Record<string, Float32Array>, dLogp: Float32Array) => {
        const logits = inp(i, "logits");
        const lse = new Float32Array(N);
        K.tokenLogprobForward(new Float32Array(N), lse, logits, targets, N, V);
        const dLogits = new Float32Array(N * V).fill(Number.NaN);
        K.tokenLogprobBackward(dLogits, dLogp, logits, lse, targets, N, V);
        return { logits: dLogits };
      },
    };
    assertGradCheck("tokenLogprob", spec);
  });
});

describe("addInPlace", () => {
  it("adds the first N elements and leaves the rest alone", () => {
    const rng = new Rng(901);
    const y0 = randArray(rng, 12),
      x = randArray(rng, 12);
    const y = Float32Array.from(y0);
    K.addInPlace(y, x, 10);
    for (let i = 0; i < 12; i++) {
      const want = i < 10 ? Math.fround((y0[i] as number) + (x[i] as number)) : (y0[i] as number);
      assert.equal(y[i], want, `element ${i}`);
    }
  });
});

describe("adamw", () => {
  it("one and two steps match a float64 transcription of the documented formula", () => {
    const rng = new Rng(1001);
    const N = 7;
    const configs = [
      { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, gradScale: 0.5 },
      // Gradients spread over 5 decades and a larger eps, so the placement of eps matters.
      { lr: 3e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0, gradScale: 2 },
    ];
    for (const [ci, opts] of configs.entries()) {
      const p = randArray(rng, N),
        m = new Float32Array(N),
        v = new Float32Array(N);
      const P = Float64Array.from(p),
        Mm = new Float64Array(N),
        Vv = new Float64Array(N);
      for (const step of [1, 2]) {
        const g = randArray(rng, N, 2).map((x) => (ci === 0 ? x : x * 10 ** -rng.int(6)));
        const gCopy = Float32Array.from(g);
        K.adamw(p, g, m, v, N, { ...opts, step });
        assert.deepEqual(g, gCopy, "g must not be modified");
        for (let i = 0; i < N; i++) {
          const gi = (g[i] as number) * opts.gradScale;
          let pi = P[i] as number;
          pi -= opts.lr * opts.weightDecay * pi;
          const mi = opts.beta1 * (Mm[i] as number) + (1 - opts.beta1) * gi;
          const vi = opts.beta2 * (Vv[i] as number) + (1 - opts.beta2) * gi * gi;
          pi -= (opts.lr * (mi / (1 - opts.beta1 ** step))) / (Math.sqrt(vi / (1 - opts.beta2 ** step)) + opts.eps);
          P[i] = pi;
          Mm[i] = mi;
          Vv[i] = vi;
        }
        // Float32 storage of p, m, v between steps: relative error ~1e-7. Updates are ~lr >= 1e-2.
        const label = `config ${ci} step ${step}`;
        assertClose(`p ${label}`, p, P, 1e-6);
        assertClose(`m ${label}`, m, Mm, 1e-12, 1e-6);
        assertClose(`v ${label}`, v, Vv, 1e-20, 1e-6);
      }
    }
  });
});
