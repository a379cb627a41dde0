// The safetensors file format: an 8-byte little-endian u64 header length N, N bytes of JSON header
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {key: string}}, padded with
// spaces to a multiple of 8), then the data buffer, with offsets relative to its start. Also the
// IEEE half (F16) and bfloat16 (BF16) <-> float32 conversions, which the GGUF exporter reuses.
import { RecapError } from "../util/errors.ts";

export type SafetensorsDtype = "F32" | "F16" | "BF16" | "I32" | "I64";

/** A tensor to encode. F16/BF16 data may be raw bits (Uint16Array) or floats to convert (Float32Array). */
export interface TensorToEncode {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint16Array;
}

/** A decoded tensor; F16 and BF16 come back converted to Float32Array, `dtype` says what was stored. */
export type DecodedTensor =
  | { dtype: "F32" | "F16" | "BF16"; shape: number[]; data: Float32Array }
  | { dtype: "I32"; shape: number[]; data: Int32Array }
  | { dtype: "I64"; shape: number[]; data: BigInt64Array };

export interface DecodedSafetensors {
  /** Tensors in the order they are stored in the buffer. */
  tensors: Map<string, DecodedTensor>;
  metadata: Record<string, string>;
}

export const DTYPE_SIZE: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 };
/** Dtypes the safetensors spec defines that this module does not read. */
const OTHER_DTYPES = new Set(["BOOL", "U8", "I8", "U16", "I16", "U32", "U64", "F64", "F8_E4M3", "F8_E5M2"]);
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// Half-precision conversions (round to nearest, ties to even; subnormals; +-inf; NaN stays NaN).

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Float32 bit pattern of `x` (x is first rounded to float32). */
function f32Bits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0]!;
}

function fromF32Bits(bits: number): number {
  u32Scratch[0] = bits >>> 0;
  return f32Scratch[0]!;
}

/** Rounds q + rem/2^shift to the nearest integer, ties to even. */
function roundShifted(q: number, rem: number, shift: number): number {
  const half = 2 ** (shift - 1);
  return rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
}

/** IEEE binary16 bits of a number (rounded first to float32, then to half, ties to even). */
export function f32ToF16Bits(x: number): number {
  const bits = f32Bits(x);
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13); // inf / quiet NaN
  const e = exp - 127 + 15; // biased half exponent
  if (e >= 0x1f) return sign | 0x7c00; // too large: overflow to infinity
  if (e <= 0) {
    // Half subnormal (or zero): value = M * 2^-24 / 2^shift with M the 24-bit significand.
    const shift = 14 - e;
    if (shift > 24) return sign; // below half the smallest subnormal: rounds to zero
    const m = mant | 0x800000;
    const q = m >>> shift;
    return sign | roundShifted(q, m & ((1 << shift) - 1), shift);
  }
  // Normal; a carry out of the mantissa correctly bumps the exponent (up to infinity).
  return sign | roundShifted((e << 10) | (mant >>> 13), mant & 0x1fff, 13);
}

/** The number an IEEE binary16 bit pattern stands for. */
export function f16BitsToF32(h: number): number {
  const sign = (h & 0x8000) !== 0 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero or subnormal (exact in float32)
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return fromF32Bits(((h & 0x8000) << 16) | ((exp - 15 + 127) << 23) | (mant << 13));
}

/** bfloat16 bits of a number (rounded first to float32, then to bfloat16, ties to even). */
export function f32ToBf16Bits(x: number): number {
  const bits = f32Bits(x);
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff; // quiet NaN
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1); // at most 0xff807fff: no 32-bit overflow
  return (rounded >>> 16) & 0xffff;
}

/** The number a bfloat16 bit pattern stands for. */
export function bf16BitsToF32(b: number): number {
  return fromF32Bits((b & 0xffff) << 16);
}

export function f32ArrayToF16(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = f32ToF16Bits(a[i]!);
  return out;
}

export function f16ArrayToF32(a: Uint16Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = f16BitsToF32(a[i]!);
  return out;
}

