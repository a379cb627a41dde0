// Running WebAssembly kernel calls on one thread or split over two: the main thread and ONE
// worker_threads Worker that instantiates the same module over the same shared memory. (Two
// threads on a two-core machine; a third spinning thread makes both collapse.)
//
// Protocol, over a small control SharedArrayBuffer (Int32 slots, then Float64 arguments). A call
// over [0, total) is cut in two halves at a multiple of `grain`; the second half is the main
// thread's, the first is the worker's unless the main thread takes it back:
//   main:   writes the export index and arguments, opens the claim (CLAIM = seq), publishes
//           SEQ = seq and notifies; runs its half; then tries to claim the first half itself
//           (compareExchange CLAIM seq -> 0). If it gets it, the worker was not running
//           (descheduled on a busy machine, or asleep) and the main thread runs it: no wait.
//           Otherwise it waits until DONE == seq: a short spin, then Atomics.wait in slices, up to
//           a deadline (max(minWaitMs, 50 x its own half's time)). If the worker caught an
//           exception it set ERR and posted the message on a MessagePort, which the main thread
//           reads synchronously (receiveMessageOnPort) and throws as a RecapError.
//   worker (wasm/worker.mjs): spins on SEQ for `spinMs` after each job, then sleeps in
//           Atomics.wait; claims the first half (compareExchange CLAIM seq -> -seq), runs it,
//           stores DONE = seq and notifies.
// Results do not depend on who runs which half: every kernel computes each output element the
// same way whatever its range. The worker is started once (synchronously: the constructor waits
// for it to be ready), is unref'd so it never keeps the process alive, and is stopped by
// dispose(). A worker that misses the deadline is terminated and the pool refuses further split
// work (its outputs could otherwise be written late), so nothing can hang.
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from "node:worker_threads";
import { RecapError } from "../util/errors.ts";
import { SPLIT_EXPORTS, type SplitExport, type WasmExports, type WasmMemory, type WasmModule } from "./wasm_module.ts";

const SEQ = 0,
  DONE = 1,
  ERR = 2,
  READY = 3,
  FN = 4,
  NARGS = 5,
  CLAIM = 6;
const ARGS_BYTE_OFFSET = 64,
  MAX_ARGS = 32;

/** Runs split exports: fn(...args, s, e, tid) over [0, total). */
export interface Runner {
  readonly threads: number;
  /** `grain`: split points are multiples of it; `work`: a cost estimate (flops) to decide
   *  whether splitting pays. */
  run(fn: SplitExport, args: number[], total: number, grain: number, work: number): void;
  dispose(): void;
}

/** Everything on the calling thread. */
export class InlineRunner implements Runner {
  readonly threads = 1;
  constructor(private readonly ex: WasmExports) {}
  run(fn: SplitExport, args: number[], total: number): void {
    if (total > 0) (this.ex[fn] as (...a: number[]) => void)(...args, 0, total, 0);
  }
  dispose(): void {}
}

export interface PoolOptions {
  /** How long the worker spins after a job before it sleeps (ms). Default 1: long enough to
   *  bridge the gaps between the kernel calls of a step, short enough not to hold a core idle. */
  spinMs?: number;
  /** Minimum deadline for the worker's half (ms). Default 30000. */
  minWaitMs?: number;
  /** Calls estimated below this many flops run on the main thread alone. Default 1e6 (about
   *  25 us on one thread: below that the hand-off costs more than half the work saves). */
  minWork?: number;
  /** How long to wait for the worker to start (ms). Default 20000. */
  startTimeoutMs?: number;
  /** Pause splitting while it does not pay (see noteSpeed). Default true; tests that must
   *  exercise the split path turn it off. */
  adaptive?: boolean;
  /** The worker script (tests substitute misbehaving ones). Default wasm/worker.mjs. */
  workerUrl?: URL;
}

export class WorkerPool implements Runner {
  readonly threads = 2;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly ctl: Int32Array; // control slots
  private readonly args: Float64Array; // (MAX_ARGS) arguments of the current job
  private seq = 0;
  private broken: string | undefined;
  /** Moving average of the speedup of recent split calls (2 x the main thread's half / the
   *  whole call); when it drops too low, splitting pauses (see noteSpeed). */
  private speed = 1.5;
  private backoffMs = 0;
  private pausedUntil = 0;
  private disposed = false;
  private readonly o: Required<PoolOptions>;
  private readonly fnIndex = new Map<string, number>(SPLIT_EXPORTS.map((n, i) => [n, i]));

