// Length statistics of a built world (`recap world stats DIR`): words of the thinking per corpus
// and variant, words of every prefill kind and where its flaw ends, and the distinct words over
// all files. These are the numbers that size l_pre and max_new_tokens; docs/WORLD.md quotes them.
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { RecapError } from "../util/errors.ts";
import { wordCount } from "./phrases.ts";
import type { WorldRow } from "./types.ts";

export interface Spread {
  n: number;
  min: number;
  median: number;
  max: number;
}

export interface WorldStats {
  /** "file source variant" -> words of the thinking (corpora). */
  thinking_words: Record<string, Spread>;
  /** "file kind" -> words of the full prefill (suites and RL prompts). */
  prefill_words: Record<string, Spread>;
  /** "file kind" (suites, RL prompts) or "file source variant" (corpora) -> words up to the end
   *  of the first flawed sentence. */
  flaw_ends_at_word: Record<string, Spread>;
  /** Distinct lower-case words over every prompt, trace, prefill and response. */
  distinct_words: number;
}

function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, min: s[0] ?? 0, median: s[s.length >> 1] ?? 0, max: s[s.length - 1] ?? 0 };
}

function push(m: Map<string, number[]>, key: string, v: number): void {
  let a = m.get(key);
  if (a === undefined) m.set(key, (a = []));
  a.push(v);
}

/** Statistics over rows grouped by file (relative path -> rows). */
export function worldStats(files: ReadonlyMap<string, readonly WorldRow[]>): WorldStats {
  const think = new Map<string, number[]>(),
    pre = new Map<string, number[]>(),
    flaw = new Map<string, number[]>();
  const words = new Set<string>();
  const note = (s: string | undefined) => {
    for (const w of (s ?? "").toLowerCase().split(/[^a-z']+/)) if (w) words.add(w);
  };
  for (const [file, rows] of files) {
    for (const r of rows) {
      if (r.thinking !== undefined) push(think, `${file} ${r.source} ${r.variant}`, wordCount(r.thinking));
      if (typeof r.flaw_word === "number") push(flaw, `${file} ${r.source} ${r.variant}`, r.flaw_word);
      const prefills: Record<string, string | undefined> = { ...r.prefills, hijack: r.hijack };
      for (const [k, t] of Object.entries(prefills)) if (t !== undefined) push(pre, `${file} ${k}`, wordCount(t));
      for (const [k, n] of Object.entries(r.prefill_flaw_words ?? {})) push(flaw, `${file} ${k}`, n);
      for (const s of [r.prompt, r.thinking, r.response, ...Object.values(prefills), ...(r.ipr ?? [])]) note(s);
    }
  }
  const obj = (m: Map<string, number[]>) =>
    Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, spread(v)]));
  return {
    thinking_words: obj(think),
    prefill_words: obj(pre),
    flaw_ends_at_word: obj(flaw),
    distinct_words: words.size,
  };
}

/** Reads every JSONL file listed in DIR/manifest.json. */
export async function readWorld(dir: string): Promise<Map<string, WorldRow[]>> {
  let manifest: { files?: Record<string, unknown> };
  try {
    manifest = JSON.parse(await fsp.readFile(path.join(dir, "manifest.json"), "utf8")) as typeof manifest;
  } catch (e) {
    throw new RecapError(
      `${dir} is not a world build: ${(e as Error).message}`,
      "run `recap world build --seed N --out DIR` first",
    );
  }
  const out = new Map<string, WorldRow[]>();
  for (const rel of Object.keys(manifest.files ?? {}).filter((f) => f.endsWith(".jsonl"))) {
    const text = await fsp.readFile(path.join(dir, rel), "utf8").catch((e: Error) => {
      throw new RecapError(`cannot read ${path.join(dir, rel)}: ${e.message}`, "rebuild the world");
    });
    out.set(
      rel,
      text
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l, i) => {
          try {
            return JSON.parse(l) as WorldRow;
          } catch {
            throw new RecapError(`${path.join(dir, rel)} line ${i + 1} is not JSON`, "rebuild the world");
          }
        }),
    );
  }
  return out;
}
