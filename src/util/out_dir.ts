// The one rule for every command that writes into an output folder (--out): the folder may be
// missing, empty, or hold that command's own earlier run (recognised by the files only it writes);
// anything else is refused with a RecapError naming the folder, so no command ever overwrites or
// deletes files it did not write (`recap model init --out .` in a project used to empty it).
//
//   checkOutDir(dir, kind)  -> void, or throws RecapError
import * as fs from "node:fs";
import { RecapError } from "./errors.ts";

/** What each writer leaves in its folder: the presence of any one marker (all, with needAll)
 *  marks the folder as its own, unless it also holds a file of another kind of output (`foreign`:
 *  `recap sft --out` on a checkpoint folder would overwrite its config.json). */
export const OUT_KINDS: Record<
  string,
  { what: string; markers: readonly string[]; needAll: boolean; foreign: readonly string[] }
> = {
  checkpoint: {
    what: "a checkpoint",
    markers: ["config.json", "model.safetensors"],
    needAll: true,
    foreign: ["metrics.jsonl", "results.jsonl"],
  },
  train: {
    what: "a training run",
    markers: ["checkpoint", "metrics.jsonl", "summary.json", "config.json"],
    needAll: false,
    foreign: ["model.safetensors", "results.jsonl", "demo_state.json"],
  },
  eval: {
    what: "an evaluation",
    markers: ["run.json", "results.jsonl"],
    needAll: false,
    foreign: ["model.safetensors", "metrics.jsonl"],
  },
  data: {
    what: "a data build",
    markers: ["summary.json", "cache", "openrlhf.jsonl", "trl.jsonl", "verl.parquet"],
    needAll: false,
    foreign: ["model.safetensors", "metrics.jsonl", "results.jsonl", "demo_state.json"],
  },
  demo: { what: "a demo", markers: ["demo_state.json"], needAll: false, foreign: [] },
  study: {
    what: "a study",
    markers: ["bases", "study.json", "summary.json"],
    needAll: false,
    foreign: ["demo_state.json", "model.safetensors", "metrics.jsonl"],
  },
  premise: {
    what: "a premise measurement",
    markers: ["premise.json", "suites", "rl"],
    needAll: false,
    foreign: ["model.safetensors", "metrics.jsonl"],
  },
};
export type OutKind = "checkpoint" | "train" | "eval" | "data" | "demo" | "study" | "premise";

/** Whether `entries` (a folder's names) are `kind`'s own earlier output. */
export function isOwnRun(entries: readonly string[], kind: OutKind): boolean {
  const k = OUT_KINDS[kind]!;
  const has = (m: string) =>
    entries.includes(m) || entries.some((e) => m === "checkpoint" && e.startsWith(".checkpoint."));
  if (k.foreign.some(has)) return false;
  return k.needAll ? k.markers.every(has) : k.markers.some(has);
}

/** Refuses an --out that is a file, or a non-empty folder that is not `kind`'s own earlier run. */
export function checkOutDir(dir: string, kind: OutKind, flag = "--out"): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code === "ENOTDIR") throw new RecapError(`${flag} ${dir} is a file, not a folder`, "give a folder path");
    throw new RecapError(`cannot read ${flag} ${dir}: ${(e as Error).message}`);
  }
  if (entries.length === 0 || isOwnRun(entries, kind)) return;
  const shown = entries.slice(0, 3).join(", ") + (entries.length > 3 ? `, ... (${entries.length} entries)` : "");
  throw new RecapError(
    `refusing to write into ${flag} ${dir}: it is not empty (${shown}) and is not ${OUT_KINDS[kind]!.what}`,
    "choose a new or empty folder for " + flag + "; nothing was written",
  );
}
