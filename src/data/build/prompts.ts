// The training prompts of a data build: every prompt set of the config loaded with its loader,
// cut to `limit`, given its set's suffix, a global id `<set>/<row id>`, its reward route and, for
// math, its gold answer (a math row without one is an error naming the file and row). XSTest
// (`format: xstest`) holds 250 safe prompts and 200 unsafe contrast prompts in one file: a set of
// kind over_refusal keeps only its `label == safe` rows (the unsafe ones are harmful prompts, whose
// refusal is right), a set of kind harmful only its `label == unsafe` rows; `limit` counts after that.
import type { PromptSource } from "../../recap/mixture.ts";
import { RecapError } from "../../util/errors.ts";
import { loadBenchmark } from "../../eval/loaders/index.ts";
import type { PromptKind, PromptSet } from "./config.ts";
import { MATH_SUFFIX, ROUTE_OF_KIND } from "./config.ts";

export interface BuildItem {
  /** `<set>/<row id>`, unique over the build. */
  id: string;
  set: string;
  kind: PromptKind;
  /** The mixture's prompt source (harmful / benign / math): src/recap/mixture.ts. */
  source: PromptSource;
  /** The reward route, written as `datasource` in every export. */
  datasource: string;
  /** The user's request as it was in the file. */
  question: string;
  /** The user message the policy sees (question + the set's suffix). */
  prompt: string;
  /** The gold answer (math). */
  answer?: string;
}

const SOURCE_OF_KIND: Readonly<Record<PromptKind, PromptSource>> = {
  harmful: "harmful",
  over_refusal: "benign",
  math: "math",
};

function goldOf(row: Record<string, unknown>): string | undefined {
  for (const k of ["gold", "answer"]) {
    const v = row[k];
    if (typeof v === "string" && v.trim() !== "") return v;
    if (typeof v === "number" && Number.isFinite(v)) return String(v);
  }
  return undefined;
}

/** XSTest's label a set of this kind keeps (undefined: every row). */
export function xstestLabelOf(set: Pick<PromptSet, "format" | "kind">): "safe" | "unsafe" | undefined {
  if (set.format !== "xstest") return undefined;
  return set.kind === "over_refusal" ? "safe" : set.kind === "harmful" ? "unsafe" : undefined;
}

/** Loads one prompt set. */
export async function loadPromptSet(set: PromptSet): Promise<BuildItem[]> {
  const all = (await loadBenchmark(set.format, set.file)) as unknown as (Record<string, unknown> & {
    id: string;
    prompt: string;
  })[];
  const label = xstestLabelOf(set);
  const rows = label === undefined ? all : all.filter((r) => r["label"] === label);
  if (rows.length === 0 && all.length > 0)
    throw new RecapError(
      `${set.file}: prompt set "${set.name}" (kind ${set.kind}) keeps XSTest rows with label ${label} and the file has none`,
      "check the file, or the set's kind",
    );
  const kept = set.limit !== undefined ? rows.slice(0, set.limit) : rows;
  const suffix = set.suffix ?? (set.kind === "math" ? MATH_SUFFIX : "");
  return kept.map((r) => {
    const answer = set.kind === "math" ? goldOf(r) : undefined;
    if (set.kind === "math" && answer === undefined)
      throw new RecapError(
        `${set.file}: math row "${r.id}" has no gold answer`,
        "math rows need an `answer` (or `gold`) field; use format gsm8k / math500 / aime for those files",
      );
    return {
      id: `${set.name}/${r.id}`,
      set: set.name,
      kind: set.kind,
      source: SOURCE_OF_KIND[set.kind],
      datasource: ROUTE_OF_KIND[set.kind],
      question: r.prompt,
      prompt: r.prompt + suffix,
      ...(answer !== undefined ? { answer } : {}),
    };
  });
}

/** Loads every prompt set, in config order. */
export async function loadPromptSets(sets: readonly PromptSet[]): Promise<BuildItem[]> {
  const out: BuildItem[] = [];
  for (const s of sets) out.push(...(await loadPromptSet(s)));
  if (out.length === 0)
    throw new RecapError("the prompt sets hold no prompts", "check the files and limits under `prompts`");
  return out;
}