  constructor(
    private readonly ex: WasmExports,
    module: WasmModule,
    memory: WasmMemory,
    opts: PoolOptions = {},
  ) {
    this.o = {
      spinMs: 1,
      minWaitMs: 30_000,
      minWork: 1e6,
      startTimeoutMs: 20_000,
      adaptive: true,
      workerUrl: new URL("./wasm/worker.mjs", import.meta.url),
      ...opts,
    };
    const control = new SharedArrayBuffer(ARGS_BYTE_OFFSET + MAX_ARGS * 8);
    this.ctl = new Int32Array(control, 0, ARGS_BYTE_OFFSET / 4);
    this.args = new Float64Array(control, ARGS_BYTE_OFFSET, MAX_ARGS);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(this.o.workerUrl, {
      workerData: { module, memory, control, names: [...SPLIT_EXPORTS], port: port2, spinMs: this.o.spinMs },
      transferList: [port2],
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    this.worker.unref();
    this.port.unref();
    // Between calls the event loop may deliver these; a dead worker then fails the next call fast.
    this.worker.on("error", (e) => {
      this.broken ??= `the kernel worker failed: ${e.message}`;
    });
    this.worker.on("exit", (code) => {
      if (!this.disposed) this.broken ??= `the kernel worker exited (code ${code})`;
    });
    this.waitReady();
  }

  private waitReady(): void {
    const deadline = performance.now() + this.o.startTimeoutMs;
    while (Atomics.load(this.ctl, READY) === 0) {
      if (performance.now() > deadline) {
        void this.worker.terminate();
        throw new RecapError(
          `the kernel worker did not start within ${this.o.startTimeoutMs} ms`,
          "use --kernels wasm",
        );
      }
      Atomics.wait(this.ctl, READY, 0, 50);
    }
    if (Atomics.load(this.ctl, READY) < 0) {
      const msg = receiveMessageOnPort(this.port)?.message;
      void this.worker.terminate();
      throw new RecapError(`the kernel worker failed to start: ${String(msg)}`, "use --kernels wasm");
    }
  }

  run(fn: SplitExport, args: number[], total: number, grain: number, work: number): void {
    if (total <= 0) return;
    const f = this.ex[fn] as (...a: number[]) => void;
    if (this.disposed || total < 2 * grain || work < this.o.minWork || (this.pausedUntil > 0 && this.paused())) {
      f(...args, 0, total, 0);
      return;
    }
    if (this.broken) throw new RecapError(this.broken, "rerun with --kernels wasm (one thread)");
    if (args.length + 3 > MAX_ARGS) throw new RangeError(`too many arguments for ${fn}`);
    const t0 = performance.now();
    const mid = Math.max(grain, Math.min(total - grain, Math.round(total / 2 / grain) * grain));
    const a = this.args,
      ctl = this.ctl;
    for (let i = 0; i < args.length; i++) a[i] = args[i]!;
    a[args.length] = 0;
    a[args.length + 1] = mid;
    a[args.length + 2] = 1; // the worker is thread 1
    ctl[FN] = this.fnIndex.get(fn)!;
    ctl[NARGS] = args.length + 3;
    const seq = (this.seq = (this.seq % 0x7ffe) + 1);
    Atomics.store(ctl, CLAIM, seq); // the first half is open to whoever claims it
    Atomics.store(ctl, SEQ, seq);
    Atomics.notify(ctl, SEQ, 1);
    let mainError: unknown,
      t1 = t0;
    try {
      f(...args, mid, total, 0);
      t1 = performance.now();
      // The worker has not started its half (descheduled, asleep): take it.
      if (Atomics.compareExchange(ctl, CLAIM, seq, 0) === seq) {
        f(...args, 0, mid, 0);
        this.noteSpeed(t0, t1, mid, total);
        return;
      }
    } catch (e) {
      // Keep the worker off this job; if it never started, there is nothing to wait for.
      if (Atomics.compareExchange(ctl, CLAIM, seq, 0) === seq) throw e;
      mainError = e;
    }
    this.waitDone(seq, t1 - t0);
    this.noteSpeed(t0, t1, mid, total);
    if (mainError !== undefined) throw mainError;
    if (Atomics.load(ctl, ERR) !== 0) {
      Atomics.store(ctl, ERR, 0);
      const msg = receiveMessageOnPort(this.port)?.message;
      throw new RecapError(
        `the kernel worker failed in ${fn}: ${String(msg ?? "unknown error")}`,
        "rerun with --kernels wasm (one thread)",
      );
    }
  }

  /** On a busy machine the worker is often descheduled: the main thread then runs both halves
   *  (no gain, plus the hand-off) or waits for a half the worker started (a loss), and the
   *  worker's spinning takes CPU from everything else. When the recent speedup of split calls
   *  falls below 1.15x, run on the main thread alone for a while (100 ms, doubling up to 3 s
   *  while it stays low), then try two threads again. */
  private noteSpeed(t0: number, t1: number, mid: number, total: number): void {
    if (!this.o.adaptive) return;
    const whole = performance.now() - t0,
      own = t1 - t0;
    if (!(whole > 0)) return;
    const speedup = (own * (total / (total - mid))) / whole;
    this.speed = 0.9 * this.speed + 0.1 * Math.min(speedup, 2.5);
    if (this.speed < 1.15) {
      this.backoffMs = Math.min(3000, this.backoffMs ? 2 * this.backoffMs : 100);
      this.pausedUntil = performance.now() + this.backoffMs;
      this.speed = 1.5;
    } else if (this.speed > 1.4) {
      this.backoffMs = 0;
    }
  }

  private paused(): boolean {
    if (performance.now() < this.pausedUntil) return true;
    this.pausedUntil = 0;
    return false;
  }

  /** Waits until the worker has finished job `seq` (which it claimed): spin briefly, then
   *  sleep in slices, up to the deadline. */
  private waitDone(seq: number, ownMs: number): void {
    const ctl = this.ctl;
    for (let i = 0; i < 20_000; i++) if (Atomics.load(ctl, DONE) === seq) return;
    const limit = Math.max(this.o.minWaitMs, 50 * ownMs);
    const start = performance.now();
    for (let cur = Atomics.load(ctl, DONE); cur !== seq; cur = Atomics.load(ctl, DONE)) {
      if (performance.now() - start > limit) {
        this.broken = `the kernel worker did not answer within ${Math.round(limit)} ms`;
        void this.worker.terminate();
        throw new RecapError(this.broken, "rerun with --kernels wasm (one thread)");
      }
      Atomics.wait(ctl, DONE, cur, 5);
    }
  }

  /** Stops the worker; later calls run on the main thread alone. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctl, SEQ, -1);
    Atomics.notify(this.ctl, SEQ);
    void this.worker.terminate();
    this.port.close();
  }
}
