// Prefill truncation: the first l_pre words (the paper's unit) or tokens of a thinking text. The
// one cut of the project: training (the RECAP mixture), `recap data build` and the evaluation's
// prefill and IPR attacks all call it.
//
// Words: a word is a maximal run of non-whitespace characters; special tokens (`<think>`,
// chat markers) are atomic units that count zero words and split a word they touch
// ("<think>First" is `<think>` + the word "First"). A run holding characters of a script written
// without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar, Tibetan) is split by
// `Intl.Segmenter` (word granularity): each word-like segment is a word, with any punctuation
// after it (and any before the first) attached, so "我们应该。然后" is 3 words, not 1. Runs without
// such characters are not segmented, so space-separated text (English: "well-known" is one word)
// counts exactly as before. The cut is the LONGEST PREFIX of the text
// that holds at most l_pre words, ends at the end of a word or a special token (so never inside
// one, and with no trailing whitespace), and stops before the first `</think>`: a prefill never
// closes the thinking. l_pre = 0 keeps only leading special tokens (usually nothing).
// Tokens: the text before the first `</think>` is encoded with the tokenizer and cut at a token
// boundary (special tokens are single tokens, so never split, and count one token each). A cut
// through a multi-byte character would not decode to a prefix of the text, and BPE may
// tokenize a cut-off word differently when re-encoded, so the cut backs off to the longest
// k <= l_pre tokens whose decoding is a prefix of the text AND re-encodes to at most l_pre
// tokens; `count` is the re-encoded length, what the policy will actually see.
import { SPECIAL_TOKENS } from "../model/tokenizer.ts";
import { RecapError } from "../util/errors.ts";

/** The default prefill length l_pre, in words, shared by training (`recap.l_pre`), the demo, the
 *  study and evaluation (a prefill attack with no @length). World v5 sizes its counter-aligned
 *  traces around it: every flaw ends at or before this word and every conclusion (verdict,
 *  decision) starts after it, so the default cut is a partial flawed prefix, as in the paper
 *  (500 words cut from longer reasoning). */
export const DEFAULT_L_PRE = 60;

export const END_THINK = "</think>";
export const DEFAULT_SPECIALS: readonly string[] = SPECIAL_TOKENS.map((s) => s.content);

export type PrefillUnit = "words" | "tokens";

/** What a token cut needs of a tokenizer (the model's, an HF tokenizer.json, llama.cpp's): text
 *  to ids without adding special tokens, and ids back to text. */
export interface CutTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
}

export interface PrefillCut {
  /** The kept prefix of the input text (never contains `</think>`). */
  text: string;
  /** Words (or tokens) in `text`. */
  count: number;
  /** The whole thinking (everything before `</think>`) was kept. */
  complete: boolean;
}

function checkLPre(l_pre: number): void {
  if (!Number.isInteger(l_pre) || l_pre < 0)
    throw new RecapError(
      `l_pre must be an integer >= 0, got ${l_pre}`,
      "set l_pre to a number of words (or tokens), e.g. 25",
    );
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Characters of scripts written without spaces between words. */
const SPACELESS =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}\p{Script=Tibetan}]/u;
const SEGMENTER = new Intl.Segmenter("und", { granularity: "word" });

/** The start offsets (within `run`) of its words: the run's start, then the start of every
 *  word-like segment after the first (see the module comment). */
function wordStarts(run: string): number[] {
  if (!SPACELESS.test(run)) return [0];
  const starts = [0];
  let seenWord = false;
  for (const seg of SEGMENTER.segment(run)) {
    if (!seg.isWordLike) continue;
    if (seenWord) starts.push(seg.index);
    seenWord = true;
  }
  return starts;
}

/** Units of a text in order: special tokens and words, with their character spans. */
function units(text: string, specials: readonly string[]): { start: number; end: number; special: string | null }[] {
  const all = [...new Set([...specials, END_THINK])].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  const re = new RegExp(`${all.map(escapeRegex).join("|")}|[^\\s]+?(?=${all.map(escapeRegex).join("|")}|\\s|$)`, "gsy");
  const out: { start: number; end: number; special: string | null }[] = [];
  const ws = /\s+/y;
  let at = 0;
  while (at < text.length) {
    ws.lastIndex = at;
    if (ws.test(text)) {
      at = ws.lastIndex;
      continue;
    }
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new Error(`truncateWords: no unit at ${at}`); // unreachable: a non-space char always matches
    const end = at + m[0].length;
    if (all.includes(m[0])) out.push({ start: at, end, special: m[0] });
    else {
      const starts = wordStarts(m[0]);
      starts.forEach((s, i) =>
        out.push({ start: at + s, end: i + 1 < starts.length ? at + starts[i + 1]! : end, special: null }),
      );
    }
    at = end;
  }
  return out;
}

/** The longest prefix of `text` with at most l_pre words, before the first `</think>`. */
export function truncateWords(text: string, l_pre: number, specials: readonly string[] = DEFAULT_SPECIALS): PrefillCut {
  checkLPre(l_pre);
  let count = 0,
    end = 0;
  for (const u of units(text, specials)) {
    if (u.special === END_THINK) return { text: text.slice(0, end), count, complete: true };
    if (u.special === null) {
      if (count === l_pre) return { text: text.slice(0, end), count, complete: false };
      count++;
    }
    end = u.end;
  }
  return { text: text.slice(0, end), count, complete: true };
}

/** The text before the first `</think>` (all of it when there is none). */
export function beforeEndThink(text: string): string {
  const at = text.indexOf(END_THINK);
  return at < 0 ? text : text.slice(0, at);
}

/** The longest token-boundary prefix of `text` (before `</think>`) of at most l_pre tokens. */
export function truncateTokens(text: string, l_pre: number, tok: CutTokenizer): PrefillCut {
  checkLPre(l_pre);
  const body = beforeEndThink(text);
  const ids = tok.encode(body); // (n) tokens of the whole thinking
  if (ids.length <= l_pre) return { text: body, count: ids.length, complete: true };
  for (let k = l_pre; k > 0; k--) {
    const prefix = tok.decode(ids.slice(0, k));
    if (!body.startsWith(prefix)) continue;
    const n = tok.encode(prefix).length;
    if (n <= l_pre) return { text: prefix, count: n, complete: false };
  }
  return { text: "", count: 0, complete: false };
}

export interface TruncateOptions {
  unit: PrefillUnit;
  l_pre: number;
  /** Required when unit is "tokens". */
  tokenizer?: CutTokenizer;
}

/** truncateWords or truncateTokens, by unit. */
export function truncatePrefill(text: string, opts: TruncateOptions): PrefillCut {
  if (opts.unit === "words") return truncateWords(text, opts.l_pre);
  if (opts.unit === "tokens") {
    if (!opts.tokenizer)
      throw new RecapError(
        'prefill unit "tokens" needs a tokenizer',
        'pass the policy\'s tokenizer, or use unit "words"',
      );
    return truncateTokens(text, opts.l_pre, opts.tokenizer);
  }
  throw new RecapError(`unknown prefill unit "${String(opts.unit)}"`, "valid units are: words, tokens");
}
