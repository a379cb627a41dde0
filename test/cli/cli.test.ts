// The command line as a user runs it: help, model init → logprobs (the acceptance check against
// PyTorch's numbers), sampling from a prefilled thinking, and one clear error line (no stack
// trace, exit 1) for every kind of corrupt checkpoint.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { decodeSafetensors, encodeSafetensors } from "../../src/model/safetensors.ts";
import type { TensorToEncode } from "../../src/model/safetensors.ts";

const BIN = path.resolve("bin/recap.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-cli-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

function recap(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: tmp, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test("--help lists the commands", () => {
  const r = recap("--help");
  assert.equal(r.code, 0);
  for (const c of ["model", "logprobs", "sample"]) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
  for (const c of [["model", "init"], ["logprobs"], ["sample"]]) assert.equal(recap(...c, "--help").code, 0);
});

test("model init + logprobs reproduce PyTorch's log-probs (acceptance)", () => {
  const init = recap("model", "init", "--preset", "tiny", "--seed", "1", "--out", "m");
  assert.equal(init.code, 0, init.stderr);
  const golden = JSON.parse(fs.readFileSync("test/golden/tiny-seed1-acceptance.json", "utf8")) as {
    text: string;
    ids: number[];
    logprobs: number[];
  };
  const r = recap("logprobs", "m", "--text", golden.text, "--json");
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { tokens: { id: number; token: string; logprob: number | null }[] };
  assert.deepEqual(
    out.tokens.map((t) => t.id),
    golden.ids,
  );
  assert.equal(out.tokens[0]!.logprob, null);
  assert.equal(out.tokens.map((t) => t.token).join(""), golden.text);
  out.tokens.slice(1).forEach((t, i) => assert.ok(Math.abs(t.logprob! - golden.logprobs[i]!) < 1e-4, `token ${i + 1}`));
});

test("sample continues a prefilled thinking, reproducibly", () => {
  if (!fs.existsSync(path.join(tmp, "m")))
    assert.equal(recap("model", "init", "--preset", "tiny", "--seed", "1", "--out", "m").code, 0);
  const args = [
    "sample",
    "m",
    "--prompt",
    "hi",
    "--prefill",
    "<think>The user",
    "--n",
    "3",
    "--max-new-tokens",
    "5",
    "--seed",
    "7",
    "--json",
  ];
  const a = recap(...args),
    b = recap(...args);
  assert.equal(a.code, 0, a.stderr);
  const ja = JSON.parse(a.stdout) as { prompt: string; samples: { tokens: number[]; logprobs: number[] }[] };
  assert.equal(ja.prompt, "<|user|>hi<|assistant|><think>The user");
  assert.equal(ja.samples.length, 3);
  for (const s of ja.samples) {
    assert.ok(s.tokens.length >= 1 && s.tokens.length <= 5);
    assert.ok(s.logprobs.every((x) => x <= 0));
  }
  assert.deepEqual(JSON.parse(b.stdout).samples, ja.samples);
  const tooLong = recap("sample", "m", "--prompt", "hi", "--max-new-tokens", "1000");
  assert.equal(tooLong.code, 1);
  assert.match(tooLong.stderr, /^error: .*context/);
});

/** Copies the good checkpoint and corrupts it with `mutate`, then expects one error line. */
function expectCorrupt(name: string, mutate: (dir: string) => void, pattern: RegExp): void {
  const src = path.join(tmp, "m");
  if (!fs.existsSync(src))
    assert.equal(recap("model", "init", "--preset", "tiny", "--seed", "1", "--out", "m").code, 0);
  const dir = path.join(tmp, `bad-${name}`);
  fs.cpSync(src, dir, { recursive: true });
  mutate(dir);
  const r = recap("logprobs", dir, "--text", "<|user|>hi");
  assert.equal(r.code, 1, `${name}: exit code`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `${name}: expected one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, pattern, name);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: stack trace`);
}

const W = "model.safetensors";
test("corrupt checkpoints give one clear error line and exit 1", () => {
  expectCorrupt(
    "truncated",
    (d) => {
      const b = fs.readFileSync(path.join(d, W));
      fs.writeFileSync(path.join(d, W), b.subarray(0, b.length - 1000));
    },
    /model\.safetensors/,
  );
  expectCorrupt(
    "header-beyond-file",
    (d) => {
      const b = fs.readFileSync(path.join(d, W));
      b.writeBigUInt64LE(BigInt(b.length + 10), 0);
      fs.writeFileSync(path.join(d, W), b);
    },
    /header/,
  );
  expectCorrupt("tiny-file", (d) => fs.writeFileSync(path.join(d, W), Buffer.from([1, 2, 3])), /model\.safetensors/);
  expectCorrupt(
    "wrong-dtype",
    (d) => {
      const st = decodeSafetensors(new Uint8Array(fs.readFileSync(path.join(d, W))), W);
      const tensors: Record<string, TensorToEncode> = {};
      for (const [n, t] of st.tensors)
        tensors[n] =
          n === "model.norm.weight"
            ? { dtype: "I32", shape: t.shape, data: new Int32Array(t.data.length) }
            : { dtype: "F32", shape: t.shape, data: t.data as Float32Array };
      fs.writeFileSync(path.join(d, W), encodeSafetensors(tensors));
    },
    /dtype|I32/,
  );
  expectCorrupt(
    "wrong-shape",
    (d) => {
      const cfg = JSON.parse(fs.readFileSync(path.join(d, "config.json"), "utf8"));
      cfg.intermediate_size = 400;
      fs.writeFileSync(path.join(d, "config.json"), JSON.stringify(cfg));
    },
    /shape/,
  );
  expectCorrupt(
    "bad-config-value",
    (d) => {
      const cfg = JSON.parse(fs.readFileSync(path.join(d, "config.json"), "utf8"));
      cfg.num_attention_heads = 3;
      fs.writeFileSync(path.join(d, "config.json"), JSON.stringify(cfg));
    },
    /num_attention_heads/,
  );
  expectCorrupt("config-not-json", (d) => fs.writeFileSync(path.join(d, "config.json"), "{not json"), /config\.json/);
  expectCorrupt("missing-file", (d) => fs.rmSync(path.join(d, "tokenizer.json")), /tokenizer\.json/);
  expectCorrupt(
    "bad-tokenizer",
    (d) => fs.writeFileSync(path.join(d, "tokenizer.json"), JSON.stringify({ model: {} })),
    /tokenizer\.json/,
  );
  const missing = recap("logprobs", "no-such-dir", "--text", "x");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: .*no-such-dir/);
});

test("error lines are plain text off a terminal, even with CI set; FORCE_COLOR colours them", () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [BIN, "sample", "no-such-checkpoint", "--prompt", "x"], {
      encoding: "utf8",
      cwd: tmp,
      timeout: 120_000,
      env: { ...process.env, FORCE_COLOR: "", NO_COLOR: "", ...env },
    });
  const ci = run({ CI: "true" });
  assert.equal(ci.status, 1);
  assert.match(ci.stderr, /^error: /);
  const forced = run({ FORCE_COLOR: "1" });
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ANSI colour codes are what is tested
  assert.match(forced.stderr, /^\x1b\[31merror:\x1b\[39m /);
  assert.match(run({ FORCE_COLOR: "1", NO_COLOR: "1" }).stderr, /^error: /);
});
