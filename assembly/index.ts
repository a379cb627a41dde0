// Entry point of the WebAssembly kernels, built by `npm run build:wasm` (scripts/build_wasm.ts)
// into src/engine/wasm/. Every export that a call can be split over takes the range of its
// split dimension last ([s, e), plus the thread index where it needs per-thread scratch), so the
// JavaScript side can run one half on the main thread and the other on the worker.
import { mmNN, mmNT, mmPk, packB } from "./matmul";

export { transpose } from "./matmul";

/** packB split by panels [s, e). */
export function packBp(dst: usize, b: usize, K: i32, bks: i32, bns: i32, s: i32, e: i32): void {
  packB(dst, b, K, bks, bns, s, e);
}

/** mmPk split by rows [s, e). */
export function mmPkr(c: usize, a: usize, bp: usize, K: i32, ars: i32, aks: i32, ldc: i32, acc: bool, np: i32, s: i32, e: i32): void {
  mmPk(c, a, bp, K, ars, aks, ldc, acc, np, s, e);
}
export { addInPlace, adamw, rmsnormBwd, rmsnormFwd, rope, softmaxFwd, swigluBwd, swigluFwd, tokenLogprobBwd, tokenLogprobFwd } from "./ops";
export { attnBwd, attnDec, attnFwd } from "./attention";

/** mmNN split by rows: rows [s, e) of C, columns [c0, c1). */
export function mmNNr(
  c: usize, a: usize, b: usize, K: i32, ars: i32, aks: i32, ldb: i32, ldc: i32, acc: bool, c0: i32, c1: i32, s: i32, e: i32,
): void {
  mmNN(c, a, b, K, ars, aks, ldb, ldc, acc, s, e, c0, c1);
}

/** mmNN split by columns: rows [r0, r1), columns [s, e). */
export function mmNNc(
  c: usize, a: usize, b: usize, K: i32, ars: i32, aks: i32, ldb: i32, ldc: i32, acc: bool, r0: i32, r1: i32, s: i32, e: i32,
): void {
  mmNN(c, a, b, K, ars, aks, ldb, ldc, acc, r0, r1, s, e);
}

/** mmNT split by rows. */
export function mmNTr(
  c: usize, a: usize, b: usize, K: i32, lda: i32, ldb: i32, ldc: i32, acc: bool, c0: i32, c1: i32, s: i32, e: i32,
): void {
  mmNT(c, a, b, K, lda, ldb, ldc, acc, s, e, c0, c1);
}

/** mmNT split by columns. */
export function mmNTc(
  c: usize, a: usize, b: usize, K: i32, lda: i32, ldb: i32, ldc: i32, acc: bool, r0: i32, r1: i32, s: i32, e: i32,
): void {
  mmNT(c, a, b, K, lda, ldb, ldc, acc, r0, r1, s, e);
}

/** End of the module's static data: the JavaScript allocator starts above it. */
export function heapBase(): usize {
  return __heap_base;
}
