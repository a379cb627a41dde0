// The tokenizer: byte-level BPE (GPT-2 alphabet) behind the Qwen2 pre-tokenizer, with seven
// special tokens, saved and loaded as Hugging Face `tokenizer.json`.
//
// Ids: 0..6 are the special tokens <pad> <eos> <|system|> <|user|> <|assistant|> <think> </think>
// (added tokens, special: true); 7..262 are the 256 byte tokens in byte order (id 7 + b for a
// tokenizer built here, so every byte is encodable); 263.. are merge results in merge order.
// Encoding: special tokens are cut out of the text first (leftmost, longest match), the text
// between is pre-tokenized with the Qwen2 regex, each pre-token's UTF-8 bytes become byte tokens
// and are merged by merge rank (lowest rank first, leftmost first among equal ranks), as HF
// tokenizers' BPE does. Decoding concatenates token bytes and decodes UTF-8 leniently (U+FFFD for
// invalid sequences, a leading BOM kept), so decode(encode(s)) === s for any well-formed string.
// The JSON form (toJSON/fromJSON) is the HF tokenizers format described by HfTokenizerJson.
import {
  BYTE_TO_CHAR,
  QWEN2_PATTERN,
  SPECIAL_TOKENS,
  fromByteText,
  preTokenize,
  specialRegex,
  splitSpecial,
} from "./byte_level.ts";
import type { SpecialName, TokenType } from "./byte_level.ts";
import { RecapError } from "../util/errors.ts";

export { SPECIAL_TOKENS, QWEN2_PATTERN, preTokenize } from "./byte_level.ts";
export type { SpecialName, TokenType } from "./byte_level.ts";

export interface EncodeOptions {
  /** Match special-token text as special tokens (default true); false encodes it as plain text. */
  parseSpecial?: boolean;
}
export interface DecodeOptions {
  /** Leave special tokens out of the text (default false). */
  skipSpecial?: boolean;
}

/** One entry of tokenizer.json's added_tokens. */
export interface HfAddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}
interface HfByteLevel {
  type: "ByteLevel";
  add_prefix_space: false;
  trim_offsets: false;
  use_regex: false;
}
/** The HF tokenizers `tokenizer.json` object this class writes. */
export interface HfTokenizerJson {
  version: "1.0";
  truncation: null;
  padding: null;
  added_tokens: HfAddedToken[];
  normalizer: null;
  pre_tokenizer: {
    type: "Sequence";
    pretokenizers: [{ type: "Split"; pattern: { Regex: string }; behavior: "Isolated"; invert: false }, HfByteLevel];
  };
  post_processor: null;
  decoder: HfByteLevel;
  model: {
    type: "BPE";
    dropout: null;
    unk_token: null;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: false;
    byte_fallback: false;
    ignore_merges: false;
    vocab: Record<string, number>;
    merges: [string, string][];
  };
}

/** What a Tokenizer is made of, before validation. */
interface Parts {
  /** Token text by id: byte-alphabet text for model tokens, the literal content for added ones. */
  tokens: string[];
  /** Ids of added (special) tokens. */
  added: ReadonlySet<number>;
  merges: [string, string][];
}

const CACHE_LIMIT = 50_000;
const RANK_SHIFT = 2 ** 32; // heap key = rank * RANK_SHIFT + position
const utf8 = new TextEncoder();

export class Tokenizer {
  readonly #tokens: string[];
  readonly #ids = new Map<string, number>();
  readonly #added: ReadonlySet<number>;
  readonly #merges: [string, string][];
  /** Pair key (a * vocabSize + b) -> merge rank; #mergeId[rank] is the merged token's id. */
  readonly #rank = new Map<number, number>();
  readonly #mergeId: Int32Array;
  readonly #byteIds = new Int32Array(256);
  readonly #bytes: (Uint8Array | null)[];
  readonly #special: Record<SpecialName, number>;
  readonly #specialRe: RegExp | null;
  readonly #cache = new Map<string, readonly number[]>();

  private constructor(p: Parts) {
    this.#tokens = p.tokens;
    this.#added = p.added;
    this.#merges = p.merges;
    p.tokens.forEach((t, id) => {
      const prev = this.#ids.get(t);
      if (prev !== undefined) throw new Error(`token ${JSON.stringify(t)} has two ids, ${prev} and ${id}`);
      this.#ids.set(t, id);
    });
    this.#special = this.#findSpecials();
    this.#bytes = p.tokens.map((t, id) => (p.added.has(id) ? null : this.#tokenBytes(t, id)));
    BYTE_TO_CHAR.forEach((c, b) => {
      const id = this.#ids.get(c);
      if (id === undefined || p.added.has(id))
        throw new Error(
          `byte token ${JSON.stringify(c)} (byte 0x${b.toString(16).padStart(2, "0")}) is missing from the vocabulary`,
        );
      this.#byteIds[b] = id;
    });
    this.#mergeId = this.#indexMerges();
    this.#specialRe = specialRegex([...p.added].map((id) => p.tokens[id]!));
  }

