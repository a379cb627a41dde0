// SFT: a fresh micro model learns a small chat corpus (loss falls, validation loss reported), the
// run folder holds a resumable checkpoint, an interrupted run resumed ends bit-identical to an
// uninterrupted one, and bad configs fail before any work.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadCheckpoint } from "../../src/model/checkpoint.ts";
import { runSft } from "../../src/train/sft.ts";
import { SftConfigSchema } from "../../src/train/sft_config.ts";
import { lrAt } from "../../src/train/schedule.ts";
import { batchIndices } from "../../src/train/sft_data.ts";
import { validateConfig } from "../../src/util/config_file.ts";

process.env["RECAP_QUIET"] = "1";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-sft-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

const rows: string[] = [];
for (let a = 1; a <= 6; a++)
  for (let b = 1; b <= 6; b++)
    rows.push(
      JSON.stringify({
        text: `<|user|>add ${a} and ${b}<|assistant|><think>${a} plus ${b} is ${a + b}</think>${a + b}<eos>`,
      }),
    );
fs.writeFileSync(path.join(tmp, "train.jsonl"), rows.join("\n") + "\n");
fs.writeFileSync(path.join(tmp, "eval.jsonl"), rows.slice(0, 8).join("\n") + "\n");

const base = validateConfig(
  {
    data: "train.jsonl",
    eval_data: "eval.jsonl",
    init: { preset: "micro", seed: 3 },
    steps: 40,
    batch_size: 8,
    lr: 1e-2,
    warmup_steps: 5,
    save_every: 4,
    eval_every: 20,
    kernels: "ref",
  },
  SftConfigSchema,
  "test",
);

test("a fresh model learns the corpus; the run folder is complete", async () => {
  const out = path.join(tmp, "run1");
  const s = await runSft({ config: base, configDir: tmp, out });
  const lines = fs
    .readFileSync(path.join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 40);
  assert.deepEqual(
    lines.map((l) => l.step),
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  const first = lines.slice(0, 3).reduce((a, l) => a + l.loss, 0) / 3,
    last = lines.slice(-3).reduce((a, l) => a + l.loss, 0) / 3;
  assert.ok(last < 0.5 * first, `loss fell from ${first} to ${last}`);
  assert.ok(s.eval_loss !== undefined && s.eval_loss < lines[0].loss, `eval loss ${s.eval_loss}`);
  const ck = await loadCheckpoint(path.join(out, "checkpoint"));
  assert.equal(ck.trainerState?.step, 40);
  assert.ok(fs.existsSync(path.join(out, "summary.json")));
  await assert.rejects(runSft({ config: base, configDir: tmp, out }), /already holds a checkpoint/);
});

test("an interrupted run, resumed, ends bit-identical to an uninterrupted one", async () => {
  const config = { ...base, steps: 12, eval_data: undefined };
  const full = path.join(tmp, "full"),
    cut = path.join(tmp, "cut");
  await runSft({ config, configDir: tmp, out: full });
  // Crash after step 7's metrics are written: the last checkpoint is step 4.
  await assert.rejects(
    runSft({
      config,
      configDir: tmp,
      out: cut,
      onStep: (s) => {
        if (s === 7) throw new Error("crash");
      },
    }),
    /crash/,
  );
  assert.equal((await loadCheckpoint(path.join(cut, "checkpoint"))).trainerState?.step, 4);
  await runSft({ config, configDir: tmp, out: cut, resume: true });
  const a = await loadCheckpoint(path.join(full, "checkpoint")),
    b = await loadCheckpoint(path.join(cut, "checkpoint"));
  for (const [name, pa] of a.params) assert.deepEqual(b.params.get(name), pa, `param ${name} differs after resume`);
  for (const [name, ma] of a.trainerState!.m) assert.deepEqual(b.trainerState!.m.get(name), ma, `adam m ${name}`);
  const steps = fs
    .readFileSync(path.join(cut, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l).step);
  assert.deepEqual(
    steps,
    Array.from({ length: 12 }, (_, i) => i + 1),
  );
  await assert.rejects(
    runSft({ config: { ...config, lr: 5e-3 }, configDir: tmp, out: cut, resume: true }),
    /config differs/,
  );
});

test("bad configs fail before any work, naming the field", () => {
  assert.throws(() => validateConfig({ data: "x", steps: 10 }, SftConfigSchema, "c"), /exactly one of `base`/);
  assert.throws(() => validateConfig({ data: "x", steps: 0, init: { preset: "tiny" } }, SftConfigSchema, "c"), /steps/);
  assert.throws(
    () => validateConfig({ data: "x", steps: 5, init: { preset: "huge" } }, SftConfigSchema, "c"),
    /init\.preset/,
  );
  assert.throws(
    () => validateConfig({ data: "x", steps: 5, warmup_steps: 9, init: { preset: "tiny" } }, SftConfigSchema, "c"),
    /warmup_steps/,
  );
  assert.throws(
    () => validateConfig({ data: "x", steps: 5, init: { preset: "tiny" }, lr_typo: 1 }, SftConfigSchema, "c"),
    /lr_typo|unrecognized/i,
  );
});

test("schedule and data order are pure functions of the step", () => {
  const c = { lr: 1, warmup_steps: 4, min_lr_ratio: 0.1, steps: 14 };
  assert.deepEqual(
    [0, 1, 2, 3].map((s) => lrAt(c, s)),
    [0.25, 0.5, 0.75, 1],
  );
  assert.ok(Math.abs(lrAt(c, 9) - 0.55) < 1e-12); // halfway through the cosine: 0.1 + 0.45 * (1 + cos(pi/2))
  assert.ok(Math.abs(lrAt(c, 14) - 0.1) < 1e-12);
  // RL's constant rate is the same schedule at ratio 1: exactly lr after warm-up, at every step.
  const rl = { ...c, lr: 5e-5, min_lr_ratio: 1 };
  assert.deepEqual(
    [4, 7, 9, 13, 20].map((s) => lrAt(rl, s)),
    [5e-5, 5e-5, 5e-5, 5e-5, 5e-5],
  );
  // Every row once per epoch; the same step gives the same batch.
  const epoch = [0, 1, 2, 3, 4].flatMap((s) => batchIndices(10, 2, 7, s));
  assert.deepEqual(
    [...epoch].sort((x, y) => x - y),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.deepEqual(batchIndices(10, 3, 7, 5), batchIndices(10, 3, 7, 5));
  assert.notDeepEqual(batchIndices(10, 10, 7, 0), batchIndices(10, 10, 7, 1));
});
