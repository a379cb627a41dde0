// The second thread of the `wasm-threads` kernels (see ../wasm_pool.ts for the protocol). Plain
// JavaScript on purpose: it runs in a worker_threads Worker, where the TypeScript loader of the
// main thread is not installed. It instantiates the kernel module over the shared memory, then
// loops: wait for a job (spin for spinMs, then sleep), claim the job's first half unless the main
// thread already took it, call the named export on it, report completion. Exceptions are caught
// and reported, never thrown out of the loop.
import { workerData } from "node:worker_threads";

const SEQ = 0, DONE = 1, ERR = 2, READY = 3, FN = 4, NARGS = 5, CLAIM = 6;
const { module, memory, control, names, port, spinMs } = workerData;
const ctl = new Int32Array(control, 0, 16);
const args = new Float64Array(control, 64, 32);

function report(e) {
  port.postMessage(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
}

let fns = [];
try {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  fns = names.map((n) => inst.exports[n]);
  Atomics.store(ctl, READY, 1);
} catch (e) {
  report(e);
  Atomics.store(ctl, READY, -1);
}
Atomics.notify(ctl, READY);

/** The next job's sequence number (or -1 to stop), once it differs from `last`. */
function nextJob(last) {
  const t0 = performance.now();
  let seq = Atomics.load(ctl, SEQ);
  for (let i = 1; seq === last; i++) {
    if ((i & 1023) === 0 && performance.now() - t0 > spinMs) break;
    seq = Atomics.load(ctl, SEQ);
  }
  while (seq === last) {
    Atomics.wait(ctl, SEQ, last, 1000);
    seq = Atomics.load(ctl, SEQ);
  }
  return seq;
}

let last = 0;
while (fns.length > 0) {
  const seq = nextJob(last);
  if (seq < 0) break;
  last = seq;
  // The arguments were written before SEQ; they stay valid while the claim is open.
  const n = ctl[NARGS];
  const a = new Array(n);
  for (let i = 0; i < n; i++) a[i] = args[i];
  const fn = fns[ctl[FN]];
  if (Atomics.compareExchange(ctl, CLAIM, seq, -seq) !== seq) continue; // the main thread took it
  try {
    fn(...a);
  } catch (e) {
    report(e);
    Atomics.store(ctl, ERR, 1);
  }
  Atomics.store(ctl, DONE, seq);
  Atomics.notify(ctl, DONE);
}
