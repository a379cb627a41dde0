// The shipped base reasoning model matches what would regenerate it: the current world version,
// the base corpus of world seed 1 byte for byte, configs/world-base.yaml's knobs, and its own
// recorded file hashes; and it loads as a valid checkpoint. (Retraining it bit-for-bit takes
// 10-20 minutes: `npm run base:regenerate -- --check`, recorded in docs/REPRODUCTION.md.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  BASE_CORPUS,
  MODEL_FILES,
  REPO_ROOT,
  readProvenance,
  shippedBaseDir,
  shippedMismatch,
} from "../../src/demo/shipped.ts";
import { loadCheckpoint } from "../../src/model/checkpoint.ts";
import { SftConfigSchema } from "../../src/train/sft_config.ts";
import { loadConfigFile } from "../../src/util/config_file.ts";
import { buildWorld } from "../../src/world/build.ts";
import { parseWorldConfig } from "../../src/world/config.ts";
import { WORLD_VERSION } from "../../src/world/lexicon.ts";
import { renderWorld, writeWorld } from "../../src/world/write.ts";

const dir = shippedBaseDir(1);

test("the shipped base was trained on this world version's seed-1 corpus with configs/world-base.yaml", async () => {
  const p = readProvenance(dir);
  assert.ok(p, `${dir} has a provenance.json (regenerate: npm run base:regenerate)`);
  assert.equal(
    p.world_version,
    WORLD_VERSION,
    "the world changed: regenerate the shipped base (npm run base:regenerate)",
  );
  assert.equal(p.world_seed, 1);
  const corpus = renderWorld(buildWorld(1, parseWorldConfig({}))).texts.get(BASE_CORPUS);
  assert.ok(corpus !== undefined);
  assert.equal(
    createHash("sha256").update(corpus).digest("hex"),
    p.corpus_sha256,
    "the base corpus changed: regenerate the shipped base",
  );
  const {
    data: _d,
    kernels: _k,
    ...knobs
  } = await loadConfigFile(path.join(REPO_ROOT, "configs", "world-base.yaml"), SftConfigSchema);
  assert.deepEqual(p.sft_config, knobs, "configs/world-base.yaml changed: regenerate the shipped base");
  assert.equal(p.steps, knobs.steps);
  for (const f of MODEL_FILES) {
    const sha = createHash("sha256")
      .update(fs.readFileSync(path.join(dir, f)))
      .digest("hex");
    assert.equal(sha, p.files[f], `${f} matches its provenance hash`);
  }
});

test("the shipped base loads, and the demo accepts it for a freshly built world", async () => {
  const ck = await loadCheckpoint(dir);
  assert.equal(ck.config.hidden_size, 128);
  assert.equal(ck.config.num_hidden_layers, 4);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-shipped-"));
  try {
    await writeWorld(path.join(tmp, "w"), buildWorld(1, parseWorldConfig({})));
    assert.equal(shippedMismatch(dir, path.join(tmp, "w")), undefined);
    await writeWorld(path.join(tmp, "w2"), buildWorld(2, parseWorldConfig({})));
    assert.match(shippedMismatch(dir, path.join(tmp, "w2")) ?? "", /another base corpus/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
