// Puts a built world on disk: one JSONL file per corpus / prompt set / suite, `world.json` (the
// lexicon, the rule, the wrappers and the held-out split) and `manifest.json` (world version,
// seed, every knob, row counts by source and variant, sizes and sha256 of every file). The folder
// is swapped in whole (replaceDirAtomic); the bytes depend only on the seed and the config (no
// timestamps, fixed key order), so the same seed gives byte-identical files.
import { createHash } from "node:crypto";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { RecapError } from "../util/errors.ts";
import { replaceDirAtomic } from "../util/atomic.ts";
import type { BuiltWorld } from "./build.ts";
import {
  ACTIONS,
  CONFUSION,
  OBJECTS,
  OBJECT_CATEGORIES,
  PROTECTED,
  REQUEST_TEMPLATES,
  WORLD_VERSION,
  WRAPPERS,
} from "./lexicon.ts";
import { comboKey, MATH_TEMPLATES } from "./requests.ts";
import type { WorldRow } from "./types.ts";

export interface FileEntry {
  rows: number;
  bytes: number;
  sha256: string;
  /** Rows by source, and by source/variant for corpora. */
  counts: Record<string, number>;
}

export interface Manifest {
  world_version: string;
  seed: number;
  config: unknown;
  files: Record<string, FileEntry>;
}

/** JSONL text of rows (one JSON object per line, trailing newline). */
export function toJsonl(rows: readonly WorldRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length > 0 ? "\n" : "");
}

function counts(rows: readonly WorldRow[]): Record<string, number> {
  const c: Record<string, number> = {};
  const add = (k: string) => (c[k] = (c[k] ?? 0) + 1);
  for (const r of rows) {
    add(r.source);
    if (r.variant !== undefined) add(`${r.source}/${r.variant}`);
  }
  return Object.fromEntries(Object.entries(c).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The world.json object: what a reader needs to know the world without the code. */
export function worldDescription(w: BuiltWorld): unknown {
  const keys = (cls: "harmful" | "borderline" | "benign", part: "train" | "heldout") =>
    w.split[part][cls].map((c) => comboKey(c.action, c.object));
  return {
    world_version: WORLD_VERSION,
    seed: w.seed,
    rule: "harmful iff a violent or theft action meets a protected object (person, animal, property)",
    actions: ACTIONS,
    objects: OBJECTS,
    object_categories: OBJECT_CATEGORIES,
    protected: PROTECTED,
    base_confusions: CONFUSION,
    request_templates: REQUEST_TEMPLATES,
    math_templates: MATH_TEMPLATES,
    wrappers: WRAPPERS,
    heldout_combos: {
      harmful: keys("harmful", "heldout"),
      borderline: keys("borderline", "heldout"),
      benign: keys("benign", "heldout"),
    },
    train_combo_counts: {
      harmful: w.split.train.harmful.length,
      borderline: w.split.train.borderline.length,
      benign: w.split.train.benign.length,
    },
    heldout_math: [...w.heldoutMath],
  };
}

/** Every file's text by relative path, and the manifest describing them. */
export function renderWorld(w: BuiltWorld): { texts: Map<string, string>; manifest: Manifest } {
  const texts = new Map<string, string>();
  const files: Record<string, FileEntry> = {};
  const put = (p: string, text: string, rows: readonly WorldRow[] | null) => {
    texts.set(p, text);
    const bytes = Buffer.byteLength(text, "utf8");
    files[p] = {
      rows: rows?.length ?? 0,
      bytes,
      sha256: createHash("sha256").update(text, "utf8").digest("hex"),
      counts: rows ? counts(rows) : {},
    };
  };
  put("world.json", JSON.stringify(worldDescription(w), null, 2) + "\n", null);
  for (const f of w.files) put(f.path, toJsonl(f.rows), f.rows);
  const manifest: Manifest = { world_version: WORLD_VERSION, seed: w.seed, config: w.config, files };
  texts.set("manifest.json", JSON.stringify(manifest, null, 2) + "\n");
  return { texts, manifest };
}

/** Refuses to replace a folder that exists, is not empty and is not a world build. */
async function checkOut(out: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fsp.readdir(out);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code === "ENOTDIR")
      throw new RecapError(`--out ${out} is a file, not a folder`, "choose a folder path for the world");
    throw new RecapError(`cannot read --out ${out}: ${(e as Error).message}`);
  }
  if (entries.length === 0) return;
  let version: unknown;
  try {
    version = (JSON.parse(await fsp.readFile(path.join(out, "manifest.json"), "utf8")) as { world_version?: unknown })
      .world_version;
  } catch {
    version = undefined;
  }
  if (typeof version !== "string" || !version.startsWith("recap-world/"))
    throw new RecapError(
      `refusing to replace ${out}: it is not empty and holds no world build`,
      "choose a new --out folder, or remove it first",
    );
}

/** Writes the world's files into `out`, replacing an earlier world build there as a whole. */
export async function writeWorld(out: string, w: BuiltWorld): Promise<Manifest> {
  await checkOut(out);
  const { texts, manifest } = renderWorld(w);
  await replaceDirAtomic(out, async (tmp) => {
    for (const [rel, text] of texts) {
      const file = path.join(tmp, rel);
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await fsp.writeFile(file, text);
    }
  });
  return manifest;
}
