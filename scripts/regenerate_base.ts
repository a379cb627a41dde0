// Regenerates the shipped base reasoning model (models/base-<world version>-seed<N>/) from
// scratch: builds the world, trains configs/world-base.yaml on its base SFT corpus with the
// WebAssembly kernels (bit-identical on one or two threads), and writes the model files with a
// provenance record (world version and seed, corpus sha256, resolved config, file hashes).
//
//   npm run base:regenerate                       # world seed 1, about 10-20 minutes on 2 cores
//   npm run base:regenerate -- --check            # retrain in runs/ and compare with the shipped files
//   npm run base:regenerate -- --from runs/base   # package a finished run of configs/world-base.yaml
//                                                 # (its config and training texts are checked first;
//                                                 # --from-data FILE: its corpus, if not relative to configs/)
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  REPO_ROOT,
  BASE_CORPUS,
  MODEL_FILES,
  PROVENANCE_FILE,
  type Provenance,
  copyShipped,
  readProvenance,
  sha256File,
  shippedBaseDir,
} from "../src/demo/shipped.ts";
import { runSft } from "../src/train/sft.ts";
import { SftConfigSchema } from "../src/train/sft_config.ts";
import { readTexts } from "../src/train/sft_data.ts";
import { writeFileAtomic } from "../src/util/atomic.ts";
import { loadConfigFile, validateConfig } from "../src/util/config_file.ts";
import { buildWorld } from "../src/world/build.ts";
import { parseWorldConfig } from "../src/world/config.ts";
import { WORLD_VERSION } from "../src/world/lexicon.ts";
import { writeWorld } from "../src/world/write.ts";

/** sha256 of the training texts of a JSONL corpus, in order. */
function textsSha(file: string): string {
  return createHash("sha256")
    .update(JSON.stringify(readTexts(file)))
    .digest("hex");
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seed = Number(flag("--seed") ?? "1");
const check = process.argv.includes("--check");
const from = flag("--from");
const work = path.join(REPO_ROOT, "runs", `regenerate-base-seed${seed}`);
const world = path.join(work, "world");

await writeWorld(world, buildWorld(seed, parseWorldConfig({})));
const corpus = path.join(world, BASE_CORPUS);
const preset = await loadConfigFile(path.join(REPO_ROOT, "configs", "world-base.yaml"), SftConfigSchema);
const config = validateConfig({ ...preset, data: corpus }, SftConfigSchema, "configs/world-base.yaml");
const { data: _data, kernels: _k, ...recorded } = config;

let runDir: string;
if (from !== undefined) {
  runDir = path.resolve(from);
  const used = JSON.parse(fs.readFileSync(path.join(runDir, "config.json"), "utf8")) as Record<string, unknown>;
  const { data: usedData, kernels: _uk, ...usedRest } = used;
  if (JSON.stringify(usedRest) !== JSON.stringify(recorded))
    throw new Error(`${runDir} was not trained with configs/world-base.yaml's knobs`);
  // A relative data path is the config's own, relative to configs/ (configs/world-base.yaml);
  // --from-data names the corpus of a run made from a config elsewhere.
  const dataPath =
    flag("--from-data") ??
    (path.isAbsolute(String(usedData)) ? String(usedData) : path.resolve(REPO_ROOT, "configs", String(usedData)));
  // What the model saw is the corpus's `text` fields in order; a run on a corpus built under
  // another version label but with the same texts (a base-only candidate that became the
  // default) is the same training.
  if (textsSha(dataPath) !== textsSha(corpus))
    throw new Error(`${runDir} was trained on other texts than world seed ${seed}'s base corpus`);
} else {
  runDir = path.join(work, "base");
  fs.rmSync(runDir, { recursive: true, force: true });
  await runSft({ config: { ...config, kernels: "wasm-threads" }, configDir: work, out: runDir });
}
const ckpt = path.join(runDir, "checkpoint");
const summary = JSON.parse(fs.readFileSync(path.join(runDir, "summary.json"), "utf8")) as {
  steps: number;
  final_loss: number;
};
if (summary.steps !== config.steps) throw new Error(`${runDir} stopped at step ${summary.steps} of ${config.steps}`);
const files = Object.fromEntries(MODEL_FILES.map((f) => [f, sha256File(path.join(ckpt, f))]));
const dest = shippedBaseDir(seed);

if (check) {
  const shipped = readProvenance(dest);
  if (!shipped) throw new Error(`nothing shipped in ${dest} to compare with`);
  const diff = MODEL_FILES.filter((f) => shipped.files[f] !== files[f]);
  process.stdout.write(
    diff.length === 0
      ? `identical: every model file of ${dest} regenerated bit-for-bit\n`
      : `DIFFERENT: ${diff.join(", ")}\n`,
  );
  process.exit(diff.length === 0 ? 0 : 1);
}

const provenance: Provenance = {
  world_version: WORLD_VERSION,
  world_seed: seed,
  corpus_sha256: sha256File(corpus),
  sft_config: recorded,
  steps: summary.steps,
  final_loss: summary.final_loss,
  files,
  command: `npm run base:regenerate${seed !== 1 ? ` -- --seed ${seed}` : ""}`,
};
await copyShipped(ckpt, dest);
await writeFileAtomic(path.join(dest, PROVENANCE_FILE), JSON.stringify(provenance, null, 2) + "\n");
process.stdout.write(
  `wrote ${path.relative(REPO_ROOT, dest)} (${WORLD_VERSION}, world seed ${seed}, ${summary.steps} steps, loss ${summary.final_loss.toFixed(4)})\n`,
);