export function f32ArrayToBf16(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = f32ToBf16Bits(a[i]!);
  return out;
}

export function bf16ArrayToF32(a: Uint16Array): Float32Array {
  const out = new Float32Array(a.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < a.length; i++) u[i] = a[i]! << 16;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding.

function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The tensor's little-endian bytes in its dtype; throws on a data/dtype/shape mismatch. */
function tensorBytes(name: string, t: TensorToEncode): Uint8Array {
  let data: TensorToEncode["data"] = t.data;
  const ok =
    (t.dtype === "F32" && data instanceof Float32Array) ||
    ((t.dtype === "F16" || t.dtype === "BF16") && (data instanceof Uint16Array || data instanceof Float32Array)) ||
    (t.dtype === "I32" && data instanceof Int32Array) ||
    (t.dtype === "I64" && data instanceof BigInt64Array);
  if (!ok)
    throw new Error(`encodeSafetensors: tensor "${name}" has dtype ${t.dtype} but ${data.constructor.name} data`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || numelOf(t.shape) !== data.length)
    throw new Error(`encodeSafetensors: tensor "${name}" has ${data.length} values but shape [${t.shape.join(", ")}]`);
  if (data instanceof Float32Array && t.dtype !== "F32")
    data = t.dtype === "F16" ? f32ArrayToF16(data) : f32ArrayToBf16(data);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return LITTLE_ENDIAN_HOST ? bytes : byteSwapped(bytes, DTYPE_SIZE[t.dtype]);
}

/** Reverses the bytes of each `size`-byte element (for big-endian hosts). */
function byteSwapped(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j]!;
  return out;
}

/** Serialises tensors (stored contiguously, in the given order) and optional string metadata. */
export function encodeSafetensors(
  tensors: Record<string, TensorToEncode>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>; // "__proto__" is a legal name
  if (metadata) header["__metadata__"] = { ...metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === "__metadata__")
      throw new Error(`encodeSafetensors: "__metadata__" is reserved and cannot name a tensor`);
    const bytes = tensorBytes(name, t);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8; // the rest of the header stays spaces (0x20)
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.fill(0x20, 8, 8 + padded);
  out.set(json, 8);
  let pos = 8 + padded;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding, with one-line errors that name the file.

const REWRITE_HINT = "the file is damaged or was not written as safetensors: re-export or re-save it";

function fail(where: string, problem: string, hint = REWRITE_HINT): never {
  throw new RecapError(`${where}: ${problem}`, hint);
}

/** Reads the header length and parses the JSON header into a plain object. */
function readHeader(bytes: Uint8Array, where: string): { header: Record<string, unknown>; bufStart: number } {
  if (bytes.length < 8)
    fail(where, `is only ${bytes.length} bytes, shorter than the 8-byte safetensors header length (truncated file?)`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES))
    fail(where, `header length ${n} is absurd (more than ${MAX_HEADER_BYTES} bytes); this is not a safetensors file`);
  if (8n + n > BigInt(bytes.length))
    fail(where, `header length ${n} runs beyond the end of the ${bytes.length}-byte file (truncated file?)`);
  const len = Number(n);
  let text: string;
  let parsed: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + len));
  } catch {
    fail(where, "header is not valid UTF-8");
  }
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    fail(where, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    fail(where, "header JSON is not an object of tensor entries");
  return { header: parsed as Record<string, unknown>, bufStart: 8 + len };
}

