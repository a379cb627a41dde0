// Tests of the reference attention kernel (src/engine/ref_attention.ts through refKernels):
// forward against a float64 transcription of the contract (masking, GQA head mapping, keyStart,
// zero output for queries that see no key), cached decoding (qOffset > 0, kvStride > Tk) against
// rows of the full forward, and the backward against central finite differences.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { AttnDims } from "../../src/engine/kernels.ts";
import { refKernels as K } from "../../src/engine/ref.ts";
import { Rng } from "../../src/engine/rng.ts";
import { assertClose, assertGradCheck, randArray } from "../helpers/gradcheck.ts";

/** Named input of a gradCheck spec (asserts it exists). */
function inp(inputs: Record<string, Float32Array>, name: string): Float32Array {
  const x = inputs[name];
  assert.ok(x, `missing input ${name}`);
  return x;
}

/** Float64 attention straight from the contract: out (B, Tq, Hq, D), att (B, Hq, Tq, Tk). */
function naiveAttention(q: Float32Array, k: Float32Array, v: Float32Array, d: AttnDims, keyStart?: Int32Array) {
  const Tk = d.qOffset + d.Tq;
  const out = new Float64Array(d.B * d.Tq * d.Hq * d.D);
  const att = new Float64Array(d.B * d.Hq * d.Tq * Tk);
  const qIdx = (b: number, t: number, h: number, e: number) => ((b * d.Tq + t) * d.Hq + h) * d.D + e;
  const kvIdx = (b: number, j: number, h: number, e: number) => ((b * d.kvStride + j) * d.Hkv + h) * d.D + e;
  for (let b = 0; b < d.B; b++) {
    for (let h = 0; h < d.Hq; h++) {
      const kvh = Math.floor(h / (d.Hq / d.Hkv));
      for (let t = 0; t < d.Tq; t++) {
        const s: number[] = [];
        for (let j = 0; j < Tk; j++) {
          const visible = j >= (keyStart?.[b] ?? 0) && j <= d.qOffset + t;
          let dot = 0;
          for (let e = 0; e < d.D; e++) dot += (q[qIdx(b, t, h, e)] as number) * (k[kvIdx(b, j, kvh, e)] as number);
          s.push(visible ? dot / Math.sqrt(d.D) : -Infinity);
        }
        const m = Math.max(...s);
        if (m === -Infinity) continue; // no visible key: zero output, zero probabilities
        const z = s.reduce((acc, x) => acc + Math.exp(x - m), 0);
        for (let j = 0; j < Tk; j++) {
          const p = Math.exp((s[j] as number) - m) / z;
          att[((b * d.Hq + h) * d.Tq + t) * Tk + j] = p;
          for (let e = 0; e < d.D; e++) {
            const at = qIdx(b, t, h, e);
            out[at] = (out[at] as number) + p * (v[kvIdx(b, j, kvh, e)] as number);
          }
        }
      }
    }
  }
  return { out, att };
}

/** Run the ref attention forward with fresh buffers. */
function runAttention(q: Float32Array, k: Float32Array, v: Float32Array, d: AttnDims, keyStart?: Int32Array) {
  const out = new Float32Array(d.B * d.Tq * d.Hq * d.D).fill(Number.NaN);
  const att = new Float32Array(d.B * d.Hq * d.Tq * (d.qOffset + d.Tq)).fill(Number.NaN);
  K.attentionForward(out, att, q, k, v, d, keyStart);
  return { out, att };
}

/** Finite-difference check of attention wrt q, k, v. */
function attentionGradCheck(label: string, rng: Rng, d: AttnDims, keyStart?: Int32Array): void {
  const qLen = d.B * d.Tq * d.Hq * d.D;
  const kvLen = d.B * d.kvStride * d.Hkv * d.D;
  assertGradCheck(label, {
    inputs: { q: randArray(rng, qLen), k: randArray(rng, kvLen), v: randArray(rng, kvLen) },
    wrt: ["q", "k", "v"],
    r: randArray(rng, qLen),
    forward: (i) => runAttention(inp(i, "q"), inp(i, "k"), inp(i, "v"), d, keyStart).out,
    backward: (i, dOut) => {
      const q = inp(i, "q"),
        k = inp(i, "k"),
        v = inp(i, "v");
      const { att } = runAttention(q, k, v, d, keyStart);
      const dq = new Float32Array(qLen),
        dk = new Float32Array(kvLen),
        dv = new Float32Array(kvLen);
      K.attentionBackward(dq, dk, dv, dOut, att, q, k, v, d);
      return { q: dq, k: dk, v: dv };
    },
  });
}

