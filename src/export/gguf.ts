// The GGUF v3 container (ggml-org/ggml docs/gguf.md), little-endian: a header (magic "GGUF",
// version 3, tensor count u64, kv count u64), typed key/value metadata, tensor infos (name,
// dims with the fastest-varying first, ggml type, offset relative to the data section), zero
// padding to `general.alignment` (default 32), then tensor data, each tensor at an aligned offset.
//
// This module only knows the container; what a llama model puts in it is gguf_llama.ts. Shapes
// in this API are row-major (numpy order, outermost first), as elsewhere in the project; they are
// reversed into ggml's `ne` order on write and back on read. Only F32 and F16 tensors are written
// or decoded (that is all the exporter produces); the reader parses every metadata type.
import { f16ArrayToF32, f32ArrayToF16 } from "../model/safetensors.ts";
import { RecapError } from "../util/errors.ts";

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const DEFAULT_ALIGNMENT = 32;

/** Metadata value types, by their numeric code in the file. */
export const VALUE_TYPES = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;
export type GgufScalarType = Exclude<keyof typeof VALUE_TYPES, "array">;
const TYPE_NAMES = Object.fromEntries(Object.entries(VALUE_TYPES).map(([k, v]) => [v, k])) as Record<
  number,
  keyof typeof VALUE_TYPES
>;

export type GgufScalar = number | bigint | boolean | string;
/** A metadata value: a scalar of `type`, or an array of `itemType` (arrays may nest when read). */
export type GgufValue =
  | { type: GgufScalarType; value: GgufScalar }
  | { type: "array"; itemType: GgufScalarType | "array"; value: GgufScalar[] | GgufValue[] };

/** ggml tensor types this module reads and writes. */
export const TENSOR_TYPES = { F32: 0, F16: 1 } as const;
export type GgufTensorType = keyof typeof TENSOR_TYPES;
const TENSOR_TYPE_NAMES: Record<number, GgufTensorType> = { 0: "F32", 1: "F16" };
const TENSOR_ELEMENT_BYTES: Record<GgufTensorType, number> = { F32: 4, F16: 2 };

export interface GgufTensorToWrite {
  name: string;
  /** Row-major shape (outermost first). */
  shape: number[];
  type: GgufTensorType;
  /** F32: the values. F16: values to convert, or raw half bits. */
  data: Float32Array | Uint16Array;
}

export interface GgufTensorInfo {
  name: string;
  shape: number[]; // row-major
  type: GgufTensorType;
  /** Absolute byte offset of the data in the file, and its length. */
  offset: number;
  nbytes: number;
}

export interface GgufFile {
  version: number;
  alignment: number;
  kv: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** Absolute offset of the tensor data section. */
  dataOffset: number;
}

// ---------------------------------------------------------------------------------------------
// Writing.

const utf8 = new TextEncoder();

/** A growable little-endian byte sink. */
class Sink {
  #buf = new Uint8Array(1 << 16);
  #view = new DataView(this.#buf.buffer);
  length = 0;

