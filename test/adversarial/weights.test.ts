// Huge finite weights (issue 21, defect 6): norm weights of 3e38 passed the loader, and then
// `logprobs` printed NaN with exit 0, `sample` printed garbage, `serve` answered 200 with <pad>s
// and `export` wrote the model. Now the loader refuses weights beyond MAX_ABS_WEIGHT, and a
// forward pass that is not finite anyway is a RecapError naming the checkpoint.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { selectKernels } from "../../src/engine/select.ts";
import { loadCheckpoint, saveCheckpoint } from "../../src/model/checkpoint.ts";
import { forward } from "../../src/model/forward.ts";
import { KVCache, inferStep } from "../../src/model/infer.ts";
import { freshModel } from "../../src/model/init.ts";
import { Llama } from "../../src/model/llama.ts";
import { isRecapError } from "../../src/util/errors.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-weights-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
const fresh = freshModel("micro", 2);

test("the loader refuses a norm weight of 3e38 (finite, but the forward overflows), naming tensor and file", async () => {
  const params = new Map(fresh.params);
  const norm = new Float32Array(params.get("model.norm.weight")!).fill(3e38);
  params.set("model.norm.weight", norm);
  const dir = path.join(tmp, "huge");
  await saveCheckpoint(dir, { ...fresh, params });
  await assert.rejects(
    loadCheckpoint(dir),
    (e: unknown) =>
      isRecapError(e) &&
      /model\.norm\.weight/.test(e.message) &&
      /beyond the weight limit/.test(e.message) &&
      e.message.includes(dir),
  );
  for (const cmd of [
    ["logprobs", dir, "--text", "hi"],
    ["export", dir, "--format", "hf", "--out", path.join(tmp, "exp")],
  ]) {
    const r = spawnSync(process.execPath, [path.resolve("bin/recap.js"), ...cmd], {
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 1, `${cmd[0]}: ${r.stdout} ${r.stderr}`);
    assert.match(r.stderr, /beyond the weight limit/);
  }
  assert.equal(fs.existsSync(path.join(tmp, "exp")), false, "export wrote nothing");
});

test("a forward pass that is not finite is a RecapError naming the checkpoint (training and cached inference)", () => {
  const params = new Map(fresh.params);
  // weights in memory that no loader checked (a run diverging, a caller's own arrays): the forward overflows
  params.set("model.norm.weight", new Float32Array(fresh.config.hidden_size).fill(3e38));
  const m = new Llama(fresh.config, params, selectKernels("ref"));
  m.source = "checkpoint /tmp/some-ckpt";
  const ids = Int32Array.from([1, 2, 3, 4]);
  const named = (e: unknown) =>
    isRecapError(e) && /checkpoint \/tmp\/some-ckpt/.test(e.message) && /not finite/.test(e.message);
  assert.throws(() => forward(m, ids, ids, 1, 4), named);
  const cache = new KVCache(m, 1, 8);
  assert.throws(() => inferStep(m, cache, ids, 4), named);
});

test("ordinary weights pass both checks", () => {
  const m = new Llama(fresh.config, fresh.params, selectKernels("ref"));
  const ids = Int32Array.from([1, 2, 3, 4]);
  const r = forward(m, ids, ids, 1, 4);
  assert.ok(r.logprobs.every(Number.isFinite));
});
