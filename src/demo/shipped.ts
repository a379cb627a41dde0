// The shipped base reasoning model: a checkpoint committed under models/, trained by
// configs/world-base.yaml on the base SFT corpus of one world version and seed, so that the quick
// demo need not spend ten minutes training it. It is regenerable bit-for-bit by one command
// (`npm run base:regenerate`: the WebAssembly kernels give identical weights on one or two
// threads), and its provenance records the corpus it was trained on: the demo uses it only when
// the world it just built has that exact corpus (same version, same seed, same bytes).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { CONFIG_FILE, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE } from "../model/checkpoint.ts";
import { replaceDirAtomic } from "../util/atomic.ts";
import { RecapError } from "../util/errors.ts";
import { WORLD_VERSION } from "../world/lexicon.ts";

/** The repository root (this file is src/demo/shipped.ts). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export const BASE_CORPUS = "corpora/base_sft.jsonl";
export const MODEL_FILES = [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE, TOKENIZER_CONFIG_FILE] as const;
export const PROVENANCE_FILE = "provenance.json";

export interface Provenance {
  world_version: string;
  world_seed: number;
  /** sha256 of the world's corpora/base_sft.jsonl the model was trained on. */
  corpus_sha256: string;
  /** The resolved SFT config (data path aside). */
  sft_config: Record<string, unknown>;
  steps: number;
  final_loss: number;
  /** sha256 of every model file. */
  files: Record<string, string>;
  command: string;
}

/** The folder of the shipped base for a world version and seed. */
export function shippedBaseDir(worldSeed: number, version = WORLD_VERSION): string {
  return path.join(REPO_ROOT, "models", `base-${version.replace(/[^a-z0-9]+/gi, "-")}-seed${worldSeed}`);
}

export function sha256File(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

export function readProvenance(dir: string): Provenance | undefined {
  const file = path.join(dir, PROVENANCE_FILE);
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as Provenance;
  } catch (e) {
    throw new RecapError(
      `${file} is not valid JSON (${(e as Error).message})`,
      "restore it with git, or regenerate it: npm run base:regenerate",
    );
  }
}

/** Why the shipped base does not fit this world (undefined: it fits and its files are intact). */
export function shippedMismatch(dir: string, worldDir: string): string | undefined {
  const p = readProvenance(dir);
  if (!p) return `no shipped base in ${path.relative(REPO_ROOT, dir) || dir}`;
  if (p.world_version !== WORLD_VERSION)
    return `the shipped base was trained on ${p.world_version}, the world is ${WORLD_VERSION}`;
  const corpus = path.join(worldDir, BASE_CORPUS);
  if (!fs.existsSync(corpus)) return `${corpus} is missing`;
  if (sha256File(corpus) !== p.corpus_sha256)
    return `the shipped base was trained on another base corpus than ${corpus}`;
  for (const f of MODEL_FILES) {
    const file = path.join(dir, f);
    if (!fs.existsSync(file)) return `${file} is missing`;
    if (sha256File(file) !== p.files[f]) return `${file} differs from its provenance record`;
  }
  return undefined;
}

/** Copies the shipped model files into `dest` (a checkpoint folder without trainer state), atomically. */
export async function copyShipped(dir: string, dest: string): Promise<void> {
  await replaceDirAtomic(dest, async (tmp) => {
    for (const f of MODEL_FILES) await fsp.copyFile(path.join(dir, f), path.join(tmp, f));
  });
}
