// The `wasm` and `wasm-threads` kernel sets: the kernel contract (kernels.ts) on the WebAssembly
// SIMD kernels of assembly/, over one shared linear memory that also holds every array handed
// out by `alloc` (so model params, gradients and activations are used in place, never copied).
// `wasm-threads` splits the large calls between the main thread and one worker (wasm_pool.ts).
// Ops that do not pay in WebAssembly run the reference on the same memory views: embeddings
// (row copies), the softmax backward and the log-softmax pair (unused by the model). Arrays from
// elsewhere are accepted and copied in and out per call (wasm_arena.ts). Numerics: f32 sums and
// a polynomial exp, so results match the reference to f32 rounding, not bit for bit
// (test/engine/wasm*.test.ts).
import { RecapError } from "../util/errors.ts";
import type { AttnDims, Kernels } from "./kernels.ts";
import { refKernels } from "./ref.ts";
import { WasmArena } from "./wasm_arena.ts";
import {
  type LoadedWasm,
  PAGE,
  type WasmExports,
  instantiate,
  loadWasmModule,
  newSharedMemory,
} from "./wasm_module.ts";
import { InlineRunner, type PoolOptions, type Runner, WorkerPool } from "./wasm_pool.ts";

export interface WasmKernels extends Kernels {
  /** 1 (`wasm`) or 2 (`wasm-threads`). */
  readonly threads: number;
  /** Which binary runs: "simd" or "relaxed-simd". */
  readonly variant: LoadedWasm["variant"];
  /** The allocation stack in linear memory (sizes, ownership checks). */
  readonly arena: WasmArena;
  /** Stops the worker (wasm-threads); later calls run on one thread. Idempotent. */
  dispose(): void;
}

export interface WasmKernelOptions {
  /** 1 or 2 threads. Default 1. */
  threads?: 1 | 2;
  /** The binary: "simd" (plain SIMD; the `wasm` sets) or "relaxed-simd" (fused multiply-add;
   *  the `wasm-fma` sets). Default "simd". */
  variant?: LoadedWasm["variant"];
  /** Initial linear memory in MiB (grows on demand). Default 16. */
  initialMiB?: number;
  /** Worker pool tuning (wasm-threads). */
  pool?: PoolOptions;
  /** Name reported in run metadata. Default "wasm" or "wasm-threads". */
  name?: string;
}

/** A new, independent kernel set with its own memory (and worker, with threads: 2). */
export function createWasmKernels(opts: WasmKernelOptions = {}): WasmKernels {
  const threads = opts.threads ?? 1;
  const loaded = loadWasmModule(opts.variant ?? "simd");
  const memory = newSharedMemory(Math.max(2, Math.ceil(((opts.initialMiB ?? 16) * 2 ** 20) / PAGE)));
  const ex = instantiate(loaded.module, memory);
  const heapBase = ex.heapBase();
  if (heapBase > PAGE) {
    throw new RecapError(
      `the WebAssembly kernels have ${heapBase} bytes of static data, expected at most ${PAGE}`,
      "rebuild with `npm run build:wasm`",
    );
  }
  const arena = new WasmArena(memory, PAGE);
  const runner: Runner = threads === 2 ? new WorkerPool(ex, loaded.module, memory, opts.pool) : new InlineRunner(ex);
  const ops = makeOps(ex, arena, runner, loaded.variant === "relaxed-simd");
  return {
    name: opts.name ?? `wasm${loaded.variant === "relaxed-simd" ? "-fma" : ""}${threads === 2 ? "-threads" : ""}`,
    threads,
    variant: loaded.variant,
    arena,
    dispose: () => runner.dispose(),
    alloc: (n) => arena.alloc(n),
    allocUninit: (n) => arena.allocUninit(n),
    mark: () => arena.mark(),
    release: (m) => arena.release(m),
    ...ops,
  };
}

type Ops = Omit<Kernels, "name" | "alloc" | "mark" | "release">;

