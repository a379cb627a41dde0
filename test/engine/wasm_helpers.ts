// Shared pieces of the WebAssembly kernel tests: the kernel sets under test (plain SIMD on one
// thread; two threads with splitting forced on every call, so tiny shapes exercise the worker
// too; and the relaxed-SIMD binary, fused multiply-add, likewise split), the
// three ways an argument can reach a kernel (a foreign array, a view from `alloc`, a view at an
// offset that is not 16-byte aligned), and a norm-wise closeness check.
import assert from "node:assert/strict";
import type { Kernels } from "../../src/engine/kernels.ts";
import { type WasmKernels, createWasmKernels } from "../../src/engine/wasm.ts";

/** The kernel sets under test; dispose them in an `after` hook. */
export function kernelSets(): WasmKernels[] {
  return [
    createWasmKernels({ threads: 1 }),
    createWasmKernels({ threads: 2, name: "wasm-threads(split all)", pool: { minWork: 0, adaptive: false } }),
    createWasmKernels({
      threads: 2,
      variant: "relaxed-simd",
      name: "wasm-fma-threads(split all)",
      pool: { minWork: 0, adaptive: false },
    }),
  ];
}

export type Placement = "foreign" | "owned" | "misaligned";
export const PLACEMENTS: Placement[] = ["foreign", "owned", "misaligned"];

/** x placed for kernels k: a copy in a plain array, in `alloc` memory, or at a 12-byte offset. */
export function place(k: Kernels, x: Float32Array, how: Placement): Float32Array {
  if (how === "foreign") return Float32Array.from(x);
  const a = how === "owned" ? k.alloc(x.length) : k.alloc(x.length + 3).subarray(3);
  a.set(x);
  return a;
}

/** Asserts max |ours - ref| <= rel * max |ref| + abs, and that ours has no NaN. */
export function assertNear(label: string, ours: ArrayLike<number>, ref: ArrayLike<number>, rel: number, abs = 0): void {
  assert.equal(ours.length, ref.length, `${label}: length ${ours.length} vs ${ref.length}`);
  let maxRef = 0,
    maxDiff = 0,
    at = -1;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
    const d = Math.abs(ours[i]! - ref[i]!);
    if (!(d <= maxDiff)) {
      maxDiff = Number.isNaN(d) ? Infinity : d;
      at = i;
    }
  }
  const tol = rel * maxRef + abs;
  assert.ok(maxDiff <= tol, `${label}: max |diff| ${maxDiff} at ${at} (ours ${ours[at]}, ref ${ref[at]}) > ${tol}`);
}
