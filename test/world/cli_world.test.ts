// `recap world build` / `stats` as a user runs them: deterministic files, and one clear error line
// (exit 1) for bad seeds, bad configs and an --out that is not a world (replacing an earlier build
// is tested in-process in build.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const BIN = path.resolve("bin/recap.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-world-cli-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

function recap(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: tmp, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), fs.readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

test("world build: same seed twice gives byte-identical folders; --json prints the manifest", () => {
  const small = path.join(tmp, "small.yaml");
  fs.writeFileSync(
    small,
    "sft: {harmful: 200, borderline: 100, benign: 100, math: 100}\npi_harm: {size: 50}\npi_refuse: {size: 50}\n",
  );
  const a = recap("world", "build", "--seed", "7", "--out", "a", "--config", small, "--json");
  assert.equal(a.code, 0, a.stderr);
  const manifest = JSON.parse(a.stdout) as {
    seed: number;
    world_version: string;
    files: Record<string, { rows: number }>;
  };
  assert.equal(manifest.seed, 7);
  assert.match(manifest.world_version, /^recap-world\//);
  assert.equal(manifest.files["corpora/base_sft.jsonl"]!.rows, 500);
  assert.equal(recap("world", "build", "--seed", "7", "--out", "b", "--config", small).code, 0);
  const fa = files(path.join(tmp, "a")),
    fb = files(path.join(tmp, "b"));
  assert.deepEqual([...fa.keys()].sort(), [...fb.keys()].sort());
  assert.ok(fa.size >= 13);
  for (const [k, v] of fa) assert.ok(v.equals(fb.get(k)!), k);
  const stats = recap("world", "stats", "a", "--json");
  assert.equal(stats.code, 0, stats.stderr);
  assert.equal(
    (JSON.parse(stats.stdout) as { thinking_words: Record<string, { n: number }> }).thinking_words[
      "corpora/base_sft.jsonl math correct"
    ]!.n,
    96,
  );
});

test("world build: bad input is one error line and exit 1, and nothing is replaced", () => {
  const notWorld = path.join(tmp, "precious");
  fs.mkdirSync(notWorld);
  fs.writeFileSync(path.join(notWorld, "keep.txt"), "mine");
  fs.writeFileSync(path.join(tmp, "bad.json"), JSON.stringify({ sft: { harmful_flawed: 2 } }));
  fs.writeFileSync(path.join(tmp, "broken.yaml"), "sft: [unclosed");
  const cases: [string[], RegExp][] = [
    [["world", "build", "--seed", "abc", "--out", "x"], /--seed must be an integer/],
    [["world", "build", "--seed", "1", "--out", "precious"], /refusing to replace .*precious/],
    [["world", "build", "--seed", "1", "--out", "x", "--config", "bad.json"], /bad world config: sft\.harmful_flawed/],
    [["world", "build", "--seed", "1", "--out", "x", "--config", "broken.yaml"], /not valid JSON or YAML/],
  ];
  for (const [args, re] of cases) {
    const r = recap(...args);
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  assert.equal(fs.readFileSync(path.join(notWorld, "keep.txt"), "utf8"), "mine");
  assert.ok(!fs.existsSync(path.join(tmp, "x")));
});
