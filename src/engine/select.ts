// Kernel selection: the implementation every model op runs on, chosen once at start-up from the
// CLI flag `--kernels`, else the RECAP_KERNELS environment variable, else the default: the fastest
// set that initialises here (`wasm-fma-threads`, else `wasm-threads`, `wasm-fma`, `wasm`, `ref`).
// The chosen set's `name` is what runs report in their metadata, and it fixes the numerics: the
// `wasm` sets (plain SIMD: a multiply, then an add) give the same bits on every machine and
// runtime, on one thread or two; the `wasm-fma` sets (relaxed SIMD, fused multiply-add; faster,
// docs/BENCHMARKS.md) round once per multiply-add where the CPU has FMA (x86-64 with FMA3, ARM64), so their
// bits can differ between machines, never between runs on one machine. The shipped base was
// trained on `wasm-threads`; `npm run base:regenerate -- --check` names it. Initialisation is
// synchronous (the WebAssembly module is compiled and the worker started on first use), so `selectKernels` needs no await; each named
// set is created once per process and shared.
import { RecapError } from "../util/errors.ts";
import type { Kernels } from "./kernels.ts";
import { refKernels } from "./ref.ts";
import { type WasmKernels, createWasmKernels } from "./wasm.ts";

const REGISTRY: Record<string, () => Kernels> = {
  ref: () => refKernels,
  wasm: () => createWasmKernels({ threads: 1, variant: "simd" }),
  "wasm-threads": () => createWasmKernels({ threads: 2, variant: "simd" }),
  "wasm-fma": () => createWasmKernels({ threads: 1, variant: "relaxed-simd" }),
  "wasm-fma-threads": () => createWasmKernels({ threads: 2, variant: "relaxed-simd" }),
};

export const KERNEL_NAMES = Object.keys(REGISTRY);
/** Tried in this order when no kernels are named. */
export const DEFAULT_ORDER = ["wasm-fma-threads", "wasm-threads", "wasm-fma", "wasm", "ref"] as const;

const instances = new Map<string, Kernels>();
/** Why a preferred default could not be used (empty when the first choice worked). */
export const fallbackNotes: string[] = [];

function instance(name: string): Kernels {
  let k = instances.get(name);
  if (!k) {
    const make = REGISTRY[name];
    if (!make) throw new RecapError(`unknown kernels "${name}"`, `valid kernels are ${KERNEL_NAMES.join(", ")}`);
    k = make();
    instances.set(name, k);
  }
  return k;
}

/** The kernels named by `name`, or by RECAP_KERNELS, or the first default that initialises.
 *  A named set that fails to initialise throws (RecapError); the default falls back quietly
 *  (see `fallbackNotes`). */
export function selectKernels(name?: string): Kernels {
  const chosen = name ?? process.env["RECAP_KERNELS"];
  if (chosen) return instance(chosen);
  for (const n of DEFAULT_ORDER) {
    try {
      return instance(n);
    } catch (e) {
      fallbackNotes.push(`${n}: ${(e as Error).message}`);
    }
  }
  return refKernels;
}

/** Same as selectKernels; async for callers that prefer to await initialisation. */
export async function initKernels(name?: string): Promise<Kernels> {
  return selectKernels(name);
}

/** Stops the workers of every kernel set created by selectKernels (they are unref'd, so a
 *  process exits without this; tests and long-lived hosts call it to be tidy). */
export function disposeKernels(): void {
  for (const k of instances.values()) (k as Partial<WasmKernels>).dispose?.();
}