/** Runs body between arena.begin() and arena.end(): staging copies are released, and foreign
 *  outputs copied back only on success. */
function staged(arena: WasmArena, body: () => void): void {
  arena.begin();
  let ok = false;
  try {
    body();
    ok = true;
  } finally {
    arena.end(ok);
  }
}

function checkDims(what: string, dims: Record<string, number>): void {
  for (const [k, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`${what}: ${k} must be a non-negative integer, got ${v}`);
  }
}

/** Validates attention dims as the reference does; returns Tk. */
function attnTk(d: AttnDims): number {
  checkDims("attention", { B: d.B, Tq: d.Tq, qOffset: d.qOffset, kvStride: d.kvStride, Hq: d.Hq, Hkv: d.Hkv, D: d.D });
  if (d.Hkv <= 0 || d.Hq % d.Hkv !== 0)
    throw new RangeError(`attention: Hq (${d.Hq}) must be a multiple of Hkv (${d.Hkv})`);
  const Tk = d.qOffset + d.Tq;
  if (Tk > d.kvStride) throw new RangeError(`attention: qOffset + Tq (${Tk}) exceeds kvStride (${d.kvStride})`);
  return Tk;
}

function checkIndex(ids: Int32Array, n: number, hi: number, what: string): void {
  for (let i = 0; i < n; i++) {
    const t = ids[i]!;
    if (!(t >= 0 && t < hi)) throw new RangeError(`${what}: ${t} at row ${i} outside [0, ${hi})`);
  }
}

function makeOps(ex: WasmExports, arena: WasmArena, run: Runner, fma: boolean): Ops {
  return {
    ...linearOps(ex, arena, run, fma),
    ...attentionOps(ex, arena, run),
    ...rowOps(ex, arena, run),
    ...elementOps(ex, arena, run),
  };
}

/** Rows from which a product packs B' first (packing costs K x N copies, paid back over M rows;
 *  NT packs with strided reads of B, so a decoding step's few rows do not pay for it). */
const PACK_MIN_ROWS = 64,
  PACK_MIN_ROWS_NT = 256;

/** Matmul, embeddings (the reference's row copies), addInPlace. Large products pack B' into
 *  8-column panels first (matmul.ts): NN and TN always (the same sums in the same order as
 *  unpacked, so the same bits); NT only in the FMA sets, since its unpacked kernel sums in
 *  another order and the plain sets keep the numerics the shipped base was trained with. */
