// BPE training: learns merges over byte-level pre-tokens and returns a Tokenizer (tokenizer.ts).
//
// Shape: texts are cut around special-token text (which is never learned), pre-tokenized with the
// Qwen2 regex, and counted as unique words (arrays of token ids, starting from byte tokens). Each
// step merges the adjacent pair with the highest total count; ties go to the pair whose texts
// (left, then right) sort first by UTF-16 code units, so the result depends only on the texts.
// Pair counts are kept incrementally: a merge revisits only the words that contain the pair, and
// a lazy max-heap (stale entries skipped on pop) yields the next best pair. Training stops when
// the vocabulary reaches vocabSize or the best pair's count is below minFrequency.
import { BYTE_TO_CHAR, SPECIAL_TOKENS, preTokenize, specialRegex, splitSpecial, toByteText } from "./byte_level.ts";
import { Tokenizer } from "./tokenizer.ts";

export interface TrainBpeOptions {
  /** Smallest pair count worth a merge (default 2). */
  minFrequency?: number;
  /** Cut special-token text out of the training texts first (default true). */
  parseSpecial?: boolean;
}

/** Pair keys pack (left id, right id) into one number; ids stay below KEY. */
const KEY = 2 ** 21;

interface Candidate {
  count: number;
  key: number;
}

/** Learns up to vocabSize - 263 merges from texts; deterministic for the same texts and options. */
export function trainBpe(texts: readonly string[], vocabSize: number, opts: TrainBpeOptions = {}): Tokenizer {
  const base = SPECIAL_TOKENS.length + 256;
  if (!Number.isInteger(vocabSize) || vocabSize < base || vocabSize >= KEY)
    throw new RangeError(
      `vocabSize must be an integer in ${base}..${KEY - 1} (7 special + 256 byte tokens at least), got ${vocabSize}`,
    );
  const minFrequency = opts.minFrequency ?? 2;
  const state = new TrainState(countWords(texts, opts.parseSpecial ?? true));
  const merges: [string, string][] = [];
  while (state.vocabSize < vocabSize) {
    const best = state.popBest();
    if (best === null || best.count < minFrequency) break;
    merges.push(state.merge(best.key));
  }
  return Tokenizer.fromMerges(merges);
}

/** Frequency of each pre-token, as byte-alphabet text. */
function countWords(texts: readonly string[], parseSpecial: boolean): Map<string, number> {
  const re = parseSpecial ? specialRegex(SPECIAL_TOKENS.map((s) => s.content)) : null;
  const raw = new Map<string, number>();
  for (const text of texts)
    for (const piece of splitSpecial(text, re))
      for (const p of preTokenize(piece.text)) raw.set(p, (raw.get(p) ?? 0) + 1);
  const words = new Map<string, number>();
  for (const [p, n] of raw) {
    const t = toByteText(p);
    words.set(t, (words.get(t) ?? 0) + n);
  }
  return words;
}

class TrainState {
  /** Token text by training id: 0..255 are bytes, then merge results. */
  readonly #text: string[] = [...BYTE_TO_CHAR];
  readonly #idOf = new Map<string, number>(BYTE_TO_CHAR.map((c, b) => [c, b]));
  readonly #words: number[][] = [];
  readonly #freq: number[] = [];
  readonly #pairCount = new Map<number, number>();
  readonly #pairWords = new Map<number, Set<number>>();
  readonly #heap: Candidate[] = [];

  constructor(words: Map<string, number>) {
    for (const [t, n] of words) {
      const w = Array.from(t, (c) => this.#idOf.get(c)!);
      const wi = this.#words.push(w) - 1;
      this.#freq.push(n);
      for (let i = 0; i + 1 < w.length; i++) this.#addPair(w[i]! * KEY + w[i + 1]!, n, wi);
    }
    for (const [key, count] of this.#pairCount) this.#push({ count, key });
  }

  /** Special + byte + merged tokens so far. */
  get vocabSize(): number {
    return SPECIAL_TOKENS.length + this.#text.length;
  }

  /** The best pair with its current count, or null when no pair is left. */
  popBest(): Candidate | null {
    while (this.#heap.length > 0) {
      const top = this.#popHeap();
      if (this.#pairCount.get(top.key) === top.count) return top;
    }
    return null;
  }

  /** Merges the pair everywhere it occurs; returns it as texts. */
  merge(key: number): [string, string] {
    const a = Math.floor(key / KEY),
      b = key - a * KEY;
    const pair: [string, string] = [this.#text[a]!, this.#text[b]!];
    const joined = pair[0] + pair[1];
    let m = this.#idOf.get(joined);
    if (m === undefined) {
      m = this.#text.push(joined) - 1;
      this.#idOf.set(joined, m);
    }
    const changed = new Set<number>();
    for (const wi of this.#pairWords.get(key) ?? []) this.#mergeWord(wi, a, b, m, changed);
    this.#pairWords.delete(key);
    for (const k of changed) {
      const c = this.#pairCount.get(k);
      if (c !== undefined && c > 0) this.#push({ count: c, key: k });
    }
    return pair;
  }

  #mergeWord(wi: number, a: number, b: number, m: number, changed: Set<number>): void {
    const w = this.#words[wi]!,
      n = this.#freq[wi]!;
    let hit = false;
    for (let i = 0; i + 1 < w.length && !hit; i++) hit = w[i] === a && w[i + 1] === b;
    if (!hit) return;
    for (let i = 0; i + 1 < w.length; i++) changed.add(this.#addPair(w[i]! * KEY + w[i + 1]!, -n, wi));
    const out: number[] = [];
    for (let i = 0; i < w.length; i++) {
      if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
        out.push(m);
        i++;
      } else out.push(w[i]!);
    }
    for (let i = 0; i + 1 < out.length; i++) changed.add(this.#addPair(out[i]! * KEY + out[i + 1]!, n, wi));
    this.#words[wi] = out;
  }

  /** Adds delta to a pair's count (removing it at zero) and notes the word; returns the key. */
  #addPair(key: number, delta: number, wi: number): number {
    const c = (this.#pairCount.get(key) ?? 0) + delta;
    if (c <= 0) {
      this.#pairCount.delete(key);
    } else {
      this.#pairCount.set(key, c);
      if (delta > 0) {
        let s = this.#pairWords.get(key);
        if (s === undefined) this.#pairWords.set(key, (s = new Set()));
        s.add(wi);
      }
    }
    return key;
  }

  /** True when x should be merged before y: higher count, then smaller (left, right) texts. */
  #before(x: Candidate, y: Candidate): boolean {
    if (x.count !== y.count) return x.count > y.count;
    const xa = Math.floor(x.key / KEY),
      ya = Math.floor(y.key / KEY);
    const sx = this.#text[xa]!,
      sy = this.#text[ya]!;
    if (sx !== sy) return sx < sy;
    return this.#text[x.key - xa * KEY]! < this.#text[y.key - ya * KEY]!;
  }

  #push(c: Candidate): void {
    const h = this.#heap;
    let i = h.push(c) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#before(c, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = c;
  }

  #popHeap(): Candidate {
    const h = this.#heap;
    const top = h[0]!,
      last = h.pop()!;
    if (h.length === 0) return top;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= h.length) break;
      if (c + 1 < h.length && this.#before(h[c + 1]!, h[c]!)) c++;
      if (!this.#before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }
}
