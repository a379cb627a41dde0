// Final-answer extraction from a math completion or solution, as named strategies tried in order:
//   boxed        the last \boxed{...} / \fbox{...} (nested braces; `\boxed 5` without braces too)
//   gsm8k        the last `#### N` line (GSM8K's gold format)
//   answer-is    the last "the (final) answer is X" / "Answer: X"
//   last-number  the last number in the text (integers, thousands commas, decimals, a/b)
// Extraction never throws on odd text: a strategy that finds nothing returns null. Only an unknown
// strategy name (a configuration error) throws a RecapError listing the valid names.
import { RecapError } from "../util/errors.ts";

export type ExtractStrategy = (text: string) => string | null;

/** Longest text searched; longer completions are searched in their last MAX_TEXT characters. */
export const MAX_TEXT = 200_000;

/** Index just past the group that opens at text[open] === "{", or -1 when it never closes. */
export function matchBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      i++; // an escaped character (\{ \} \\) never opens or closes a group
      continue;
    }
    if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i + 1;
  }
  return -1;
}

/** The argument of the LaTeX command ending at `from`: a braced group or the next token. */
function commandArgument(text: string, from: number): string | null {
  let i = from;
  while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  if (i >= text.length) return null;
  if (text[i] === "{") {
    const end = matchBrace(text, i);
    return end < 0 ? null : text.slice(i + 1, end - 1);
  }
  if (i === from) return null; // `\boxedx`: another command, not \boxed
  const m = /^[^\s$]+/.exec(text.slice(i, i + 200));
  return m ? m[0] : null;
}

const BOX_RE = /\\(?:boxed|fbox)(?![a-zA-Z])/g;

/** The content of the last \boxed{...} or \fbox{...}; null when there is none or it never closes. */
export function lastBoxed(text: string): string | null {
  let last = -1;
  let lastEnd = -1;
  for (const m of text.matchAll(BOX_RE)) {
    last = m.index;
    lastEnd = m.index + m[0].length;
  }
  if (last < 0) return null;
  const arg = commandArgument(text, lastEnd);
  return arg === null ? null : arg.trim();
}

function gsm8k(text: string): string | null {
  let found: string | null = null;
  for (const m of text.matchAll(/####[ \t]*([^\n]*)/g)) found = m[1] ?? null;
  if (found === null) return null;
  const s = found.trim().replace(/\.$/, "").trim();
  return s === "" ? null : s;
}

/** Strips one layer of inline-math delimiters ($...$, \(...\), \[...\]) and bold markers. */
function stripMathDelimiters(s: string): string {
  let t = s
    .trim()
    .replace(/^\*\*|\*\*$/g, "")
    .trim();
  for (const [a, b] of [
    ["$$", "$$"],
    ["$", "$"],
    ["\\(", "\\)"],
    ["\\[", "\\]"],
  ] as const) {
    if (t.startsWith(a) && t.endsWith(b) && t.length >= a.length + b.length) {
      t = t.slice(a.length, t.length - b.length).trim();
      break;
    }
  }
  return t;
}

function answerIs(text: string): string | null {
  const re = /(?:final answer|the answer|answer)\s*(?:is|:)\s*:?\s*([^\n]*)/gi;
  let found: string | null = null;
  for (const m of text.matchAll(re)) found = m[1] ?? null;
  if (found === null) return null;
  let s = found.replace(/^\*+\s*/, "").replace(/\.\s.*$/, ""); // to the end of the sentence
  const box = lastBoxed(s);
  if (box !== null) return box;
  s = stripMathDelimiters(s.replace(/[.\s]+$/, ""));
  return s === "" ? null : s;
}

const NUMBER_RE = /-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\/\d+)?|-?\.\d+/g;

function lastNumber(text: string): string | null {
  let found: string | null = null;
  for (const m of text.matchAll(NUMBER_RE)) found = m[0];
  return found;
}

/** The extraction strategies by name, in their default order. */
export const EXTRACT_STRATEGIES: Readonly<Record<string, ExtractStrategy>> = {
  boxed: lastBoxed,
  gsm8k,
  "answer-is": answerIs,
  "last-number": lastNumber,
};

export const DEFAULT_STRATEGIES: readonly string[] = ["boxed", "gsm8k", "answer-is", "last-number"];

export interface ExtractOptions {
  /** Strategy names tried in order (default: all four, in the order above). */
  strategies?: readonly string[];
}

export interface Extraction {
  answer: string;
  strategy: string;
}

/** Resolves strategy names, throwing a RecapError that lists the valid ones for an unknown name. */
export function resolveStrategies(names: readonly string[]): Array<[string, ExtractStrategy]> {
  return names.map((n) => {
    const fn = EXTRACT_STRATEGIES[n];
    if (!fn)
      throw new RecapError(
        `unknown answer-extraction strategy "${n}"`,
        `use one of: ${Object.keys(EXTRACT_STRATEGIES).join(", ")}`,
      );
    return [n, fn];
  });
}

/** The answer and the strategy that found it, or null when no strategy finds one. */
export function extractAnswerWith(text: unknown, opts: ExtractOptions = {}): Extraction | null {
  const strategies = resolveStrategies(opts.strategies ?? DEFAULT_STRATEGIES);
  if (typeof text !== "string" || text.length === 0) return null;
  const t = text.length > MAX_TEXT ? text.slice(text.length - MAX_TEXT) : text;
  for (const [name, fn] of strategies) {
    const a = fn(t);
    if (a !== null && a.trim() !== "") return { answer: a.trim(), strategy: name };
  }
  return null;
}

/** The final answer of `text` (see the strategies above), or null. */
export function extractAnswer(text: unknown, opts: ExtractOptions = {}): string | null {
  return extractAnswerWith(text, opts)?.answer ?? null;
}