function linearOps(
  ex: WasmExports,
  A: WasmArena,
  run: Runner,
  fma: boolean,
): Pick<Ops, "matmul" | "embeddingForward" | "embeddingBackward" | "addInPlace"> {
  /** C (+)= A' B' with B'(k, j) at pb + 4 (k bks + j bns), through packed panels; columns past
   *  the last full panel by `edge`. */
  const packed = (
    pc: number,
    pa: number,
    pb: number,
    M: number,
    K: number,
    N: number,
    ars: number,
    aks: number,
    bks: number,
    bns: number,
    acc: number,
    edge: (c0: number) => void,
  ) => {
    const np = N >> 3;
    const pk = A.scratch(K * np * 8); // (np, K, 8)
    run.run("packBp", [pk, pb, K, bks, bns], np, 1, K * np * 8);
    run.run("mmPkr", [pc, pa, pk, K, ars, aks, N, acc, np], M, 4, 2 * M * K * np * 8);
    if (np * 8 < N) edge(np * 8);
  };
  return {
    matmul(c, a, b, M, K, N, transA, transB, accumulate) {
      checkDims("matmul", { M, K, N });
      if (M === 0 || N === 0) return;
      staged(A, () => {
        const pc = A.f32(c, M * N, "matmul C", accumulate, true);
        const pa = A.f32(a, M * K, "matmul A", true, false);
        let pb = A.f32(b, K * N, "matmul B", true, false);
        const acc = accumulate ? 1 : 0,
          work = 2 * M * K * N;
        let tB = transB;
        if (transA && transB) {
          const t = A.scratch(K * N); // (K, N) B^T made dense
          ex.transpose(t, pb, N, K, K);
          pb = t;
          tB = false;
        }
        const pack = M >= (tB ? PACK_MIN_ROWS_NT : PACK_MIN_ROWS) && N >= 8 && K > 0;
        if (!tB) {
          const ars = transA ? 1 : K,
            aks = transA ? M : 1;
          if (pack)
            packed(pc, pa, pb, M, K, N, ars, aks, N, 1, acc, (c0) =>
              run.run("mmNNr", [pc, pa, pb, K, ars, aks, N, N, acc, c0, N], M, 4, work),
            );
          else if (M >= 16 || N < 16) run.run("mmNNr", [pc, pa, pb, K, ars, aks, N, N, acc, 0, N], M, 4, work);
          else run.run("mmNNc", [pc, pa, pb, K, ars, aks, N, N, acc, 0, M], N, 8, work);
        } else if (pack && fma)
          packed(pc, pa, pb, M, K, N, K, 1, 1, K, acc, (c0) =>
            run.run("mmNTr", [pc, pa, pb, K, K, K, N, acc, c0, N], M, 2, work),
          );
        else if (M >= 16 || N < 16) run.run("mmNTr", [pc, pa, pb, K, K, K, N, acc, 0, N], M, 2, work);
        else run.run("mmNTc", [pc, pa, pb, K, K, K, N, acc, 0, M], N, 4, work);
      });
    },
    embeddingForward: refKernels.embeddingForward,
    embeddingBackward: refKernels.embeddingBackward,
    addInPlace(y, x, N) {
      checkDims("addInPlace", { N });
      staged(A, () => {
        run.run(
          "addInPlace",
          [A.f32(y, N, "addInPlace y", true, true), A.f32(x, N, "addInPlace x", true, false)],
          N,
          4096,
          N,
        );
      });
    },
  };
}

/** Attention and RoPE. */
function attentionOps(
  ex: WasmExports,
  A: WasmArena,
  run: Runner,
): Pick<Ops, "ropeForward" | "ropeBackward" | "attentionForward" | "attentionBackward"> {
  return {
    ropeForward(x, pos, cos, sin, N, H, D) {
      rope(ex, A, run, x, pos, cos, sin, N, H, D, 1);
    },
    ropeBackward(dx, pos, cos, sin, N, H, D) {
      rope(ex, A, run, dx, pos, cos, sin, N, H, D, -1);
    },
    attentionForward(out, att, q, k, v, dims, keyStart) {
      const Tk = attnTk(dims);
      const { B, Tq, qOffset, kvStride, Hq, Hkv, D } = dims;
      staged(A, () => {
        const qn = B * Tq * Hq * D,
          kn = B * kvStride * Hkv * D;
        const args = [
          A.f32(out, qn, "attention out", false, true),
          A.f32(att, B * Hq * Tq * Tk, "attention att", false, true),
          A.f32(q, qn, "attention q", true, false),
          A.f32(k, kn, "attention k", true, false),
          A.f32(v, kn, "attention v", true, false),
          keyStart ? A.i32(keyStart, B, "attention keyStart") : 0,
        ];
        const work = 4 * B * Hq * Tq * Tk * D;
        // One decoding step: a kv head's query heads together (each cached key read once).
        if (Tq === 1) run.run("attnDec", [...args, qOffset, kvStride, Hq, Hkv, D], B * Hkv, 1, work);
        else
          run.run(
            "attnFwd",
            [...args, A.scratch(run.threads * D * Tk), Tq, qOffset, kvStride, Hq, Hkv, D],
            B * Hq,
            1,
            work,
          );
      });
    },
    attentionBackward(dq, dk, dv, dOut, att, q, k, v, dims) {
      const Tk = attnTk(dims);
      const { B, Tq, qOffset, kvStride, Hq, Hkv, D } = dims;
      staged(A, () => {
        const qn = B * Tq * Hq * D,
          kn = B * kvStride * Hkv * D,
          partial = Tk < kvStride;
        const args = [
          A.f32(dq, qn, "attention dq", false, true),
          A.f32(dk, kn, "attention dk", partial, true),
          A.f32(dv, kn, "attention dv", partial, true),
          A.f32(dOut, qn, "attention dOut", true, false),
          A.f32(att, B * Hq * Tq * Tk, "attention att", true, false),
          A.f32(q, qn, "attention q", true, false),
          A.f32(k, kn, "attention k", true, false),
          A.f32(v, kn, "attention v", true, false),
          A.scratch(run.threads * (Tq + D) * Tk),
          Tq,
          qOffset,
          kvStride,
          Hq,
          Hkv,
          D,
        ];
        run.run("attnBwd", args, B * Hkv, 1, 4 * B * Hq * Tq * Tk * D);
      });
    },
  };
}