  /** A tokenizer with the special and byte tokens plus one token per merge, in merge order. */
  static fromMerges(merges: readonly (readonly [string, string])[]): Tokenizer {
    const tokens: string[] = [...SPECIAL_TOKENS.map((s) => s.content), ...BYTE_TO_CHAR];
    const known = new Set(tokens);
    for (const [a, b] of merges) {
      if (!known.has(a) || !known.has(b))
        throw new Error(
          `merge (${JSON.stringify(a)}, ${JSON.stringify(b)}) refers to a token not made by an earlier merge`,
        );
      if (!known.has(a + b)) tokens.push(a + b);
      known.add(a + b);
    }
    const added = new Set(SPECIAL_TOKENS.map((_, i) => i));
    return new Tokenizer({ tokens, added, merges: merges.map(([a, b]) => [a, b]) });
  }

  /** Loads an HF tokenizer.json object (parsed JSON); throws a one-line error naming the problem. */
  static fromJSON(obj: unknown): Tokenizer {
    try {
      return new Tokenizer(partsFromJson(obj));
    } catch (e) {
      throw new RecapError(
        `invalid tokenizer.json: ${(e as Error).message}`,
        "use a tokenizer.json written by recap (byte-level BPE, Qwen2 pre-tokenizer), or re-export the checkpoint",
      );
    }
  }

