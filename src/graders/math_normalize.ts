// Minerva-style normalisation of a final answer (after Lewkowycz et al. 2022, appendix D), written
// for this project: delimiters, \left/\right and spacing commands, \$ and units in \text{} or \mbox{}
// (with their ^2 / ^3), degrees, percent (remembered as a flag), \dfrac / \tfrac -> \frac,
// shorthand \frac12 / \sqrt3, \text{X} unwrapped, spaces, trailing period, thousands commas, a
// leading "x =" or "x \in", "(C)" -> "C", ".5" -> "0.5". Pure string work; it never throws.
import { lastBoxed, matchBrace } from "./math_extract.ts";

export interface Normalized {
  /** The normalised answer text. */
  text: string;
  /** A percent sign was removed ("10\%" -> "10"). */
  percent: boolean;
  /** The answer is a word or a choice letter ("\text{Evelyn}", "(C)"): compare as a string only. */
  textual: boolean;
}

/** Answers longer than this are trimmed and compared as plain strings, without further rewriting. */
export const MAX_NORMALIZE = 2000;

/** Unit words dropped when they follow a number with a space ("10 cm", "5 dollars"). */
const BARE_UNITS = new Set(
  (
    "cm mm km m in inch inches ft foot feet yd yard yards mile miles mph kph kg g gm gram grams lb lbs " +
    "pound pounds oz ounce ounces s sec second seconds min mins minute minutes h hr hrs hour hours day days " +
    "week weeks month months year years cent cents dollar dollars unit units degree degrees point points " +
    "meter meters metre metres liter liters litre litres ml mL square sq cubic people students ways"
  ).split(" "),
);

/** Named delimiters the engine and some models print: \lparen 3, 4\rbrack is (3,4]. */
const DELIMITER_NAMES: Record<string, string> = {
  lparen: "(",
  rparen: ")",
  lbrack: "[",
  rbrack: "]",
  lbrace: "\\{",
  rbrace: "\\}",
};

function stripOuterDelimiters(s: string): string {
  let t = s.trim();
  for (;;) {
    const before = t;
    for (const [a, b] of [
      ["$$", "$$"],
      ["$", "$"],
      ["\\(", "\\)"],
      ["\\[", "\\]"],
    ] as const) {
      if (t.length >= a.length + b.length && t.startsWith(a) && t.endsWith(b)) t = t.slice(a.length, -b.length).trim();
    }
    if (t === before) return t;
  }
}

/** `\frac12` -> `\frac{1}{2}`, `\frac1{2}`, `\frac{1}2`, `\sqrt3` -> `\sqrt{3}`. */
export function fixShorthand(s: string): string {
  let out = "";
  let i = 0;
  while (i < s.length) {
    const m = /^\\(frac|sqrt)(?![a-zA-Z])/.exec(s.slice(i, i + 6));
    if (!m) {
      out += s[i];
      i++;
      continue;
    }
    const cmd = m[1] as string;
    out += `\\${cmd}`;
    i += m[0].length;
    if (cmd === "sqrt" && s[i] === "[") {
      const close = s.indexOf("]", i);
      if (close < 0) continue;
      out += s.slice(i, close + 1);
      i = close + 1;
    }
    for (let arg = 0; arg < (cmd === "frac" ? 2 : 1); arg++) {
      while (s[i] === " ") i++;
      if (i >= s.length) break;
      if (s[i] === "{") {
        const end = matchBrace(s, i);
        if (end < 0) break;
        out += `{${fixShorthand(s.slice(i + 1, end - 1))}}`;
        i = end;
      } else if (s[i] === "\\") {
        const cm = /^\\[a-zA-Z]+/.exec(s.slice(i)) ?? [s.slice(i, i + 2)];
        out += `{${cm[0]}}`;
        i += cm[0].length;
      } else {
        out += `{${s[i]}}`;
        i++;
      }
    }
  }
  return out;
}

/** Replaces `\cmd{X}` by `X` (all occurrences; nested braces respected). */
function unwrapCommand(s: string, cmd: string): string {
  const re = new RegExp(`\\\\${cmd}(?![a-zA-Z])\\s*\\{`);
  let t = s;
  for (let guard = 0; guard < 100; guard++) {
    const m = re.exec(t);
    if (!m) break;
    const open = m.index + m[0].length - 1;
    const end = matchBrace(t, open);
    if (end < 0) break;
    t = t.slice(0, m.index) + t.slice(open + 1, end - 1) + t.slice(end);
  }
  return t;
}

/** Drops a trailing unit in \text{...} (with ^2 / ^3) and a bare trailing unit word after a number. */
function stripUnits(s: string): string {
  let t = s;
  for (let guard = 0; guard < 5; guard++) {
    const m = /^(.*?[\d})\]a-zA-Z])\s*\\text\{\s*[a-zA-Z][a-zA-Z .]*\}(?:\s*\^\s*\{?\s*[23]\s*\}?)?$/.exec(t);
    if (!m || /^\\text\{[^}]*$/.test(m[1] as string)) break;
    t = (m[1] as string).trim();
  }
  const bare = /^(.*\d)\s+([a-zA-Z]+)(?:\^\{?[23]\}?)?$/.exec(t);
  if (bare && BARE_UNITS.has(bare[2] as string)) t = (bare[1] as string).trim();
  return t;
}

