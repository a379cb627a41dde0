// Incremental detokenisation for the server: the text of a growing token list, handed out in
// deltas that never need to be taken back. A delta holds back (a) trailing U+FFFD characters,
// which may be an incomplete UTF-8 sequence the next token completes, and (b) the longest
// suffix that is the start of a stop string, which the next token may complete. When a stop
// string appears, the text ends right before it (OpenAI semantics: the stop string is not
// returned). The eos token ends generation and adds no text.
import { fromByteText } from "../model/byte_level.ts";
import type { Tokenizer } from "../model/tokenizer.ts";

export class TextStream {
  readonly #tok: Tokenizer;
  readonly #stop: string[];
  readonly #eos: number;
  readonly #ids: number[] = [];
  #emitted = 0;
  #final: string | null = null;
  /** The stop string that ended the text, if any. */
  stoppedBy: string | null = null;

  constructor(tok: Tokenizer, stop: readonly string[]) {
    this.#tok = tok;
    this.#stop = stop.filter((s) => s.length > 0);
    this.#eos = tok.specialIds.eos;
  }

  /** True once a stop string was found (generation should end). */
  get stopped(): boolean {
    return this.stoppedBy !== null;
  }

  /** Adds a generated token; returns the new text that is safe to hand out ("" if none). */
  push(id: number): string {
    if (this.#final !== null) return "";
    if (id !== this.#eos && id < this.#tok.vocabSize) this.#ids.push(id);
    const full = this.#tok.decode(this.#ids);
    const cut = this.#findStop(full);
    if (cut !== null) {
      this.#final = full.slice(0, cut);
      return this.#take(this.#final.length, this.#final);
    }
    return this.#take(full.length - this.#holdBack(full), full);
  }

  /** Ends the stream; returns whatever text was held back. */
  finish(): string {
    if (this.#final === null) this.#final = this.#tok.decode(this.#ids);
    return this.#take(this.#final.length, this.#final);
  }

  /** The whole text so far (after finish: the final text). */
  get text(): string {
    return this.#final ?? this.#tok.decode(this.#ids);
  }

  #take(upTo: number, full: string): string {
    if (upTo <= this.#emitted) return "";
    const out = full.slice(this.#emitted, upTo);
    this.#emitted = upTo;
    return out;
  }

  #findStop(full: string): number | null {
    let best: number | null = null;
    // A new occurrence must end in the part added since the last emit, or in the held-back part.
    const from = Math.max(0, this.#emitted - Math.max(0, ...this.#stop.map((s) => s.length)));
    for (const s of this.#stop) {
      const at = full.indexOf(s, from);
      if (at >= 0 && (best === null || at < best)) {
        best = at;
        this.stoppedBy = s;
      }
    }
    return best;
  }

  #holdBack(full: string): number {
    let n = 0;
    while (n < full.length && full[full.length - 1 - n] === "\uFFFD") n++;
    for (const s of this.#stop)
      for (let k = Math.min(s.length - 1, full.length); k > n; k--)
        if (full.endsWith(s.slice(0, k))) {
          n = k;
          break;
        }
    return n;
  }
}

/** A token's text as a client sees it on its own (partial UTF-8 shows as U+FFFD). */
export function tokenText(tok: Tokenizer, id: number): string {
  return id < tok.vocabSize ? tok.decode([id]) : "";
}

/** A token's raw UTF-8 bytes (chat logprobs' `bytes` field). */
export function tokenBytes(tok: Tokenizer, id: number): number[] {
  if (id >= tok.vocabSize) return [];
  const t = tok.idToToken(id);
  return tok.isSpecial(id) ? [...new TextEncoder().encode(t)] : [...fromByteText(t)];
}
