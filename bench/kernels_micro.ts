// `node --import tsx bench/kernels_micro.ts [--kernels wasm-fma] [--json]`: single kernels on one
// kernel set, operands in kernel memory, repeated calls: GFLOP/s of the matmul shapes of a tiny
// training step, and the attention forward / backward of a 16 x 256-token batch (4 heads, 2 kv
// heads, D = 32, causal). For comparing commits side by side: run it on each in one session.
import { Rng } from "../src/engine/rng.ts";
import { disposeKernels, selectKernels } from "../src/engine/select.ts";

const args = process.argv.slice(2);
const name = args.includes("--kernels") ? args[args.indexOf("--kernels") + 1]! : "wasm-fma";
const k = selectKernels(name);
const rng = new Rng(3);
const fill = (a: Float32Array) => {
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  return a;
};
const out: Record<string, number> = {};

const SHAPES: [number, number, number, boolean, boolean][] = [
  [2048, 128, 384, false, true],
  [2048, 384, 128, false, false],
  [384, 2048, 128, true, false],
  [128, 2048, 384, true, false],
];
for (const [M, K, N, tA, tB] of SHAPES) {
  const mark = k.mark();
  const a = fill(k.alloc(M * K)),
    b = fill(k.alloc(K * N)),
    c = k.alloc(M * N);
  const flops = 2 * M * K * N,
    reps = Math.max(5, Math.round(3e9 / flops));
  for (let i = 0; i < 5; i++) k.matmul(c, a, b, M, K, N, tA, tB, false);
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) k.matmul(c, a, b, M, K, N, tA, tB, false);
  out[`matmul ${tA ? "T" : "N"}${tB ? "T" : "N"} ${M}x${K}x${N} GFLOP/s`] =
    flops / (((performance.now() - t0) / reps) * 1e6);
  k.release(mark);
}

const B = 16,
  T = 256,
  H = 4,
  Hkv = 2,
  D = 32;
const d = { B, Tq: T, qOffset: 0, kvStride: T, Hq: H, Hkv, D };
const q = fill(k.alloc(B * T * H * D)),
  kk = fill(k.alloc(B * T * Hkv * D)),
  v = fill(k.alloc(B * T * Hkv * D));
const o = k.alloc(B * T * H * D),
  att = k.alloc(B * H * T * T),
  g = fill(k.alloc(B * T * H * D));
const dq = k.alloc(B * T * H * D),
  dk = k.alloc(B * T * Hkv * D),
  dv = k.alloc(B * T * Hkv * D);
const time = (f: () => void) => {
  for (let i = 0; i < 3; i++) f();
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) f();
  return (performance.now() - t0) / 10;
};
out["attention forward 16x256 ms"] = time(() => k.attentionForward(o, att, q, kk, v, d));
out["attention backward 16x256 ms"] = time(() => k.attentionBackward(dq, dk, dv, g, att, q, kk, v, d));

if (args.includes("--json")) process.stdout.write(JSON.stringify({ kernels: k.name, ...out }, null, 2) + "\n");
else
  for (const [key, val] of Object.entries(out))
    process.stderr.write(`[${k.name}] ${key.padEnd(40)} ${val.toFixed(2)}\n`);
disposeKernels();