function dropDegreesAndPercent(s: string): { t: string; percent: boolean } {
  let t = s.replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°|\\degree(?![a-zA-Z])/g, "");
  t = t.replace(/\\text\{\s*degrees?\s*\}/g, "");
  const percent = /\\?%|\\text\{\s*percent\s*\}/.test(t);
  t = t.replace(/\\?%|\\text\{\s*percent\s*\}/g, "");
  return { t, percent };
}

/** A leading "x =" / "y_1 =" (one variable, one "=") or "x \in" is dropped. */
function dropLeadingVariable(s: string): string {
  const eq = /^[a-zA-Z](?:_\{?[a-zA-Z0-9]+\}?)?=(?!.*=)/.exec(s);
  if (eq) return s.slice(eq[0].length);
  const inSet = /^[a-zA-Z]\\in(?![a-zA-Z])/.exec(s);
  return inSet ? s.slice(inSet[0].length) : s;
}

function stripOuterBraces(s: string): string {
  let t = s;
  while (t.startsWith("{") && matchBrace(t, 0) === t.length) t = t.slice(1, -1);
  return t;
}

/** Everything up to unwrapping \text: delimiters, \boxed, spacing, \left/\right, units. */
function rewriteLatex(s: string): { t: string; percent: boolean } {
  let t = stripOuterDelimiters(s);
  const boxed = /^\\(?:boxed|fbox)(?![a-zA-Z])/.test(t) ? lastBoxed(t) : null;
  if (boxed !== null) t = boxed;
  t = t.replace(/\\[dt]frac(?![a-zA-Z])/g, "\\frac").replace(/\\[dt]binom(?![a-zA-Z])/g, "\\binom");
  t = t.replace(/\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)(?![a-zA-Z])\s*/g, "");
  t = t.replace(/\\(?:displaystyle|textstyle)(?![a-zA-Z])/g, "");
  t = t.replace(
    /\\(lparen|rparen|lbrack|rbrack|lbrace|rbrace)(?![a-zA-Z])\s*/g,
    (_m, n: string) => DELIMITER_NAMES[n] ?? "",
  );
  // spacing commands and \$ go; a row break \\ (as in pmatrix) is kept
  t = t.replace(/\\\\|\\[!,;:> ]|\\q?quad(?![a-zA-Z])|~/g, (m) => (m === "\\\\" ? m : " "));
  t = t.replace(/\\\\|\\\$|\$/g, (m) => (m === "\\\\" ? m : ""));
  t = t.replace(/\\(?:mbox|textrm|textnormal|textbf|textit|textup|mathrm|mathbf)(?![a-zA-Z])/g, "\\text");
  t = t.replace(/\{,\}/g, ",");
  const dp = dropDegreesAndPercent(t);
  t = stripUnits(dp.t.trim());
  return { t, percent: dp.percent };
}

/** Normalises a final answer for comparison (see the module comment). Never throws. */
export function normalizeDetailed(answer: unknown): Normalized {
  if (typeof answer !== "string") return { text: "", percent: false, textual: false };
  if (answer.length > MAX_NORMALIZE) return { text: answer.trim(), percent: false, textual: true };
  const { t: rewritten, percent } = rewriteLatex(answer);
  const wordInText = /^\\text\{\s*[^{}]*[a-zA-Z]{2,}[^{}]*\}$/.test(rewritten);
  let t = unwrapCommand(rewritten, "text");
  t = unwrapCommand(t, "textsf");
  // spaces go, except the one that ends a command before a letter ("\\cot x" stays parseable)
  t = t
    .replace(/(\\[a-zA-Z]+)\s+(?=[a-zA-Z])/g, "$1\u0000")
    .replace(/\s+/g, "")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL marks the kept spaces
    .replace(/\u0000/g, " ");
  t = t.replace(/\.+$/, "");
  t = stripOuterBraces(t);
  t = fixShorthand(t);
  if (/^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(t)) t = t.replace(/,/g, "");
  t = dropLeadingVariable(t);
  t = t.replace(/^(-?)\.(?=\d)/, (_m, sign: string) => `${sign}0.`).replace(/^\+(?=\d)/, "");
  const choice = /^\(([A-Ea-e])\)$/.exec(t);
  if (choice) t = (choice[1] as string).toUpperCase();
  const textual =
    wordInText || choice !== null || /^[a-zA-Z]{3,}$/.test(t) || (/^[A-E]$/.test(t) && /[(]|\\text/.test(answer));
  return { text: t, percent, textual };
}

/** The normalised answer text (see normalizeDetailed). */
export function normalizeAnswer(answer: unknown): string {
  return normalizeDetailed(answer).text;
}
