// Math verification off the reward server's event loop: a few worker threads (math_worker.mjs)
// run `verify`, each with a heap cap, and every task has a wall-clock deadline from the moment a
// worker takes it. A task past its deadline, or one whose worker runs out of memory or dies, gets
// a not-correct verdict with the reason, and its worker is replaced; tasks queued behind it go on.
// Queued tasks are taken round-robin across groups (the reward server makes one group per request),
// so a request of thousands of slow answers delays another request's answers by at most one
// deadline per answer, not by its whole length.
// So however an answer is written, /health and every other request stay served, a verdict is late
// by at most the deadline, and memory is bounded by workers x heap cap. The verifier itself is
// bounded too (math_bounds.ts); the pool is the second wall.
//
//   new MathPool({workers, timeoutMs, maxHeapMb}).verify(completion, gold, opts, group?) -> Promise<Verdict>
import { Worker } from "node:worker_threads";
import { verify } from "./math_verify.ts";
import type { Verdict, VerifyOptions } from "./math_verify.ts";

export interface MathPoolOptions {
  /** Worker threads (default 1). */
  workers?: number;
  /** Deadline of one verification once a worker has taken it, in ms (default 5000). */
  timeoutMs?: number;
  /** Old-generation heap cap of each worker, in MiB (default 256). */
  maxHeapMb?: number;
}

interface Task {
  id: number;
  completion: string;
  gold: string;
  opts: VerifyOptions;
  resolve: (v: Verdict) => void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  started: boolean;
  task: Task | null;
  timer: NodeJS.Timeout | null;
}

const failed = (reason: string): Verdict => ({
  correct: false,
  extracted: null,
  strategy: null,
  method: "none",
  reason,
});

export class MathPool {
  private readonly o: Required<MathPoolOptions>;
  private readonly slots: Slot[] = [];
  /** Waiting tasks by group, in the order groups take turns (a Map keeps insertion order). */
  private readonly groups = new Map<unknown, Task[]>();
  private nextId = 0;
  private closed = false;
  /** Why workers cannot start (then verification runs in-process: bounded, but on the event loop). */
  broken: string | null = null;

  constructor(opts: MathPoolOptions = {}) {
    this.o = { workers: 1, timeoutMs: 5000, maxHeapMb: 256, ...opts };
    for (let i = 0; i < this.o.workers; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(new URL("./math_worker.mjs", import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.o.maxHeapMb, maxYoungGenerationSizeMb: 32 },
      stdout: false,
      stderr: true,
    });
    worker.unref();
    let onReady: () => void = () => {};
    const slot: Slot = {
      worker,
      ready: new Promise<void>((r) => (onReady = r)),
      started: false,
      task: null,
      timer: null,
    };
    worker.on("message", (m: { ready?: true; id?: number; verdict?: Verdict }) => {
      if (m.ready) {
        slot.started = true;
        onReady();
        return;
      }
      if (slot.task && m.id === slot.task.id) this.finish(slot, m.verdict as Verdict);
    });
    worker.on("error", (e) => this.replace(slot, failed(`the verifier worker failed: ${e.message.slice(0, 200)}`)));
    worker.on("exit", () => this.replace(slot, failed("the verifier worker exited")));
    return slot;
  }

  /** Ends a slot's task with `verdict` and starts the next queued one. */
  private finish(slot: Slot, verdict: Verdict): void {
    if (slot.timer) clearTimeout(slot.timer);
    const t = slot.task;
    slot.task = null;
    slot.timer = null;
    t?.resolve(verdict);
    this.pump();
  }

  /** A worker that is late, crashed or exited: its task fails with `verdict`, a fresh worker takes its place. */
  private replace(slot: Slot, verdict: Verdict): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    if (slot.timer) clearTimeout(slot.timer);
    const t = slot.task;
    slot.task = null;
    void slot.worker.terminate();
    if (!slot.started && !this.closed) {
      // a worker that cannot even start would be respawned forever: verify in-process instead
      this.broken = verdict.reason ?? "the verifier worker did not start";
      process.stderr.write(`warning: math verifier workers unavailable (${this.broken}); verifying in-process\n`);
    }
    if (this.closed || this.broken !== null) this.slots.splice(i, 1);
    else this.slots[i] = this.spawn();
    if (t && this.broken !== null && !slot.started) t.resolve(verify(t.completion, t.gold, t.opts));
    else t?.resolve(verdict);
    this.pump();
  }

  private pump(): void {
    if (this.broken !== null && this.slots.length === 0)
      for (let t = this.take(); t; t = this.take()) t.resolve(verify(t.completion, t.gold, t.opts));
    for (const slot of this.slots) {
      if (slot.task !== null || this.closed) continue;
      const task = this.take();
      if (!task) break;
      slot.task = task;
      void slot.ready.then(() => {
        if (slot.task !== task) return;
        slot.timer = setTimeout(
          () => this.replace(slot, failed(`verification took longer than ${this.o.timeoutMs} ms (not correct)`)),
          this.o.timeoutMs,
        );
        slot.worker.postMessage({ id: task.id, completion: task.completion, gold: task.gold, opts: task.opts });
      });
    }
  }

  /** The next task: the first of the group whose turn it is; that group then goes to the back. */
  private take(): Task | undefined {
    for (const [g, q] of this.groups) {
      const t = q.shift();
      this.groups.delete(g);
      if (q.length > 0) this.groups.set(g, q);
      if (t) return t;
    }
    return undefined;
  }

  /** The verdict of `verify(completion, gold, opts)`, computed in a worker under the deadline;
   *  `group` (e.g. one per request) shares the workers fairly with other groups. */
  verify(completion: string, gold: string, opts: VerifyOptions = {}, group: unknown = null): Promise<Verdict> {
    if (this.closed) return Promise.resolve(failed("the verifier pool is closed"));
    return new Promise((resolve) => {
      const q = this.groups.get(group);
      const task = { id: this.nextId++, completion, gold, opts, resolve };
      if (q) q.push(task);
      else this.groups.set(group, [task]);
      this.pump();
    });
  }

  /** Stops every worker; queued and running tasks get a not-correct verdict. */
  async close(): Promise<void> {
    this.closed = true;
    for (let t = this.take(); t; t = this.take()) t.resolve(failed("the verifier pool is closed"));
    const slots = this.slots.splice(0);
    for (const s of slots) {
      if (s.timer) clearTimeout(s.timer);
      s.task?.resolve(failed("the verifier pool is closed"));
      s.task = null;
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
