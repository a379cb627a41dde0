// The worker pool of `wasm-threads` and kernel selection: a worker's exception comes back to the
// main thread as a RecapError (and the pool keeps working), a worker that never answers or never
// starts makes the call fail after a bounded wait instead of hanging, dispose() stops the worker
// and later calls run on one thread, and a process that never disposes still exits by itself.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { selectKernels } from "../../src/engine/select.ts";
import { createWasmKernels } from "../../src/engine/wasm.ts";
import { loadWasmModule, newSharedMemory, instantiate } from "../../src/engine/wasm_module.ts";
import { WorkerPool } from "../../src/engine/wasm_pool.ts";
import { RecapError } from "../../src/util/errors.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const isRecap = (re: RegExp) => (e: unknown) => e instanceof RecapError && re.test(e.message);

/** A pool over a fresh 64 MiB memory, with the exports of the main thread's instance. */
function newPool(opts: ConstructorParameters<typeof WorkerPool>[3] = {}) {
  const { module } = loadWasmModule("simd");
  const memory = newSharedMemory(1024);
  const ex = instantiate(module, memory);
  return { pool: new WorkerPool(ex, module, memory, { minWork: 0, adaptive: false, ...opts }), memory };
}

describe("worker pool", () => {
  const pools: WorkerPool[] = [];
  after(() => pools.forEach((p) => p.dispose()));

  it("surfaces an exception of the worker as a RecapError and keeps working", () => {
    const { pool, memory } = newPool();
    pools.push(pool);
    const f = new Float32Array(memory.buffer);
    const a = 16384,
      b = 4096,
      c = 8192;
    f.fill(2, a / 4, a / 4 + 64);
    f.fill(1, b / 4, b / 4 + 64);
    const valid = [c, a, b, 1, 1, 1, 8, 8, 0, 0, 8]; // mmNNr: C (8, 8) = A (8, 1) B (1, 8)
    pool.run("mmNNr", valid, 8, 4, 1e9); // the worker is now awake and spinning
    // 8 rows split 4 + 4; row i of A sits at base - 4i MiB (a negative row stride), so the
    // worker's rows 0..3 start at or beyond the end of memory and trap, while the main thread's
    // rows 4..7 are valid and long (K = 2^20), so the worker claims its half first.
    const size = memory.buffer.byteLength,
      MiB = 2 ** 20,
      K = 2 ** 20;
    const bad = [c, size + 8 * MiB, b, K, -MiB, 1, 0, 8, 0, 0, 8];
    assert.throws(
      () => pool.run("mmNNr", bad, 8, 4, 1e9),
      isRecap(/worker failed in mmNNr: RuntimeError: memory access out of bounds/),
    );
    pool.run("mmNNr", valid, 8, 4, 1e9);
    assert.deepEqual([...f.subarray(c / 4, c / 4 + 64)], new Array(64).fill(2));
  });

  // A hang would fail this test by its timeout; no wall-clock bound is asserted beyond the wait itself
  // (under load the wait may stretch, never shrink).
  it("fails a call after a bounded wait when the worker never answers, then refuses work", { timeout: 120_000 }, () => {
    const { pool } = newPool({ workerUrl: fixture("stuck_worker.mjs"), minWaitMs: 300 });
    pools.push(pool);
    // y += x over 2^23 floats: the main thread's half takes long enough for the worker to claim its own
    // (the deadline is max(300 ms, 50 x the main thread's own half)).
    const n = 2 ** 23;
    const t0 = performance.now();
    let deadline = 0;
    assert.throws(
      () => pool.run("addInPlace", [4096, 4096], n, 4, 1e9),
      (e: unknown) => {
        const m = e instanceof RecapError ? /did not answer within (\d+) ms/.exec(e.message) : null;
        deadline = Number(m?.[1] ?? 0);
        return m !== null;
      },
    );
    assert.ok(deadline >= 300, `the deadline is at least minWaitMs, got ${deadline} ms`);
    assert.ok(performance.now() - t0 >= deadline * 0.9, "the call waited for its deadline before failing");
    assert.throws(() => pool.run("addInPlace", [4096, 4096], n, 4, 1e9), isRecap(/did not answer/));
  });

  it("takes back the halves of a worker that never shows up, without waiting", () => {
    const { pool, memory } = newPool({ workerUrl: fixture("idle_worker.mjs"), minWaitMs: 60_000 });
    pools.push(pool);
    const f = new Float32Array(memory.buffer);
    const n = 4096,
      y = 4096,
      x = y + 4 * n;
    f.fill(1, y / 4, y / 4 + n);
    f.fill(2, x / 4, x / 4 + n);
    const t0 = performance.now();
    for (let r = 0; r < 10; r++) pool.run("addInPlace", [y, x], n, 4, 1e9);
    assert.ok(performance.now() - t0 < 30_000, "no call waited for the absent worker");
    assert.ok(
      f.subarray(y / 4, y / 4 + n).every((v) => v === 21),
      "every element was added 10 times",
    );
  });

  it("fails start-up with a RecapError when the worker crashes before it is ready", () => {
    assert.throws(
      () => newPool({ workerUrl: fixture("crashing_worker.mjs"), startTimeoutMs: 500 }),
      isRecap(/did not start within 500 ms/),
    );
  });

  it("reports a module the worker cannot instantiate", () => {
    // A module importing a function env.f that the worker does not provide (a LinkError there).
    const bytes = Uint8Array.of(
      0,
      0x61,
      0x73,
      0x6d,
      1,
      0,
      0,
      0,
      1,
      4,
      1,
      0x60,
      0,
      0,
      2,
      9,
      1,
      3,
      0x65,
      0x6e,
      0x76,
      1,
      0x66,
      0,
      0,
    );
    const WA = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }).WebAssembly;
    const { module } = loadWasmModule("simd");
    const memory = newSharedMemory(2);
    const ex = instantiate(module, memory);
    assert.throws(() => new WorkerPool(ex, new WA.Module(bytes), memory), isRecap(/failed to start: LinkError/));
  });

  it("after dispose, calls run on the main thread", () => {
    const k = createWasmKernels({ threads: 2, pool: { minWork: 0 } });
    k.dispose();
    k.dispose();
    const c = k.alloc(4);
    k.matmul(c, Float32Array.of(1, 2, 3, 4), Float32Array.of(1, 0, 0, 1), 2, 2, 2, false, false, false);
    assert.deepEqual([...c], [1, 2, 3, 4]);
  });
});

describe("process exit and selection", () => {
  it("a process that uses the default (wasm-fma-threads, no V8 flag passed) without dispose exits by itself", () => {
    const code = `
      import { selectKernels } from "./src/engine/select.ts";
      const k = selectKernels();
      const a = k.alloc(256 * 256).fill(1), c = k.alloc(256 * 256);
      k.matmul(c, a, a, 256, 256, 256, false, true, false);
      console.log(k.name, c[0]);`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, RECAP_KERNELS: "" },
    });
    assert.equal(r.error, undefined, `child did not exit: ${r.error?.message}`);
    assert.equal(r.status, 0, r.stderr);
    // Node 20+ runs relaxed SIMD: Node 20 and 21 through the V8 flag set in process.
    assert.equal(r.stdout.trim(), "wasm-fma-threads 256");
  });

  it("selects by name, rejects unknown names, and is shared per process", () => {
    const k = selectKernels("wasm");
    assert.equal(k.name, "wasm");
    assert.equal(selectKernels("wasm"), k);
    assert.equal(selectKernels("ref").name, "ref");
    assert.throws(() => selectKernels("cuda"), isRecap(/unknown kernels "cuda"/));
  });
});
