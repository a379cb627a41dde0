// Hostile model configs (issue 21, defect 5): max_position_embeddings 10^8 on a tiny model made
// `recap logprobs` allocate 8.9 GB and hang; 10^12 surfaced a raw typed-array error. Every size
// field now has an upper bound, and loading such a checkpoint is one RecapError naming the file,
// the field and the limit, at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadCheckpoint, saveCheckpoint } from "../../src/model/checkpoint.ts";
import { LIMITS, parseConfig, presetConfig } from "../../src/model/config.ts";
import { freshModel } from "../../src/model/init.ts";
import { isRecapError } from "../../src/util/errors.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-cfg-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
const good = path.join(tmp, "good");
await saveCheckpoint(good, freshModel("micro", 1));

function variant(name: string, patch: Record<string, unknown>): string {
  const dir = path.join(tmp, name);
  fs.cpSync(good, dir, { recursive: true });
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...cfg, ...patch }));
  return dir;
}

test("oversized fields are refused when the checkpoint loads, naming file, field and limit", async () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["pos8", { max_position_embeddings: 1e8 }, /max_position_embeddings: must be at most 131072/],
    ["pos12", { max_position_embeddings: 1e12 }, /max_position_embeddings: must be at most/],
    ["vocab", { vocab_size: 2 ** 31 }, /vocab_size: must be at most/],
    ["layers", { num_hidden_layers: 1e6 }, /num_hidden_layers: must be at most/],
    ["theta", { rope_theta: 1e300 }, /rope_theta/],
  ];
  for (const [name, patch, re] of cases) {
    const dir = variant(name, patch);
    const t = performance.now();
    await assert.rejects(
      loadCheckpoint(dir),
      (e: unknown) =>
        isRecapError(e) &&
        re.test(e.message) &&
        e.message.includes(path.join(dir, "config.json")) &&
        /config\.json/.test(e.hint ?? ""),
      name,
    );
    assert.ok(performance.now() - t < 5000, `${name} took ${performance.now() - t} ms`);
  }
});

test("the largest matrix is bounded too; the presets are within every limit", () => {
  assert.throws(
    () =>
      parseConfig({
        ...presetConfig("micro"),
        vocab_size: 1 << 20,
        hidden_size: 1 << 16,
        num_attention_heads: 4,
        num_key_value_heads: 2,
      }),
    /largest weight matrix/,
  );
  for (const p of ["tiny", "micro"])
    assert.ok(presetConfig(p).max_position_embeddings <= LIMITS.max_position_embeddings);
});

test("recap logprobs on max_position_embeddings 10^8: exit 1 with the limit, fast", () => {
  const dir = variant("cli", { max_position_embeddings: 1e8 });
  const r = spawnSync(process.execPath, [path.resolve("bin/recap.js"), "logprobs", dir, "--text", "hello"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /max_position_embeddings: must be at most 131072/);
});
