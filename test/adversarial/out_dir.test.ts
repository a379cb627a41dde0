// Output folders (issue 21, defect 1): every writer refuses a non-empty folder that is not its own
// earlier run, with a RecapError naming the folder, and leaves the folder's files untouched;
// `recap model init --out .` in a project used to empty the project and exit 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runDataBuild } from "../../src/data/build/build.ts";
import type { DataBuildConfig } from "../../src/data/build/config.ts";
import { runDemo } from "../../src/demo/run.ts";
import type { DemoOptions } from "../../src/demo/run.ts";
import { measurePremise } from "../../src/demo/premise.ts";
import type { PremiseOptions } from "../../src/demo/premise.ts";
import { runEval } from "../../src/eval/runner.ts";
import type { EvalOptions } from "../../src/eval/runner.ts";
import { runTrain } from "../../src/train/rl.ts";
import type { TrainOptions } from "../../src/train/rl.ts";
import { runSft } from "../../src/train/sft.ts";
import type { SftOptions } from "../../src/train/sft.ts";
import { isRecapError } from "../../src/util/errors.ts";
import { checkOutDir, isOwnRun } from "../../src/util/out_dir.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-outdir-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

/** A folder holding someone's project. */
function project(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, "src"), { recursive: true });
  fs.writeFileSync(path.join(dir, "src", "main.ts"), "code\n");
  fs.writeFileSync(path.join(dir, "notes.txt"), "mine\n");
  return dir;
}

function intact(dir: string): void {
  assert.equal(fs.readFileSync(path.join(dir, "src", "main.ts"), "utf8"), "code\n");
  assert.deepEqual(fs.readdirSync(dir).sort(), ["notes.txt", "src"]);
}

const refused = (dir: string) => (e: unknown) =>
  isRecapError(e) && e.message.includes(dir) && /not empty/.test(e.message) && /new or empty folder/.test(e.hint ?? "");

test("recap model init --out . in a project: exit 1, one error line, the project untouched", () => {
  const dir = project("init");
  const r = spawnSync(
    process.execPath,
    [path.resolve("bin/recap.js"), "model", "init", "--preset", "micro", "--seed", "1", "--out", "."],
    { encoding: "utf8", cwd: dir, timeout: 120_000 },
  );
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /refusing to write into --out \. : |refusing to write into --out \./);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, "no stack trace");
  intact(dir);
});

test("every writer of a folder refuses someone else's files", async () => {
  const cases: Array<[string, (dir: string) => Promise<unknown>]> = [
    ["sft", (out) => runSft({ out } as unknown as SftOptions)],
    ["train", (out) => runTrain({ out } as unknown as TrainOptions)],
    ["eval", (outDir) => runEval({ outDir } as unknown as EvalOptions)],
    ["data", (out) => runDataBuild({} as DataBuildConfig, out)],
    ["demo", (out) => runDemo({ out } as unknown as DemoOptions)],
    ["premise", (out) => measurePremise({ out } as unknown as PremiseOptions)],
  ];
  for (const [name, run] of cases) {
    const dir = project(name);
    await assert.rejects(run(dir), refused(dir), name);
    intact(dir);
  }
});

test("checkOutDir: missing, empty and own folders pass; a file is refused", () => {
  checkOutDir(path.join(tmp, "missing"), "checkpoint");
  fs.mkdirSync(path.join(tmp, "empty"));
  checkOutDir(path.join(tmp, "empty"), "eval");
  assert.equal(isOwnRun(["config.json", "model.safetensors", "tokenizer.json"], "checkpoint"), true);
  assert.equal(isOwnRun(["config.json"], "checkpoint"), false, "a config.json alone is not a checkpoint");
  assert.equal(isOwnRun(["metrics.jsonl"], "train"), true, "a run killed before its first checkpoint");
  assert.equal(isOwnRun(["results.jsonl", "run.json"], "eval"), true);
  assert.equal(
    isOwnRun(["config.json", "model.safetensors", "tokenizer.json"], "train"),
    false,
    "sft --out on a checkpoint would overwrite its config.json",
  );
  assert.equal(
    isOwnRun(["summary.json", "checkpoint", "metrics.jsonl"], "data"),
    false,
    "a training run is not a data build",
  );
  fs.writeFileSync(path.join(tmp, "afile"), "x");
  assert.throws(
    () => checkOutDir(path.join(tmp, "afile"), "train"),
    (e: unknown) => isRecapError(e) && /is a file/.test(e.message),
  );
});
