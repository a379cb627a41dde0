// Byte-level building blocks of the tokenizer: the GPT-2 bytes-to-unicode alphabet, the Qwen2
// pre-tokenizer split regex, and the fixed special (added) tokens.
//
// Alphabet: each byte 0..255 is written as one BMP character. Printable bytes ("!".."~",
// "¡".."¬", "®".."ÿ") stand for themselves; the other 68 bytes map, in increasing byte order, to
// U+0100.. (so 0x00 -> "Ā", 0x20 " " -> "Ġ", 0x0A "\n" -> "Ċ"). A token's text is the
// concatenation of its bytes' characters; this is what tokenizer.json and GGUF store.
//
// Pre-tokenizer: llama.cpp's `tokenizer.ggml.pre = "qwen2"`, i.e. HF's Split(Isolated) with the
// Oniguruma pattern QWEN2_PATTERN. JS has no inline `(?i:`, so the contractions are expanded with
// ASCII case classes (as llama.cpp and tokenizers.js do), and `\s`/`\S` become
// `\p{White_Space}`/`\P{White_Space}` because Oniguruma's `\s` is Unicode White_Space (it has
// U+0085, JS's `\s` has not; JS's `\s` has U+FEFF, Oniguruma's has not).

/** Special tokens, ids 0..6 in this order, by the name used in `Tokenizer.specialIds`. */
export const SPECIAL_TOKENS = [
  { name: "pad", content: "<pad>", type: "control" },
  { name: "eos", content: "<eos>", type: "control" },
  { name: "system", content: "<|system|>", type: "control" },
  { name: "user", content: "<|user|>", type: "control" },
  { name: "assistant", content: "<|assistant|>", type: "control" },
  { name: "think", content: "<think>", type: "user_defined" },
  { name: "endThink", content: "</think>", type: "user_defined" },
] as const;

export type SpecialName = (typeof SPECIAL_TOKENS)[number]["name"];
/** llama.cpp token types (GGUF `tokenizer.ggml.token_type`: normal 1, control 3, user_defined 4). */
export type TokenType = "normal" | "control" | "user_defined";

/** The Qwen2 pre-tokenizer pattern exactly as HF tokenizers (Oniguruma) and tokenizer.json spell it. */
export const QWEN2_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** QWEN2_PATTERN as a JS regex (see the file comment for the two translations). */
export const PRETOKEN_REGEX =
  /'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\p{White_Space}\p{L}\p{N}]+[\r\n]*|\p{White_Space}*[\r\n]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

/** BYTE_TO_CHAR[b] is the one-character text of byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildByteAlphabet();
/** The inverse of BYTE_TO_CHAR. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

function buildByteAlphabet(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) out.push(String.fromCharCode(printable(b) ? b : next++));
  return out;
}

const utf8 = new TextEncoder();

/** The byte-alphabet text of a string's UTF-8 bytes ("é" -> "Ã©"). */
export function toByteText(s: string): string {
  let out = "";
  for (const b of utf8.encode(s)) out += BYTE_TO_CHAR[b]!;
  return out;
}

/** The bytes of a byte-alphabet text; throws on a character outside the alphabet. */
export function fromByteText(t: string): Uint8Array {
  const out = new Uint8Array(t.length);
  for (let i = 0; i < t.length; i++) {
    const b = CHAR_TO_BYTE.get(t[i]!);
    if (b === undefined)
      throw new Error(
        `character U+${t.charCodeAt(i).toString(16).padStart(4, "0")} of ${JSON.stringify(t)} is not in the byte alphabet`,
      );
    out[i] = b;
  }
  return out;
}

/**
 * Splits text into pre-tokens with the Qwen2 regex, keeping every character ("Isolated": matches
 * are pieces, and so would be any unmatched gap, though the pattern leaves none).
 */
export function preTokenize(text: string): string[] {
  const out: string[] = [];
  let last = 0;
  for (const m of text.matchAll(PRETOKEN_REGEX)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[0].length > 0) out.push(m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** A global regex matching any of `contents`, longest first at each position; null for none. */
export function specialRegex(contents: readonly string[]): RegExp | null {
  if (contents.length === 0) return null;
  const sorted = [...contents].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  return new RegExp(sorted.map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|"), "gu");
}

/** Splits text around special-token matches: the pieces alternate text, special, text, ... */
export function splitSpecial(text: string, re: RegExp | null): { text: string; special: string | null }[] {
  if (re === null) return [{ text, special: null }];
  const out: { text: string; special: string | null }[] = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    out.push({ text: text.slice(last, m.index), special: m[0] });
    last = m.index + m[0].length;
  }
  out.push({ text: text.slice(last), special: null });
  return out;
}