/** RMSNorm, softmax family, token log-probs. */
type RowOps =
  | "rmsnormForward"
  | "rmsnormBackward"
  | "softmaxForward"
  | "softmaxBackward"
  | "logSoftmaxForward"
  | "logSoftmaxBackward"
  | "tokenLogprobForward"
  | "tokenLogprobBackward";

function rowOps(ex: WasmExports, A: WasmArena, run: Runner): Pick<Ops, RowOps> {
  return {
    rmsnormForward(out, rstd, x, w, N, C, eps) {
      checkDims("rmsnorm", { N, C });
      staged(A, () => {
        const args = [
          A.f32(out, N * C, "rmsnorm out", false, true),
          A.f32(rstd, N, "rmsnorm rstd", false, true),
          A.f32(x, N * C, "rmsnorm x", true, false),
          A.f32(w, C, "rmsnorm w", true, false),
          C,
          eps,
        ];
        run.run("rmsnormFwd", args, N, 8, 4 * N * C);
      });
    },
    rmsnormBackward(dx, dw, dOut, x, w, rstd, N, C) {
      checkDims("rmsnorm", { N, C });
      staged(A, () => {
        // One thread: dw accumulates over all rows.
        ex.rmsnormBwd(
          A.f32(dx, N * C, "rmsnorm dx", false, true),
          A.f32(dw, C, "rmsnorm dw", true, true),
          A.f32(dOut, N * C, "rmsnorm dOut", true, false),
          A.f32(x, N * C, "rmsnorm x", true, false),
          A.f32(w, C, "rmsnorm w", true, false),
          A.f32(rstd, N, "rmsnorm rstd", true, false),
          C,
          0,
          N,
        );
      });
    },
    softmaxForward(out, x, N, V) {
      checkDims("softmax", { N, V });
      staged(A, () => {
        run.run(
          "softmaxFwd",
          [A.f32(out, N * V, "softmax out", false, true), A.f32(x, N * V, "softmax x", true, false), V],
          N,
          4,
          8 * N * V,
        );
      });
    },
    softmaxBackward: refKernels.softmaxBackward,
    logSoftmaxForward: refKernels.logSoftmaxForward,
    logSoftmaxBackward: refKernels.logSoftmaxBackward,
    tokenLogprobForward(out, lse, logits, targets, N, V) {
      checkDims("tokenLogprob", { N, V });
      checkIndex(targets, N, V, "tokenLogprob: target");
      staged(A, () => {
        const args = [
          A.f32(out, N, "tokenLogprob out", false, true),
          A.f32(lse, N, "tokenLogprob lse", false, true),
          A.f32(logits, N * V, "tokenLogprob logits", true, false),
          A.i32(targets, N, "tokenLogprob targets"),
          V,
        ];
        run.run("tokenLogprobFwd", args, N, 4, 8 * N * V);
      });
    },
    tokenLogprobBackward(dLogits, dLogp, logits, lse, targets, N, V) {
      checkDims("tokenLogprob", { N, V });
      checkIndex(targets, N, V, "tokenLogprob: target");
      staged(A, () => {
        const args = [
          A.f32(dLogits, N * V, "tokenLogprob dLogits", false, true),
          A.f32(dLogp, N, "tokenLogprob dLogp", true, false),
          A.f32(logits, N * V, "tokenLogprob logits", true, false),
          A.f32(lse, N, "tokenLogprob lse", true, false),
          A.i32(targets, N, "tokenLogprob targets"),
          V,
        ];
        run.run("tokenLogprobBwd", args, N, 4, 8 * N * V);
      });
    },
  };
}