function readMetadata(raw: unknown, where: string): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(where, `"__metadata__" is not an object`);
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "string") fail(where, `"__metadata__" value for "${k}" is not a string`);
    pairs.push([k, v]);
  }
  return Object.fromEntries(pairs);
}

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Validates one header entry's dtype, shape and offsets against the buffer length. */
function readEntry(name: string, raw: unknown, bufLen: number, where: string): Entry {
  const t = `tensor "${name}"`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(where, `${t}: header entry is not an object`);
  const { dtype, shape, data_offsets: offs } = raw as Record<string, unknown>;
  if (typeof dtype !== "string" || !(dtype in DTYPE_SIZE)) {
    const what = typeof dtype === "string" && OTHER_DTYPES.has(dtype) ? "unsupported" : "unknown";
    fail(
      where,
      `${t} has ${what} dtype ${JSON.stringify(dtype)} (supported: F32, F16, BF16, I32, I64)`,
      "re-save the tensor as F32 (e.g. with torch: tensor.float())",
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    fail(where, `${t} has shape ${JSON.stringify(shape)}, which is not an array of non-negative integers`);
  const count = numelOf(shape as number[]);
  const size = DTYPE_SIZE[dtype as SafetensorsDtype];
  if (!Number.isSafeInteger(count * size)) fail(where, `${t} has absurd shape [${shape.join(", ")}]`);
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0))
    fail(where, `${t} has data_offsets ${JSON.stringify(offs)}, expected two non-negative integers [begin, end]`);
  const [begin, end] = offs as [number, number];
  if (end < begin) fail(where, `${t} has data_offsets [${begin}, ${end}] with end before begin`);
  if (end > bufLen)
    fail(where, `${t} has data_offsets [${begin}, ${end}] beyond the ${bufLen}-byte data buffer (truncated file?)`);
  if (end - begin !== count * size)
    fail(where, `${t} spans ${end - begin} bytes but dtype ${dtype} shape [${shape.join(", ")}] needs ${count * size}`);
  return { name, dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], begin, end };
}

/** Checks the tensors tile the buffer exactly: no overlaps, no gaps, no trailing bytes. */
function checkCoverage(entries: Entry[], bufLen: number, where: string): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev = "the start of the data buffer";
  for (const e of entries) {
    if (e.begin < cursor) fail(where, `tensor "${e.name}" (bytes ${e.begin}..${e.end}) overlaps ${prev}`);
    if (e.begin > cursor)
      fail(
        where,
        `gap of ${e.begin - cursor} unused bytes between ${prev} and tensor "${e.name}" (the spec requires the buffer to be fully covered)`,
      );
    cursor = e.end;
    prev = `tensor "${e.name}"`;
  }
  if (cursor < bufLen)
    fail(
      where,
      `${bufLen - cursor} trailing bytes after the last tensor (the spec requires the buffer to be fully covered)`,
    );
}

/** Copies `bytes` (little-endian) into a fresh, aligned typed array of the entry's dtype. */
function toTyped(entry: Entry, bytes: Uint8Array): DecodedTensor {
  const size = DTYPE_SIZE[entry.dtype];
  const buf = (LITTLE_ENDIAN_HOST ? bytes.slice() : byteSwapped(bytes, size)).buffer;
  const shape = entry.shape;
  switch (entry.dtype) {
    case "F32":
      return { dtype: "F32", shape, data: new Float32Array(buf) };
    case "F16":
      return { dtype: "F16", shape, data: f16ArrayToF32(new Uint16Array(buf)) };
    case "BF16":
      return { dtype: "BF16", shape, data: bf16ArrayToF32(new Uint16Array(buf)) };
    case "I32":
      return { dtype: "I32", shape, data: new Int32Array(buf) };
    case "I64":
      return { dtype: "I64", shape, data: new BigInt64Array(buf) };
  }
}

/** Parses and fully validates a safetensors file; `where` (the file's path) prefixes every error. */
export function decodeSafetensors(bytes: Uint8Array, where: string): DecodedSafetensors {
  const { header, bufStart } = readHeader(bytes, where);
  const bufLen = bytes.length - bufStart;
  const metadata = readMetadata(header["__metadata__"], where);
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name !== "__metadata__") entries.push(readEntry(name, raw, bufLen, where));
  }
  checkCoverage(entries, bufLen, where);
  const tensors = new Map<string, DecodedTensor>();
  for (const e of entries) tensors.set(e.name, toTyped(e, bytes.subarray(bufStart + e.begin, bufStart + e.end)));
  return { tensors, metadata };
}
