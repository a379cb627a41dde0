// The allocation stack of the WebAssembly kernels in their shared linear memory: zeroed, aligned
// allocations, mark/release reuse, growth on demand with views made before a grow staying valid
// (a SharedArrayBuffer never detaches) for JavaScript, for the kernels and for the worker, and
// foreign arrays staged through scratch space that is always given back.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { refKernels as R } from "../../src/engine/ref.ts";
import { Rng } from "../../src/engine/rng.ts";
import { createWasmKernels } from "../../src/engine/wasm.ts";
import { RecapError } from "../../src/util/errors.ts";
import { randArray } from "../helpers/gradcheck.ts";
import { assertNear } from "./wasm_helpers.ts";

const one = createWasmKernels({ threads: 1, initialMiB: 1 });
const two = createWasmKernels({ threads: 2, initialMiB: 1, pool: { minWork: 0, adaptive: false } });
after(() => {
  one.dispose();
  two.dispose();
});

describe("alloc / mark / release", () => {
  it("hands out zeroed, 64-byte aligned arrays and reuses released space, zeroed again", () => {
    const m = one.mark();
    const a = one.alloc(10).fill(5),
      b = one.alloc(3).fill(6);
    assert.equal(a.byteOffset % 64, 0);
    assert.equal(b.byteOffset % 64, 0);
    assert.ok(b.byteOffset >= a.byteOffset + 40);
    one.release(m);
    const c = one.alloc(13);
    assert.equal(c.byteOffset, a.byteOffset);
    assert.ok(
      c.every((x) => x === 0),
      "a reused allocation must be zeroed",
    );
    one.release(m);
    assert.equal(one.mark(), m);
    assert.throws(() => one.release(-5), /not a mark/);
    assert.throws(() => one.alloc(-1), /non-negative/);
  });

  it("grows the memory on demand; views made before the grow stay valid everywhere", () => {
    for (const k of [one, two]) {
      const m = k.mark();
      const size0 = k.arena.size;
      const rng = new Rng(31);
      const M = 24,
        K = 16,
        N = 40;
      const a = k.alloc(M * K),
        b = k.alloc(K * N); // (M, K), (K, N) made before the grow
      a.set(randArray(rng, M * K));
      b.set(randArray(rng, K * N));
      const bufBefore = a.buffer;
      const big = k.alloc((size0 / 4) * 3); // forces at least one grow
      assert.ok(k.arena.size > size0, "memory grew");
      big[big.length - 1] = 1; // the new region is usable from JavaScript
      assert.equal(a.buffer, bufBefore, "an old view keeps its buffer");
      const again = new Float32Array(k.arena.memory.buffer, a.byteOffset, M * K); // the same bytes, new buffer object
      a[3] = 42;
      assert.equal(again[3], 42);
      assert.ok(k.arena.owns(a) && k.arena.owns(again), "old and new views are both recognised as kernel memory");
      // A kernel call on old views writing into the grown region (split across the worker for `two`).
      const c = k.alloc(M * N),
        want = new Float32Array(M * N);
      assert.ok(c.byteOffset > size0, "the output lies in the grown region");
      const used = k.arena.used;
      k.matmul(c, a, b, M, K, N, false, false, false);
      assert.equal(k.arena.used, used, "owned arguments are used in place, not staged");
      R.matmul(want, a, b, M, K, N, false, false, false);
      assertNear(`${k.name} matmul across a grow`, c, want, 1e-5);
      k.release(m);
    }
  });

  it("stages foreign arrays and always gives the scratch back, also when a call throws", () => {
    const rng = new Rng(32);
    for (const k of [one, two]) {
      const top = k.mark();
      const a = randArray(rng, 6 * 5),
        b = randArray(rng, 5 * 7),
        c = new Float32Array(6 * 7),
        want = new Float32Array(6 * 7);
      k.matmul(c, a, b, 6, 5, 7, false, false, false);
      R.matmul(want, a, b, 6, 5, 7, false, false, false);
      assertNear("foreign matmul", c, want, 1e-5);
      assert.equal(k.mark(), top);
      assert.throws(() => k.matmul(c, a, new Float32Array(3), 6, 5, 7, false, false, false), /needs 35 elements/);
      assert.equal(k.mark(), top);
      const before = Float32Array.from(c);
      assert.throws(() => k.tokenLogprobForward(c, c, a, Int32Array.of(99), 1, 5), RangeError);
      assert.deepEqual(c, before, "a failed call leaves foreign outputs untouched");
    }
  });

  it("refuses to grow past 4 GiB with a RecapError and keeps working", () => {
    const top = one.mark();
    assert.throws(
      () => one.alloc(2 ** 30),
      (e: unknown) => e instanceof RecapError && /ran out of memory/.test(e.message),
    );
    assert.equal(one.mark(), top);
    assert.equal(one.alloc(4).length, 4);
    one.release(top);
  });
});