/** SwiGLU and AdamW. */
function elementOps(
  _ex: WasmExports,
  A: WasmArena,
  run: Runner,
): Pick<Ops, "swigluForward" | "swigluBackward" | "adamw"> {
  return {
    swigluForward(out, gate, up, N) {
      checkDims("swiglu", { N });
      staged(A, () => {
        const args = [
          A.f32(out, N, "swiglu out", false, true),
          A.f32(gate, N, "swiglu gate", true, false),
          A.f32(up, N, "swiglu up", true, false),
        ];
        run.run("swigluFwd", args, N, 1024, 8 * N);
      });
    },
    swigluBackward(dGate, dUp, dOut, gate, up, N) {
      checkDims("swiglu", { N });
      staged(A, () => {
        const args = [
          A.f32(dGate, N, "swiglu dGate", false, true),
          A.f32(dUp, N, "swiglu dUp", false, true),
          A.f32(dOut, N, "swiglu dOut", true, false),
          A.f32(gate, N, "swiglu gate", true, false),
          A.f32(up, N, "swiglu up", true, false),
        ];
        run.run("swigluBwd", args, N, 1024, 12 * N);
      });
    },
    adamw(p, g, m, v, N, o) {
      checkDims("adamw", { N });
      if (!(o.step >= 1)) throw new RangeError(`adamw: step must be >= 1, got ${o.step}`);
      const bc1 = 1 - o.beta1 ** o.step,
        bc2 = 1 - o.beta2 ** o.step,
        decay = 1 - o.lr * o.weightDecay;
      staged(A, () => {
        const args = [
          A.f32(p, N, "adamw p", true, true),
          A.f32(g, N, "adamw g", true, false),
          A.f32(m, N, "adamw m", true, true),
          A.f32(v, N, "adamw v", true, true),
          o.lr,
          o.beta1,
          o.beta2,
          o.eps,
          decay,
          bc1,
          bc2,
          o.gradScale,
        ];
        run.run("adamw", args, N, 1024, 12 * N);
      });
    },
  };
}

/** RoPE (sign +1 forward, -1 backward) in place on x (N, H, D), positions checked first. */
function rope(
  _ex: WasmExports,
  A: WasmArena,
  run: Runner,
  x: Float32Array,
  pos: Int32Array,
  cos: Float32Array,
  sin: Float32Array,
  N: number,
  H: number,
  D: number,
  sign: 1 | -1,
): void {
  checkDims("rope", { N, H, D });
  if (D % 2 !== 0) throw new RangeError(`rope: head dim D must be even, got ${D}`);
  const half = D / 2,
    P = Math.floor(Math.min(cos.length, sin.length) / Math.max(1, half));
  if (pos.length < N) throw new RangeError(`rope: needs ${N} positions, got ${pos.length}`);
  for (let n = 0; n < N; n++) {
    const p = pos[n]!;
    if (!(p >= 0 && p < P)) throw new RangeError(`rope: position ${p} outside the cos/sin tables`);
  }
  staged(A, () => {
    const args = [
      A.f32(x, N * H * D, "rope x", true, true),
      A.i32(pos, N, "rope pos"),
      A.f32(cos, P * half, "rope cos", true, false),
      A.f32(sin, P * half, "rope sin", true, false),
      H,
      D,
      sign,
    ];
    run.run("rope", args, N, 16, 6 * N * H * D);
  });
}
