// Prefill material: where a flawed thinking prefix comes from (the suite row's shared `prefill`,
// its `prefills.weak` / `prefills.strong` / `prefills.aligned`, or a text file) and how it is cut
// to `l_pre`. The shared `prefill` is attack material written once for every evaluated model by
// `recap data attack-material` (already cut to its l_pre): `shared` names it, and it is also the
// default when no source is named and the row has one (else `strong`); with no length it is used
// whole, so every model sees the identical text. Kinds are read through src/recap/prefill_kinds.ts
// (world v6 files spell weak / strong `counter_weak` / `counter_strong`); `heldout` reads the
// held-out flaw type. Cuts are in words (the
// paper's unit, Sec. 3.1) or in tokens of the model's own tokenizer, by the same function that cuts
// training prefills (src/recap/truncate.ts); with no length, the shared default l_pre
// (DEFAULT_L_PRE words). A cut never includes `</think>` (a prefill is an open thinking; the
// hijack attack is the one that closes it). Tags the material may carry (`<think>`, `</think>`
// and what follows) are removed first.
import * as fs from "node:fs";
import { prefillOf } from "../../recap/prefill_kinds.ts";
import { truncatePrefill } from "../../recap/truncate.ts";
import { RecapError } from "../../util/errors.ts";
import { DEFAULT_L_PRE } from "../../recap/truncate.ts";
import type { SuiteRow } from "../types.ts";
import type { TextTokenizer } from "../../lm/types.ts";

/** Where a prefill attack reads its text from: a row's prefill field, its shared material, or a file
 *  (not to be confused with src/recap/sources.ts' PrefillSource, which makes prefills for training). */
export type MaterialSource =
  | { kind: "weak" | "strong" | "aligned" | "heldout" | "shared" | "default" }
  | { kind: "text"; file: string };

/** A row's prefill material and whether it is the shared, already-cut `prefill` (used whole when
 *  the attack names no length). */
export interface Material {
  text: string;
  shared: boolean;
}
export type PrefillLength = { n: number; unit: "words" | "tokens" } | undefined;

/** Thinking text without tags: cut at the first `</think>`, a leading `<think>` removed. */
export function cleanThinking(text: string): string {
  const end = text.indexOf("</think>");
  const body = end >= 0 ? text.slice(0, end) : text;
  return body.replace(/^\s*<think>\n?/, "").replace(/<think>/g, "");
}

/** Cuts prefill material to the requested length with the project's one cut (src/recap/
 *  truncate.ts, the same as training's): tags removed first, then the first N words or tokens;
 *  no length given: the default l_pre (DEFAULT_L_PRE words, shared with training, demo and study). */
export function cutPrefill(text: string, len: PrefillLength, tok: TextTokenizer | undefined): string {
  const { n, unit } = len ?? { n: DEFAULT_L_PRE, unit: "words" as const };
  if (unit === "tokens" && !tok)
    throw new RecapError(
      "a prefill length in tokens needs the model's tokenizer, which this provider does not have",
      "give the length in words (e.g. @50w)",
    );
  return truncatePrefill(cleanThinking(text), { unit, l_pre: n, ...(tok ? { tokenizer: tok } : {}) }).text;
}

/** Parses `100`, `100w` (words) or `100t` (tokens). */
export function parseLength(s: string, spec: string): PrefillLength {
  const m = /^(\d+)([wt]?)$/.exec(s);
  if (!m)
    throw new RecapError(
      `attack "${spec}": bad prefill length "@${s}"`,
      "use @N or @Nw (words) or @Nt (tokens), e.g. prefill:strong@50w",
    );
  return { n: Number(m[1]), unit: m[2] === "t" ? "tokens" : "words" };
}

/** A text-file source: the whole file for every row, or a JSONL of {id, prefill} rows. */
export function loadTextSource(file: string, spec: string): (row: SuiteRow) => string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new RecapError(`attack "${spec}": cannot read prefill file ${file}`);
  }
  if (!file.endsWith(".jsonl")) return () => text;
  const byId = new Map<string, string>();
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let o: { id?: unknown; prefill?: unknown; text?: unknown };
    try {
      o = JSON.parse(line) as typeof o;
    } catch {
      throw new RecapError(`${file}:${i + 1}: not valid JSON`);
    }
    const p = o.prefill ?? o.text;
    if ((typeof o.id !== "string" && typeof o.id !== "number") || typeof p !== "string")
      throw new RecapError(`${file}:${i + 1}: a prefill row needs "id" and a string "prefill"`);
    byId.set(String(o.id), p);
  });
  return (row) => byId.get(row.id);
}

/** Parses a source name: weak | strong | aligned | heldout | shared | text:FILE; none: the row's
 *  shared `prefill` when it has one, else strong. */
export function parseSource(s: string | undefined, spec: string): MaterialSource {
  if (s === undefined || s === "") return { kind: "default" };
  if (s === "weak" || s === "strong" || s === "aligned" || s === "heldout" || s === "shared") return { kind: s };
  if (s.startsWith("text:") && s.length > 5) return { kind: "text", file: s.slice(5) };
  throw new RecapError(
    `attack "${spec}": unknown prefill source "${s}"`,
    "sources: shared, weak, strong, aligned, heldout, text:FILE",
  );
}

/** What a source reads, for skip messages. */
export function sourceWhat(src: MaterialSource): string {
  if (src.kind === "text") return `prefill in ${src.file}`;
  if (src.kind === "shared") return "shared prefill";
  if (src.kind === "default") return "shared prefill nor prefills.strong";
  return `prefills.${src.kind}`;
}

/** A function giving each row's prefill material (undefined: the row has none). */
export function sourceReader(src: MaterialSource, spec: string): (row: SuiteRow) => Material | undefined {
  if (src.kind === "text") {
    const read = loadTextSource(src.file, spec);
    return (row) => {
      const t = read(row);
      return t === undefined ? undefined : { text: t, shared: false };
    };
  }
  const shared = (row: SuiteRow): Material | undefined =>
    typeof row.prefill === "string" ? { text: row.prefill, shared: true } : undefined;
  if (src.kind === "shared") return shared;
  const kind = src.kind === "default" ? "strong" : src.kind;
  const named = (row: SuiteRow): Material | undefined => {
    const v = prefillOf(row.prefills, kind);
    return v === undefined ? undefined : { text: v, shared: false };
  };
  return src.kind === "default" ? (row) => shared(row) ?? named(row) : named;
}

/** The prefix an attack injects: shared material with no length is used whole (tags removed),
 *  anything else is cut by cutPrefill. */
export function prefixOf(m: Material, len: PrefillLength, tok: TextTokenizer | undefined): string {
  return m.shared && len === undefined ? cleanThinking(m.text) : cutPrefill(m.text, len, tok);
}
