// The allocation stack of the WebAssembly kernels inside their shared linear memory (the
// `alloc/mark/release` of the kernel contract), and the staging of arguments for a call.
// - Allocations are 64-byte aligned (one cache line; v128 loads need only 16), zeroed, and the
//   memory grows on demand. The memory is shared, so its buffer is a SharedArrayBuffer, which
//   never detaches: views made before a grow stay valid (each grow hands out a new buffer
//   object over the same memory; the arena remembers all of them to recognise its own views).
// - Arrays that are not views of this memory ("foreign" arrays) are still accepted: a call copies
//   them into scratch space on the stack, runs, copies outputs back and frees the scratch.
//   Correct, but it costs a copy of every foreign argument on every call.
import { RecapError } from "../util/errors.ts";
import { MAX_PAGES, PAGE, type WasmMemory } from "./wasm_module.ts";

const ALIGN = 64;

export class WasmArena {
  readonly memory: WasmMemory;
  private buf: ArrayBuffer | SharedArrayBuffer;
  private readonly bufs = new Set<ArrayBufferLike>();
  private readonly base: number;
  private top: number;
  /** Highest top ever reached: memory above it has never been handed out and is still zero. */
  private dirty: number;
  /** Pending copy-backs of foreign outputs for the current call. */
  private readonly outs: { from: Float32Array; to: Float32Array }[] = [];
  private callMark = -1;

  constructor(memory: WasmMemory, base: number) {
    this.memory = memory;
    this.buf = memory.buffer;
    this.bufs.add(this.buf);
    this.base = Math.ceil(base / ALIGN) * ALIGN;
    this.top = this.base;
    this.dirty = this.base;
  }

  /** Bytes of linear memory in use by the stack. */
  get used(): number {
    return this.top - this.base;
  }

  /** Current size of the linear memory in bytes. */
  get size(): number {
    return this.memory.buffer.byteLength;
  }

  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    if (!Number.isInteger(mark) || mark < this.base)
      throw new RangeError(`release: ${mark} is not a mark of this allocator`);
    if (mark < this.top) this.top = mark; // a mark above the top was already released
  }

  /** Reserves n bytes (aligned) and returns the byte offset, growing the memory if needed. */
  private reserve(bytes: number): number {
    const p = this.top;
    const end = p + Math.ceil(bytes / ALIGN) * ALIGN;
    if (end > this.buf.byteLength) this.grow(end);
    this.top = end;
    return p;
  }

  private grow(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      // Grow by at least a quarter of the current size so repeated small growths stay rare.
      const need = Math.ceil((end - have) / PAGE);
      const pages = Math.min(Math.max(need, Math.ceil(have / PAGE / 4)), MAX_PAGES - have / PAGE);
      if (pages < need) {
        throw new RecapError(
          `the WebAssembly kernels ran out of memory: ${Math.ceil(end / 2 ** 20)} MiB needed, 4096 MiB is the limit`,
          "use a smaller batch or model, or --kernels ref",
        );
      }
      this.memory.grow(pages);
    }
    this.buf = this.memory.buffer;
    this.bufs.add(this.buf);
  }

  /** A zeroed Float32Array of n elements in linear memory. */
  alloc(n: number): Float32Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`alloc: size must be a non-negative integer, got ${n}`);
    const p = this.reserve(n * 4);
    const a = new Float32Array(this.buf, p, n); // (n)
    if (p < this.dirty) a.fill(0, 0, Math.min(n, (this.dirty - p) / 4));
    this.dirty = Math.max(this.dirty, this.top);
    return a;
  }

  /** A Float32Array of n elements in linear memory with unspecified contents. */
  allocUninit(n: number): Float32Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`alloc: size must be a non-negative integer, got ${n}`);
    const p = this.reserve(n * 4);
    this.dirty = Math.max(this.dirty, this.top);
    return new Float32Array(this.buf, p, n); // (n)
  }

  /** An Int32Array of n elements in linear memory (not zeroed: callers fill it). */
  allocI32(n: number): Int32Array {
    const p = this.reserve(n * 4);
    this.dirty = Math.max(this.dirty, this.top);
    return new Int32Array(this.buf, p, n);
  }

  /** Whether x is a view of this memory. */
  owns(x: ArrayBufferView): boolean {
    return this.bufs.has(x.buffer);
  }

  // ---- staging of one call: begin(), f32()/i32() per argument, end() in a finally ----

  begin(): void {
    this.callMark = this.top;
    this.outs.length = 0;
  }

  /** Pointer to the first n floats of x for the current call; a foreign x is copied in when
   *  `copyIn`, and copied back at end() when `copyOut`. */
  f32(x: Float32Array, n: number, what: string, copyIn: boolean, copyOut: boolean): number {
    if (x.length < n) throw new RangeError(`${what}: needs ${n} elements, got an array of ${x.length}`);
    if (this.bufs.has(x.buffer)) return x.byteOffset;
    const p = this.reserve(n * 4);
    const s = new Float32Array(this.buf, p, n); // (n) staging copy
    if (copyIn) s.set(x.subarray(0, n));
    if (copyOut) this.outs.push({ from: s, to: x });
    this.dirty = Math.max(this.dirty, this.top);
    return p;
  }

  /** Pointer to the first n ints of x for the current call (inputs only). */
  i32(x: Int32Array, n: number, what: string): number {
    if (x.length < n) throw new RangeError(`${what}: needs ${n} elements, got an array of ${x.length}`);
    if (this.bufs.has(x.buffer)) return x.byteOffset;
    const s = this.allocI32(n); // (n) staging copy
    s.set(x.subarray(0, n));
    return s.byteOffset;
  }

  /** Scratch space of n floats for the current call (not zeroed). */
  scratch(n: number): number {
    const p = this.reserve(n * 4);
    this.dirty = Math.max(this.dirty, this.top);
    return p;
  }

  /** Copies foreign outputs back (only when the call succeeded) and frees the call's staging. */
  end(ok: boolean): void {
    if (ok) for (const { from, to } of this.outs) to.set(from);
    this.outs.length = 0;
    if (this.callMark >= 0) this.release(this.callMark);
    this.callMark = -1;
  }
}