describe("attention", () => {
  const train: AttnDims = { B: 2, Tq: 5, qOffset: 0, kvStride: 5, Hq: 4, Hkv: 2, D: 6 };
  const keyStart = Int32Array.from([0, 2]); // batch 1: queries 0 and 1 see no key

  it("forward matches a float64 transcription; masked probabilities are exact zeros", () => {
    const rng = new Rng(501);
    for (const ks of [undefined, keyStart]) {
      const q = randArray(rng, 2 * 5 * 4 * 6),
        k = randArray(rng, 2 * 5 * 2 * 6),
        v = randArray(rng, 2 * 5 * 2 * 6);
      const { out, att } = runAttention(q, k, v, train, ks);
      const ref = naiveAttention(q, k, v, train, ks);
      assertClose("attention out", out, ref.out, 1e-6, 1e-6);
      assertClose("attention att", att, ref.att, 1e-6, 1e-6);
      for (let row = 0; row < 2 * 4 * 5; row++) {
        const b = Math.floor(row / 20),
          t = row % 5;
        let sum = 0;
        for (let j = 0; j < 5; j++) {
          const p = att[row * 5 + j] as number;
          sum += p;
          const visible = j >= (ks?.[b] ?? 0) && j <= t;
          if (!visible) assert.equal(p, 0, `att row ${row} key ${j} must be exactly 0`);
        }
        const seesAny = (ks?.[b] ?? 0) <= t;
        assertClose(`att row ${row} sum`, [sum], [seesAny ? 1 : 0], 1e-6);
      }
    }
    // Queries that see no key have zero output.
    const q = randArray(rng, 2 * 5 * 4 * 6),
      k = randArray(rng, 2 * 5 * 2 * 6),
      v = randArray(rng, 2 * 5 * 2 * 6);
    const { out } = runAttention(q, k, v, train, keyStart);
    const row0 = (1 * 5 + 0) * 4 * 6; // b = 1, t = 0: all heads
    assert.ok(
      out.subarray(row0, row0 + 2 * 4 * 6).every((x) => x === 0),
      "unseeing queries must output 0",
    );
  });

  it("backward agrees with finite differences (GQA, no keyStart)", () => {
    attentionGradCheck("attention", new Rng(502), train);
  });

  it("backward agrees with finite differences (with keyStart)", () => {
    attentionGradCheck("attention keyStart", new Rng(503), train, keyStart);
  });

  it("cached decoding (qOffset > 0, kvStride > Tk) reproduces rows of the full forward", () => {
    const rng = new Rng(504);
    const B = 2,
      T = 7,
      Hq = 4,
      Hkv = 2,
      D = 6,
      S = 9; // S = kvStride of the cache
    const full: AttnDims = { B, Tq: T, qOffset: 0, kvStride: T, Hq, Hkv, D };
    const q = randArray(rng, B * T * Hq * D),
      k = randArray(rng, B * T * Hkv * D),
      v = randArray(rng, B * T * Hkv * D);
    const kc = randArray(rng, B * S * Hkv * D, 50),
      vc = randArray(rng, B * S * Hkv * D, 50); // garbage past T
    for (let b = 0; b < B; b++) {
      kc.set(k.subarray(b * T * Hkv * D, (b + 1) * T * Hkv * D), b * S * Hkv * D);
      vc.set(v.subarray(b * T * Hkv * D, (b + 1) * T * Hkv * D), b * S * Hkv * D);
    }
    for (const ks of [undefined, Int32Array.from([0, 3])]) {
      const ref = runAttention(q, k, v, full, ks);
      // A block of 3 queries at positions 4..6, then single-token steps at every position.
      const blocks: [number, number][] = [[4, 3], ...Array.from({ length: T }, (_, t): [number, number] => [t, 1])];
      for (const [off, Tq] of blocks) {
        const d: AttnDims = { B, Tq, qOffset: off, kvStride: S, Hq, Hkv, D };
        const qb = new Float32Array(B * Tq * Hq * D); // (B, Tq, Hq, D)
        for (let b = 0; b < B; b++)
          qb.set(q.subarray((b * T + off) * Hq * D, (b * T + off + Tq) * Hq * D), b * Tq * Hq * D);
        const got = runAttention(qb, kc, vc, d, ks);
        const Tk = off + Tq;
        for (let b = 0; b < B; b++) {
          const lo = (b * T + off) * Hq * D;
          assertClose(
            `out b=${b} off=${off}`,
            got.out.subarray(b * Tq * Hq * D, (b + 1) * Tq * Hq * D),
            ref.out.subarray(lo, lo + Tq * Hq * D),
            1e-6,
          );
          for (let h = 0; h < Hq; h++) {
            for (let t = 0; t < Tq; t++) {
              const g = got.att.subarray(((b * Hq + h) * Tq + t) * Tk, ((b * Hq + h) * Tq + t + 1) * Tk);
              const r0 = ((b * Hq + h) * T + off + t) * T;
              assertClose(`att b=${b} h=${h} t=${off + t}`, g, ref.att.subarray(r0, r0 + Tk), 1e-7);
            }
          }
        }
      }
    }
  });

  it("cached-layout backward agrees with finite differences and writes only the first Tk positions", () => {
    const d: AttnDims = { B: 2, Tq: 3, qOffset: 4, kvStride: 9, Hq: 4, Hkv: 2, D: 6 };
    attentionGradCheck("attention cached", new Rng(505), d, Int32Array.from([1, 0]));
    const rng = new Rng(506);
    const qLen = 2 * 3 * 4 * 6,
      kvLen = 2 * 9 * 2 * 6,
      rowLen = 2 * 6,
      Tk = 7;
    const q = randArray(rng, qLen),
      k = randArray(rng, kvLen),
      v = randArray(rng, kvLen);
    const { att } = runAttention(q, k, v, d);
    const dq = new Float32Array(qLen).fill(Number.NaN);
    const dk = new Float32Array(kvLen).fill(Number.NaN),
      dv = new Float32Array(kvLen).fill(Number.NaN);
    K.attentionBackward(dq, dk, dv, randArray(rng, qLen), att, q, k, v, d);
    assert.ok(
      dq.every((x) => Number.isFinite(x)),
      "dq must be written everywhere",
    );
    for (let b = 0; b < 2; b++) {
      for (let j = 0; j < 9; j++) {
        const seg = (buf: Float32Array) => buf.subarray((b * 9 + j) * rowLen, (b * 9 + j + 1) * rowLen);
        const written = j < Tk;
        for (const [name, buf] of [
          ["dk", dk],
          ["dv", dv],
        ] as const) {
          const ok = seg(buf).every((x) => (written ? Number.isFinite(x) : Number.isNaN(x)));
          assert.ok(ok, `${name} b=${b} position ${j} must be ${written ? "written" : "left untouched"}`);
        }
      }
    }
  });
});