  #reserve(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
  u8(x: number): void {
    this.#reserve(1);
    this.#view.setUint8(this.length, x);
    this.length += 1;
  }
  i8(x: number): void {
    this.#reserve(1);
    this.#view.setInt8(this.length, x);
    this.length += 1;
  }
  u16(x: number): void {
    this.#reserve(2);
    this.#view.setUint16(this.length, x, true);
    this.length += 2;
  }
  i16(x: number): void {
    this.#reserve(2);
    this.#view.setInt16(this.length, x, true);
    this.length += 2;
  }
  u32(x: number): void {
    this.#reserve(4);
    this.#view.setUint32(this.length, x, true);
    this.length += 4;
  }
  i32(x: number): void {
    this.#reserve(4);
    this.#view.setInt32(this.length, x, true);
    this.length += 4;
  }
  f32(x: number): void {
    this.#reserve(4);
    this.#view.setFloat32(this.length, x, true);
    this.length += 4;
  }
  f64(x: number): void {
    this.#reserve(8);
    this.#view.setFloat64(this.length, x, true);
    this.length += 8;
  }
  u64(x: number | bigint): void {
    this.#reserve(8);
    this.#view.setBigUint64(this.length, BigInt(x), true);
    this.length += 8;
  }
  i64(x: number | bigint): void {
    this.#reserve(8);
    this.#view.setBigInt64(this.length, BigInt(x), true);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.#reserve(b.length);
    this.#buf.set(b, this.length);
    this.length += b.length;
  }
  string(s: string): void {
    const b = utf8.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  padTo(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    this.#reserve(n);
    this.length += n;
  }
  result(): Uint8Array {
    return this.#buf.slice(0, this.length);
  }
}

function checkInt(x: GgufScalar, lo: number, hi: number, key: string, type: string): number {
  if (typeof x !== "number" || !Number.isInteger(x) || x < lo || x > hi)
    throw new Error(`gguf: ${key} must be a ${type}, got ${String(x)}`);
  return x;
}

function writeScalar(s: Sink, type: GgufScalarType, x: GgufScalar, key: string): void {
  switch (type) {
    case "uint8":
      return s.u8(checkInt(x, 0, 0xff, key, type));
    case "int8":
      return s.i8(checkInt(x, -0x80, 0x7f, key, type));
    case "uint16":
      return s.u16(checkInt(x, 0, 0xffff, key, type));
    case "int16":
      return s.i16(checkInt(x, -0x8000, 0x7fff, key, type));
    case "uint32":
      return s.u32(checkInt(x, 0, 0xffffffff, key, type));
    case "int32":
      return s.i32(checkInt(x, -0x80000000, 0x7fffffff, key, type));
    case "float32":
    case "float64":
      if (typeof x !== "number") throw new Error(`gguf: ${key} must be a number`);
      return type === "float32" ? s.f32(x) : s.f64(x);
    case "bool":
      if (typeof x !== "boolean") throw new Error(`gguf: ${key} must be a boolean`);
      return s.u8(x ? 1 : 0);
    case "string":
      if (typeof x !== "string") throw new Error(`gguf: ${key} must be a string`);
      return s.string(x);
    case "uint64":
    case "int64":
      if (typeof x !== "bigint" && !(typeof x === "number" && Number.isSafeInteger(x)))
        throw new Error(`gguf: ${key} must be an integer`);
      return type === "uint64" ? s.u64(x) : s.i64(x);
  }
}

function writeValue(s: Sink, v: GgufValue, key: string): void {
  if (v.type !== "array") return writeScalar(s, v.type, v.value, key);
  s.u32(VALUE_TYPES[v.itemType]);
  s.u64(v.value.length);
  for (const item of v.value) {
    if (v.itemType === "array") {
      const inner = item as GgufValue;
      s.u32(VALUE_TYPES.array);
      writeValue(s, inner, key);
    } else writeScalar(s, v.itemType, item as GgufScalar, key);
  }
}

function tensorBytes(t: GgufTensorToWrite): Uint8Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== n)
    throw new Error(`gguf: tensor ${t.name} has ${t.data.length} values, shape [${t.shape.join(", ")}] needs ${n}`);
  const arr =
    t.type === "F32"
      ? t.data instanceof Float32Array
        ? t.data
        : null
      : t.data instanceof Uint16Array
        ? t.data
        : f32ArrayToF16(t.data);
  if (arr === null) throw new Error(`gguf: F32 tensor ${t.name} needs a Float32Array`);
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

/** Serialises metadata and tensors as a GGUF v3 file (little-endian host assumed, as in safetensors.ts). */
export function encodeGguf(
  kv: Map<string, GgufValue>,
  tensors: GgufTensorToWrite[],
  alignment = DEFAULT_ALIGNMENT,
): Uint8Array {
  if (!Number.isInteger(alignment) || alignment < 8 || alignment % 8 !== 0)
    throw new Error(`gguf: alignment must be a multiple of 8, got ${alignment}`);
  const s = new Sink();
  s.u32(GGUF_MAGIC);
  s.u32(GGUF_VERSION);
  s.u64(tensors.length);
  s.u64(kv.size);
  for (const [key, v] of kv) {
    s.string(key);
    s.u32(VALUE_TYPES[v.type]);
    writeValue(s, v, key);
  }
  const blobs = tensors.map(tensorBytes);
  let offset = 0;
  tensors.forEach((t, i) => {
    s.string(t.name);
    s.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) s.u64(d);
    s.u32(TENSOR_TYPES[t.type]);
    s.u64(offset);
    offset += blobs[i]!.length;
    offset += (alignment - (offset % alignment)) % alignment;
  });
  s.padTo(alignment);
  for (const b of blobs) {
    s.bytes(b);
    s.padTo(alignment);
  }
  return s.result();
}

// ---------------------------------------------------------------------------------------------
// Reading, with one-line errors that name the file.

