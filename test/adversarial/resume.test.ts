// Resume after a kill inside a checkpoint swap (issue 21, defect 7): with checkpoint/ missing and
// its complete copies in .checkpoint.bak-* / .checkpoint.tmp-* siblings, `--resume` used to start
// again from step 0; every kill also left a .checkpoint.tmp-* that was never removed. Now the
// resume restores the complete copy, continues from its step, ends bit-identical to an
// uninterrupted run, and removes the stale siblings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadCheckpoint } from "../../src/model/checkpoint.ts";
import { runSft } from "../../src/train/sft.ts";
import { SftConfigSchema } from "../../src/train/sft_config.ts";
import { recoverDirAtomic } from "../../src/util/atomic.ts";
import { validateConfig } from "../../src/util/config_file.ts";

process.env["RECAP_QUIET"] = "1";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-resume-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

const rows: string[] = [];
for (let a = 1; a <= 4; a++)
  for (let b = 1; b <= 4; b++)
    rows.push(
      JSON.stringify({ text: `<|user|>add ${a} and ${b}<|assistant|><think>${a} plus ${b}</think>${a + b}<eos>` }),
    );
fs.writeFileSync(path.join(tmp, "train.jsonl"), rows.join("\n") + "\n");
const config = validateConfig(
  {
    data: "train.jsonl",
    init: { preset: "micro", seed: 3 },
    steps: 8,
    batch_size: 4,
    lr: 1e-2,
    warmup_steps: 2,
    save_every: 4,
    kernels: "ref",
  },
  SftConfigSchema,
  "test",
);

/** The pid of a process that has exited (what a killed writer's temp names carry). */
const deadPid = spawnSync(process.execPath, ["-e", "0"]).pid!;

test("recoverDirAtomic: the swap's complete .tmp-* wins over the .bak-*; stale siblings go; a live writer's stay", async () => {
  const d = path.join(tmp, "unit");
  fs.mkdirSync(d);
  const mk = (name: string, content: string) => (
    fs.mkdirSync(path.join(d, name)), fs.writeFileSync(path.join(d, name, "f"), content)
  );
  mk(`.ck.bak-${deadPid}-a-1`, "old");
  mk(`.ck.tmp-${deadPid}-a-1`, "new");
  mk(`.ck.tmp-${deadPid}-b-2`, "partial");
  mk(`.ck.tmp-${process.ppid}-c-3`, "a live writer"); // the test runner: alive, not us
  const r = await recoverDirAtomic(path.join(d, "ck"));
  assert.equal(r.restored, "tmp");
  assert.equal(fs.readFileSync(path.join(d, "ck", "f"), "utf8"), "new");
  assert.deepEqual(fs.readdirSync(d).sort(), [`.ck.tmp-${process.ppid}-c-3`, "ck"]);
  mk(`.ck2.bak-${deadPid}-z-9`, "old only");
  assert.equal((await recoverDirAtomic(path.join(d, "ck2"))).restored, "bak");
  assert.equal(fs.readFileSync(path.join(d, "ck2", "f"), "utf8"), "old only");
  assert.deepEqual(await recoverDirAtomic(path.join(d, "none")), { restored: null, removed: [] });
});

test("sft --resume after a kill between the two renames continues from the checkpoint, bit-identical", async () => {
  const full = path.join(tmp, "full"),
    cut = path.join(tmp, "cut");
  await runSft({ config, configDir: tmp, out: full });
  await assert.rejects(
    runSft({
      config,
      configDir: tmp,
      out: cut,
      onStep: (s) => {
        if (s === 6) throw new Error("crash");
      },
    }),
    /crash/,
  );
  // the kill: checkpoint/ (step 4) moved to .bak, its complete copy in the swap's .tmp, plus a torn .tmp of an earlier kill
  const ck = path.join(cut, "checkpoint");
  fs.cpSync(ck, path.join(cut, `.checkpoint.tmp-${deadPid}-k-1`), { recursive: true });
  fs.renameSync(ck, path.join(cut, `.checkpoint.bak-${deadPid}-k-1`));
  fs.mkdirSync(path.join(cut, `.checkpoint.tmp-${deadPid}-old-0`));
  fs.writeFileSync(path.join(cut, `.checkpoint.tmp-${deadPid}-old-0`, "model.safetensors"), "torn");
  const seen: number[] = [];
  await runSft({ config, configDir: tmp, out: cut, resume: true, onStep: (s) => void seen.push(s) });
  assert.equal(seen[0], 5, `the resume started at step ${seen[0]} (from scratch would be 1)`);
  const a = await loadCheckpoint(path.join(full, "checkpoint")),
    b = await loadCheckpoint(ck);
  for (const [name, pa] of a.params) assert.deepEqual(b.params.get(name), pa, `param ${name} differs after resume`);
  assert.deepEqual(
    fs.readdirSync(cut).filter((n) => n.startsWith(".checkpoint.")),
    [],
    "stale siblings removed",
  );
});