  get vocabSize(): number {
    return this.#tokens.length;
  }
  /** Special token ids by name. */
  get specialIds(): Readonly<Record<SpecialName, number>> {
    return this.#special;
  }
  /** The merges, lowest rank first, as pairs of token texts. */
  get merges(): readonly (readonly [string, string])[] {
    return this.#merges;
  }
  /** A token's text (byte-alphabet text, or a special token's content). */
  idToToken(id: number): string {
    const t = this.#tokens[id];
    if (t === undefined) throw new RangeError(`token id ${id} is outside the vocabulary 0..${this.#tokens.length - 1}`);
    return t;
  }
  tokenToId(token: string): number | undefined {
    return this.#ids.get(token);
  }
  isSpecial(id: number): boolean {
    return this.#added.has(id);
  }
  /** Per id, llama.cpp's token type: control (pad, eos, roles), user_defined (think tags), normal. */
  tokenTypes(): TokenType[] {
    const byId = new Map<number, TokenType>(SPECIAL_TOKENS.map((s) => [this.#special[s.name], s.type]));
    return this.#tokens.map((_, id) => byId.get(id) ?? (this.#added.has(id) ? "control" : "normal"));
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    const re = (opts.parseSpecial ?? true) ? this.#specialRe : null;
    for (const piece of splitSpecial(text, re)) {
      this.#encodeOrdinary(piece.text, out);
      if (piece.special !== null) out.push(this.#ids.get(piece.special)!);
    }
    return out;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
    let out = "";
    let chunk: number[] = [];
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.#tokens.length)
        throw new RangeError(`token id ${id} is outside the vocabulary 0..${this.#tokens.length - 1}`);
      const bytes = this.#bytes[id];
      if (bytes) {
        for (const b of bytes) chunk.push(b);
        continue;
      }
      if (opts.skipSpecial) continue;
      out += decoder.decode(new Uint8Array(chunk));
      chunk = [];
      out += this.#tokens[id]!;
    }
    return out + decoder.decode(new Uint8Array(chunk));
  }

  /** The HF tokenizers `tokenizer.json` object (JSON.stringify it to save). */
  toJSON(): HfTokenizerJson {
    const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false } as const;
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [...this.#added]
        .sort((a, b) => a - b)
        .map((id) => ({
          id,
          content: this.#tokens[id]!,
          single_word: false,
          lstrip: false,
          rstrip: false,
          normalized: false,
          special: true,
        })),
      normalizer: null,
      pre_tokenizer: {
        type: "Sequence",
        pretokenizers: [
          { type: "Split", pattern: { Regex: QWEN2_PATTERN }, behavior: "Isolated", invert: false },
          { ...byteLevel },
        ],
      },
      post_processor: null,
      decoder: { ...byteLevel },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab: Object.fromEntries(this.#tokens.map((t, id) => [t, id])),
        merges: this.#merges.map(([a, b]) => [a, b]),
      },
    };
  }

  #findSpecials(): Record<SpecialName, number> {
    const out = {} as Record<SpecialName, number>;
    for (const s of SPECIAL_TOKENS) {
      const id = this.#ids.get(s.content);
      if (id === undefined || !this.#added.has(id))
        throw new Error(`special token ${s.content} is missing from added_tokens`);
      out[s.name] = id;
    }
    return out;
  }

  #tokenBytes(t: string, id: number): Uint8Array {
    if (t.length === 0) throw new Error(`token ${id} is empty`);
    try {
      return fromByteText(t);
    } catch (e) {
      throw new Error(`token ${id}: ${(e as Error).message}`);
    }
  }

  #indexMerges(): Int32Array {
    const n = this.#tokens.length;
    const mergeId = new Int32Array(this.#merges.length);
    this.#merges.forEach(([a, b], rank) => {
      const where = `merge ${rank} (${JSON.stringify(a)}, ${JSON.stringify(b)})`;
      const ia = this.#ids.get(a),
        ib = this.#ids.get(b),
        im = this.#ids.get(a + b);
      if (ia === undefined || this.#added.has(ia))
        throw new Error(`${where} refers to unknown token ${JSON.stringify(a)}`);
      if (ib === undefined || this.#added.has(ib))
        throw new Error(`${where} refers to unknown token ${JSON.stringify(b)}`);
      if (im === undefined)
        throw new Error(`${where}: the merged token ${JSON.stringify(a + b)} is not in the vocabulary`);
      if (this.#rank.has(ia * n + ib))
        throw new Error(`${where} is a duplicate of merge ${this.#rank.get(ia * n + ib)}`);
      this.#rank.set(ia * n + ib, rank);
      mergeId[rank] = im;
    });
    return mergeId;
  }

  #encodeOrdinary(text: string, out: number[]): void {
    if (text.length === 0) return;
    for (const piece of preTokenize(text)) {
      let ids = this.#cache.get(piece);
      if (ids === undefined) {
        ids = this.#bpe(Array.from(utf8.encode(piece), (b) => this.#byteIds[b]!));
        if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
        this.#cache.set(piece, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  /** Merges a pre-token's byte ids: lowest merge rank first, leftmost first on ties. */
  #bpe(sym: number[]): number[] {
    const n = sym.length,
      v = this.#tokens.length;
    if (n < 2) return sym;
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const heap = new MinHeap();
    const consider = (l: number) => {
      const r = next[l]!;
      const rank = r < 0 ? undefined : this.#rank.get(sym[l]! * v + sym[r]!);
      if (rank !== undefined) heap.push(rank * RANK_SHIFT + l);
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    while (heap.size > 0) {
      const key = heap.pop();
      const rank = Math.floor(key / RANK_SHIFT),
        l = key - rank * RANK_SHIFT;
      const r = next[l]!;
      if (sym[l]! < 0 || r < 0 || this.#rank.get(sym[l]! * v + sym[r]!) !== rank) continue;
      sym[l] = this.#mergeId[rank]!;
      sym[r] = -1;
      next[l] = next[r]!;
      if (next[l]! >= 0) prev[next[l]!] = l;
      if (prev[l]! >= 0) consider(prev[l]!);
      consider(l);
    }
    return sym.filter((id) => id >= 0);
  }
}

/** A binary min-heap of numbers. */
class MinHeap {
  readonly #a: number[] = [];
  get size(): number {
    return this.#a.length;
  }
  push(x: number): void {
    const a = this.#a;
    let i = a.push(x) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= x) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = x;
  }
  pop(): number {
    const a = this.#a;
    const top = a[0]!,
      last = a.pop()!;
    if (a.length === 0) return top;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= a.length) break;
      if (c + 1 < a.length && a[c + 1]! < a[c]!) c++;
      if (a[c]! >= last) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

// ---- tokenizer.json validation -------------------------------------------------------------

function describe(x: unknown): string {
  return x === null ? "null" : Array.isArray(x) ? "an array" : typeof x;
}
function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** Checks the parts of tokenizer.json that change how text is split (they must be ours). */
function checkPipeline(o: Record<string, unknown>): void {
  if (o.normalizer != null)
    throw new Error(`normalizer must be null, got ${JSON.stringify(o.normalizer).slice(0, 80)}`);
  const pre = o.pre_tokenizer;
  const split = isRecord(pre) && Array.isArray(pre.pretokenizers) ? pre.pretokenizers[0] : undefined;
  const bl = isRecord(pre) && Array.isArray(pre.pretokenizers) ? pre.pretokenizers[1] : undefined;
  const regex = isRecord(split) && isRecord(split.pattern) ? split.pattern.Regex : undefined;
  if (
    !isRecord(pre) ||
    pre.type !== "Sequence" ||
    !isRecord(split) ||
    split.type !== "Split" ||
    regex !== QWEN2_PATTERN ||
    split.behavior !== "Isolated" ||
    split.invert === true ||
    !isRecord(bl) ||
    bl.type !== "ByteLevel" ||
    bl.use_regex !== false ||
    bl.add_prefix_space === true ||
    (pre.pretokenizers as unknown[]).length !== 2
  )
    throw new Error("pre_tokenizer must be the Qwen2 Split (Isolated) + ByteLevel (use_regex false) sequence");
  if (!isRecord(o.decoder) || o.decoder.type !== "ByteLevel") throw new Error("decoder must be ByteLevel");
}

function checkModel(m: unknown): { vocab: Record<string, unknown>; merges: unknown[] } {
  if (!isRecord(m)) throw new Error(`missing model (got ${describe(m)})`);
  if (m.type !== undefined && m.type !== "BPE")
    throw new Error(`model.type must be "BPE", got ${JSON.stringify(m.type)}`);
  if (!isRecord(m.vocab)) throw new Error(`missing model.vocab (got ${describe(m.vocab)})`);
  if (!Array.isArray(m.merges)) throw new Error(`missing model.merges (got ${describe(m.merges)})`);
  if (m.byte_fallback === true) throw new Error("model.byte_fallback must be false");
  for (const k of ["continuing_subword_prefix", "end_of_word_suffix", "dropout"] as const)
    if (m[k] != null) throw new Error(`model.${k} must be null, got ${JSON.stringify(m[k])}`);
  if (m.ignore_merges === true) throw new Error("model.ignore_merges must be false");
  return { vocab: m.vocab, merges: m.merges };
}

function parseMerge(x: unknown, i: number): [string, string] {
  if (Array.isArray(x) && x.length === 2 && typeof x[0] === "string" && typeof x[1] === "string") return [x[0], x[1]];
  if (typeof x === "string") {
    const parts = x.split(" ");
    if (parts.length === 2 && parts[0] && parts[1]) return [parts[0], parts[1]];
  }
  throw new Error(`model.merges[${i}] must be a pair of strings or "a b", got ${JSON.stringify(x)}`);
}

function parseAdded(x: unknown): { id: number; content: string }[] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x)) throw new Error(`added_tokens must be an array, got ${describe(x)}`);
  return x.map((t: unknown, i) => {
    if (
      !isRecord(t) ||
      !Number.isInteger(t.id) ||
      (t.id as number) < 0 ||
      typeof t.content !== "string" ||
      t.content === ""
    )
      throw new Error(`added_tokens[${i}] needs an integer id >= 0 and a non-empty string content`);
    if (t.special === false) throw new Error(`added_tokens[${i}] (${t.content}) must be special`);
    return { id: t.id as number, content: t.content };
  });
}

/** Places token texts by id, rejecting clashes and gaps. */
function placeTokens(vocab: Record<string, unknown>, added: { id: number; content: string }[]): string[] {
  const tokens: string[] = [];
  const put = (t: string, id: unknown, where: string) => {
    if (!Number.isInteger(id) || (id as number) < 0)
      throw new Error(`${where} ${JSON.stringify(t)} has id ${JSON.stringify(id)}, not an integer >= 0`);
    const prev = tokens[id as number];
    if (prev !== undefined && prev !== t)
      throw new Error(`duplicate id ${id}: ${JSON.stringify(prev)} and ${JSON.stringify(t)}`);
    tokens[id as number] = t;
  };
  for (const [t, id] of Object.entries(vocab)) put(t, id, "model.vocab token");
  for (const a of added) {
    const inVocab = Object.hasOwn(vocab, a.content) ? vocab[a.content] : undefined;
    if (inVocab !== undefined && inVocab !== a.id)
      throw new Error(`added token ${a.content} has id ${a.id} but model.vocab says ${JSON.stringify(inVocab)}`);
    put(a.content, a.id, "added token");
  }
  for (let id = 0; id < tokens.length; id++)
    if (tokens[id] === undefined)
      throw new Error(`ids must be 0..${tokens.length - 1} without gaps: id ${id} is missing`);
  return tokens;
}

function partsFromJson(obj: unknown): Parts {
  if (!isRecord(obj)) throw new Error(`expected an object, got ${describe(obj)}`);
  const { vocab, merges } = checkModel(obj.model);
  checkPipeline(obj);
  const added = parseAdded(obj.added_tokens);
  const tokens = placeTokens(vocab, added);
  return { tokens, added: new Set(added.map((a) => a.id)), merges: merges.map(parseMerge) };
}
