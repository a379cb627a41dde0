// Loading the WebAssembly kernels (built from assembly/ by `npm run build:wasm`): the compiled
// module, the shared memory it imports, and the typed exports. Two binaries of the same source
// are shipped, and the caller names the one it wants: plain SIMD ("simd", the `wasm` kernel
// sets) or relaxed SIMD ("relaxed-simd", fused multiply-add, the `wasm-fma` sets). Node 22+
// validates relaxed SIMD by default; Node 20 and 21 do behind a V8 flag, which is set here, in
// process, before the binary is compiled (`npx recap` needs no flag); where that does not take,
// the relaxed binary is refused and kernel selection falls back to plain SIMD.
// Everything here is synchronous, so kernel selection can stay synchronous.
import * as fs from "node:fs";
import * as v8 from "node:v8";
import { RecapError } from "../util/errors.ts";

/** The parts of the WebAssembly JS API used here, typed locally (the project compiles without
 *  the DOM library, where TypeScript declares the WebAssembly namespace). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
/** A compiled module (opaque; can be posted to a worker). */
export interface WasmModule {
  readonly __wasmModule?: never;
}
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (
    module: WasmModule,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
  Memory: new (desc: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const WA = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

const WASM_DIR = new URL("./wasm/", import.meta.url);
export const PAGE = 65536;
/** The module's declared maximum: 65536 pages = 4 GiB of linear memory. */
export const MAX_PAGES = 65536;

/** Exports of assembly/index.ts. Pointers are byte offsets; sizes and strides count elements;
 *  bool parameters take 0/1. Split exports take their range [s, e) (and a thread index) last. */
export interface WasmExports {
  mmNNr(
    c: number,
    a: number,
    b: number,
    K: number,
    ars: number,
    aks: number,
    ldb: number,
    ldc: number,
    acc: number,
    c0: number,
    c1: number,
    s: number,
    e: number,
  ): void;
  mmNNc(
    c: number,
    a: number,
    b: number,
    K: number,
    ars: number,
    aks: number,
    ldb: number,
    ldc: number,
    acc: number,
    r0: number,
    r1: number,
    s: number,
    e: number,
  ): void;
  mmNTr(
    c: number,
    a: number,
    b: number,
    K: number,
    lda: number,
    ldb: number,
    ldc: number,
    acc: number,
    c0: number,
    c1: number,
    s: number,
    e: number,
  ): void;
  mmNTc(
    c: number,
    a: number,
    b: number,
    K: number,
    lda: number,
    ldb: number,
    ldc: number,
    acc: number,
    r0: number,
    r1: number,
    s: number,
    e: number,
  ): void;
  packBp(dst: number, b: number, K: number, bks: number, bns: number, s: number, e: number): void;
  mmPkr(
    c: number,
    a: number,
    bp: number,
    K: number,
    ars: number,
    aks: number,
    ldc: number,
    acc: number,
    np: number,
    s: number,
    e: number,
  ): void;
  transpose(dst: number, src: number, rows: number, cols: number, lds: number): void;
  addInPlace(y: number, x: number, s: number, e: number): void;
  swigluFwd(out: number, gate: number, up: number, s: number, e: number): void;
  swigluBwd(dGate: number, dUp: number, dOut: number, gate: number, up: number, s: number, e: number): void;
  rmsnormFwd(out: number, rstd: number, x: number, w: number, C: number, eps: number, s: number, e: number): void;
  rmsnormBwd(
    dx: number,
    dw: number,
    dOut: number,
    x: number,
    w: number,
    rstd: number,
    C: number,
    s: number,
    e: number,
  ): void;
  rope(
    x: number,
    pos: number,
    cos: number,
    sin: number,
    H: number,
    D: number,
    sign: number,
    s: number,
    e: number,
  ): void;
  tokenLogprobFwd(out: number, lse: number, logits: number, targets: number, V: number, s: number, e: number): void;
  tokenLogprobBwd(
    dLogits: number,
    dLogp: number,
    logits: number,
    lse: number,
    targets: number,
    V: number,
    s: number,
    e: number,
  ): void;
  adamw(
    p: number,
    g: number,
    m: number,
    v: number,
    lr: number,
    b1: number,
    b2: number,
    eps: number,
    decay: number,
    bc1: number,
    bc2: number,
    gradScale: number,
    s: number,
    e: number,
  ): void;
  softmaxFwd(out: number, x: number, V: number, s: number, e: number): void;
  attnFwd(
    out: number,
    att: number,
    q: number,
    k: number,
    v: number,
    keyStart: number,
    scratch: number,
    Tq: number,
    qOffset: number,
    kvStride: number,
    Hq: number,
    Hkv: number,
    D: number,
    s: number,
    e: number,
    tid: number,
  ): void;
  attnDec(
    out: number,
    att: number,
    q: number,
    k: number,
    v: number,
    keyStart: number,
    qOffset: number,
    kvStride: number,
    Hq: number,
    Hkv: number,
    D: number,
    s: number,
    e: number,
  ): void;
  attnBwd(
    dq: number,
    dk: number,
    dv: number,
    dOut: number,
    att: number,
    q: number,
    k: number,
    v: number,
    scratch: number,
    Tq: number,
    qOffset: number,
    kvStride: number,
    Hq: number,
    Hkv: number,
    D: number,
    s: number,
    e: number,
    tid: number,
  ): void;
  heapBase(): number;
}

/** The exports a call can be split over between two threads (range [s, e) and thread index last). */
export const SPLIT_EXPORTS = [
  "mmNNr",
  "mmNNc",
  "mmNTr",
  "mmNTc",
  "packBp",
  "mmPkr",
  "addInPlace",
  "swigluFwd",
  "swigluBwd",
  "rmsnormFwd",
  "tokenLogprobFwd",
  "tokenLogprobBwd",
  "adamw",
  "attnFwd",
  "attnDec",
  "attnBwd",
  "rope",
  "softmaxFwd",
] as const satisfies readonly (keyof WasmExports)[];
export type SplitExport = (typeof SPLIT_EXPORTS)[number];

export interface LoadedWasm {
  module: WasmModule;
  /** "relaxed-simd" or "simd": which binary was loaded. */
  variant: "relaxed-simd" | "simd";
}

const cache = new Map<string, LoadedWasm>();

/** Whether relaxed SIMD validates here, after turning on V8's flag for it where the runtime has
 *  one (Node 20 and 21: `--experimental-wasm-relaxed-simd`, which V8 reads when it compiles a
 *  module, so setting it in process before the first relaxed compile is enough; the worker
 *  threads share the process's flags). */
function relaxedSimdValidates(bytes: Uint8Array): boolean {
  if (WA.validate(bytes)) return true;
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 20 || major >= 22) return false;
  v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  return WA.validate(bytes);
}

/** The compiled kernel module of `variant` (compiled once per process and variant). */
export function loadWasmModule(variant: LoadedWasm["variant"]): LoadedWasm {
  const key = variant;
  const hit = cache.get(key);
  if (hit) return hit;
  if (typeof WA === "undefined" || typeof SharedArrayBuffer === "undefined")
    throw new RecapError("this runtime has no WebAssembly with shared memory", "use --kernels ref");
  const read = (file: string): Uint8Array => {
    try {
      return new Uint8Array(fs.readFileSync(new URL(file, WASM_DIR)));
    } catch (e) {
      throw new RecapError(
        `cannot read the WebAssembly kernels ${file}: ${(e as Error).message}`,
        "run `npm run build:wasm`, or use --kernels ref",
      );
    }
  };
  let loaded: LoadedWasm;
  if (variant === "relaxed-simd") {
    const relaxed = read("kernels_relaxed.wasm");
    if (!relaxedSimdValidates(relaxed))
      throw new RecapError(
        "this runtime does not run relaxed SIMD (fused multiply-add)",
        "use Node 20+, or --kernels wasm-threads (plain SIMD)",
      );
    loaded = { module: new WA.Module(relaxed), variant };
  } else {
    const plain = read("kernels.wasm");
    if (!WA.validate(plain))
      throw new RecapError("this runtime cannot run the WebAssembly SIMD kernels", "use --kernels ref");
    loaded = { module: new WA.Module(plain), variant };
  }
  cache.set(key, loaded);
  return loaded;
}

/** A fresh shared memory for the kernels: `initialPages` now, growable up to 4 GiB. */
export function newSharedMemory(initialPages: number): WasmMemory {
  return new WA.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
}

/** An instance of the kernels over `memory` (on the thread that calls it). */
export function instantiate(module: WasmModule, memory: WasmMemory): WasmExports {
  const inst = new WA.Instance(module, { env: { memory } });
  return inst.exports as unknown as WasmExports;
}