const MAX_ARRAY_DEPTH = 4;
const MAX_DIMS = 4;
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** A bounds-checked little-endian cursor. */
class Cursor {
  pos = 0;
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  readonly #where: string;
  constructor(bytes: Uint8Array, where: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#where = where;
  }
  get remaining(): number {
    return this.#bytes.length - this.pos;
  }
  fail(msg: string): never {
    throw new RecapError(`${this.#where}: ${msg}`, "the file is damaged or not a GGUF file: re-export it");
  }
  #need(n: number, what: string): number {
    if (n > this.remaining) this.fail(`truncated while reading ${what} at byte ${this.pos}`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8(w: string): number {
    return this.#view.getUint8(this.#need(1, w));
  }
  i8(w: string): number {
    return this.#view.getInt8(this.#need(1, w));
  }
  u16(w: string): number {
    return this.#view.getUint16(this.#need(2, w), true);
  }
  i16(w: string): number {
    return this.#view.getInt16(this.#need(2, w), true);
  }
  u32(w: string): number {
    return this.#view.getUint32(this.#need(4, w), true);
  }
  i32(w: string): number {
    return this.#view.getInt32(this.#need(4, w), true);
  }
  f32(w: string): number {
    return this.#view.getFloat32(this.#need(4, w), true);
  }
  f64(w: string): number {
    return this.#view.getFloat64(this.#need(8, w), true);
  }
  u64big(w: string): bigint {
    return this.#view.getBigUint64(this.#need(8, w), true);
  }
  i64big(w: string): bigint {
    return this.#view.getBigInt64(this.#need(8, w), true);
  }
  /** A u64 that must fit a safe integer and be at most `max`. */
  count(w: string, max: number): number {
    const x = this.u64big(w);
    if (x > BigInt(max)) this.fail(`${w} ${x} is larger than the file allows (${max})`);
    return Number(x);
  }
  string(w: string): string {
    const n = this.count(`length of ${w}`, this.remaining);
    const at = this.#need(n, w);
    try {
      return utf8Strict.decode(this.#bytes.subarray(at, at + n));
    } catch {
      return this.fail(`${w} is not valid UTF-8`);
    }
  }
}

function readScalar(c: Cursor, type: GgufScalarType, w: string): GgufScalar {
  switch (type) {
    case "uint8":
      return c.u8(w);
    case "int8":
      return c.i8(w);
    case "uint16":
      return c.u16(w);
    case "int16":
      return c.i16(w);
    case "uint32":
      return c.u32(w);
    case "int32":
      return c.i32(w);
    case "float32":
      return c.f32(w);
    case "float64":
      return c.f64(w);
    case "bool": {
      const b = c.u8(w);
      if (b > 1) c.fail(`${w} is a bool holding ${b} (must be 0 or 1)`);
      return b === 1;
    }
    case "string":
      return c.string(w);
    case "uint64": {
      const x = c.u64big(w);
      return x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
    }
    case "int64": {
      const x = c.i64big(w);
      return x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(x) : x;
    }
  }
}

function valueType(c: Cursor, w: string): keyof typeof VALUE_TYPES {
  const code = c.u32(`type of ${w}`);
  const name = TYPE_NAMES[code];
  if (name === undefined) c.fail(`${w} has unknown value type ${code}`);
  return name;
}

function readValue(c: Cursor, type: keyof typeof VALUE_TYPES, w: string, depth: number): GgufValue {
  if (type !== "array") return { type, value: readScalar(c, type, w) };
  if (depth >= MAX_ARRAY_DEPTH) c.fail(`${w} nests arrays deeper than ${MAX_ARRAY_DEPTH}`);
  const itemType = valueType(c, `items of ${w}`);
  const n = c.count(`length of ${w}`, c.remaining); // every item takes at least one byte
  if (itemType === "array") {
    const items: GgufValue[] = [];
    for (let i = 0; i < n; i++) items.push(readValue(c, valueType(c, `${w}[${i}]`), `${w}[${i}]`, depth + 1));
    return { type: "array", itemType, value: items };
  }
  const items: GgufScalar[] = [];
  for (let i = 0; i < n; i++) items.push(readScalar(c, itemType, `${w}[${i}]`));
  return { type: "array", itemType, value: items };
}

function readTensorInfo(c: Cursor, i: number): Omit<GgufTensorInfo, "offset" | "nbytes"> & { rel: number } {
  const name = c.string(`name of tensor ${i}`);
  const nd = c.u32(`dimension count of tensor ${name}`);
  if (nd < 1 || nd > MAX_DIMS) c.fail(`tensor ${name} has ${nd} dimensions (1..${MAX_DIMS} allowed)`);
  const ne: number[] = [];
  for (let d = 0; d < nd; d++) {
    const x = c.count(`dimension ${d} of tensor ${name}`, 2 ** 40);
    if (x === 0) c.fail(`tensor ${name} has a zero dimension`);
    ne.push(x);
  }
  const code = c.u32(`type of tensor ${name}`);
  const type = TENSOR_TYPE_NAMES[code];
  if (type === undefined) c.fail(`tensor ${name} has ggml type ${code}; only F32 (0) and F16 (1) are read here`);
  const rel = c.count(`offset of tensor ${name}`, Number.MAX_SAFE_INTEGER);
  return { name, shape: ne.reverse(), type, rel };
}

/** Parses and checks a GGUF file's structure (header, metadata, tensor infos, data bounds). */
export function decodeGguf(bytes: Uint8Array, where: string): GgufFile {
  const c = new Cursor(bytes, where);
  if (bytes.length < 24 || c.u32("magic") !== GGUF_MAGIC) c.fail("not a GGUF file (bad magic)");
  const version = c.u32("version");
  if (version !== GGUF_VERSION) c.fail(`GGUF version ${version} is not supported (only ${GGUF_VERSION})`);
  const nTensors = c.count("tensor count", c.remaining);
  const nKv = c.count("metadata count", c.remaining);
  const kv = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = c.string(`key ${i}`);
    if (kv.has(key)) c.fail(`duplicate metadata key ${key}`);
    kv.set(key, readValue(c, valueType(c, key), key, 0));
  }
  const al = kv.get("general.alignment");
  let alignment = DEFAULT_ALIGNMENT;
  if (al !== undefined) {
    const a = al.value;
    if (al.type !== "uint32" || typeof a !== "number" || a < 8 || a % 8 !== 0)
      return c.fail("general.alignment must be a uint32 multiple of 8");
    alignment = a;
  }
  const raw = Array.from({ length: nTensors }, (_, i) => readTensorInfo(c, i));
  const dataOffset = c.pos + ((alignment - (c.pos % alignment)) % alignment);
  const tensors = raw.map((t) => placeTensor(c, t, dataOffset, alignment, bytes.length));
  checkOverlaps(c, tensors);
  return { version, alignment, kv, tensors, dataOffset };
}

function placeTensor(
  c: Cursor,
  t: ReturnType<typeof readTensorInfo>,
  dataOffset: number,
  alignment: number,
  fileLength: number,
): GgufTensorInfo {
  if (t.rel % alignment !== 0)
    c.fail(`tensor ${t.name} has offset ${t.rel}, not a multiple of the alignment ${alignment}`);
  const nbytes = t.shape.reduce((a, b) => a * b, 1) * TENSOR_ELEMENT_BYTES[t.type];
  const offset = dataOffset + t.rel;
  if (offset + nbytes > fileLength)
    c.fail(`tensor ${t.name} (${nbytes} bytes at ${offset}) runs past the end of the file (${fileLength} bytes)`);
  return { name: t.name, shape: t.shape, type: t.type, offset, nbytes };
}

function checkOverlaps(c: Cursor, tensors: GgufTensorInfo[]): void {
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) c.fail(`duplicate tensor name ${t.name}`);
    names.add(t.name);
  }
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i]!.offset < sorted[i - 1]!.offset + sorted[i - 1]!.nbytes)
      c.fail(`tensors ${sorted[i - 1]!.name} and ${sorted[i]!.name} overlap`);
}

/** A tensor's values as float32 (F16 converted). */
export function tensorData(bytes: Uint8Array, t: GgufTensorInfo): Float32Array {
  const copy = bytes.slice(t.offset, t.offset + t.nbytes); // aligned copy
  return t.type === "F32" ? new Float32Array(copy.buffer) : f16ArrayToF32(new Uint16Array(copy.buffer));
}

/** Shorthands for building metadata. */
export const gv = {
  u32: (value: number): GgufValue => ({ type: "uint32", value }),
  i32: (value: number): GgufValue => ({ type: "int32", value }),
  f32: (value: number): GgufValue => ({ type: "float32", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  str: (value: string): GgufValue => ({ type: "string", value }),
  strs: (value: string[]): GgufValue => ({ type: "array", itemType: "string", value }),
  i32s: (value: number[]): GgufValue => ({ type: "array", itemType: "int32", value }),
};
