// Regenerates the golden files under test/golden/ from the independent PyTorch reference
// (bench/torch_reference.py, Debian's python3-torch). Run: `npm run goldens`.
//  - micro-untied/, micro-tied/: small checkpoints with non-trivial weights (std 0.2, norm weights
//    around 1) and, beside each, <name>.golden.safetensors holding a fixed batch and PyTorch's
//    logits, per-token log-probs and parameter gradients of loss = -sum(weights * logprobs);
//  - tiny-seed1-acceptance.json: the issue's acceptance check — `recap model init --preset tiny
//    --seed 1` and the log-probs of a chat string, as PyTorch computes them.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Rng } from "../src/engine/rng.ts";
import { saveCheckpoint } from "../src/model/checkpoint.ts";
import { freshModel } from "../src/model/init.ts";

const PY = "/usr/bin/python3";
const DIR = "test/golden";
export const ACCEPTANCE_TEXT = "<|user|>hi<|assistant|><think>ok</think>fine<eos>";

function torch(args: string[]): string {
  const r = spawnSync(PY, ["bench/torch_reference.py", ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`torch_reference failed: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

async function micro(name: string, tied: boolean, seed: number): Promise<void> {
  const fresh = freshModel("micro", seed, { overrides: { tie_word_embeddings: tied, initializer_range: 0.2 } });
  const rng = new Rng(seed + 1000);
  for (const [n, a] of fresh.params)
    if (n.endsWith("norm.weight")) for (let i = 0; i < a.length; i++) a[i] = 1 + 0.3 * rng.normal();
  const ckpt = path.join(DIR, name);
  await saveCheckpoint(ckpt, fresh);
  torch([
    "--ckpt",
    ckpt,
    "--out",
    path.join(DIR, `${name}.golden.safetensors`),
    "--batch",
    "2",
    "--seq",
    "12",
    "--seed",
    "0",
  ]);
  process.stderr.write(`wrote ${ckpt} and its golden file\n`);
}

async function acceptance(): Promise<void> {
  const fresh = freshModel("tiny", 1);
  const ids = fresh.tokenizer.encode(ACCEPTANCE_TEXT);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-golden-"));
  try {
    await saveCheckpoint(path.join(tmp, "m"), fresh);
    const out = JSON.parse(torch(["--ckpt", path.join(tmp, "m"), "--text-ids", ids.join(",")])) as {
      logprobs: number[];
    };
    const doc = { text: ACCEPTANCE_TEXT, preset: "tiny", seed: 1, ids, logprobs: out.logprobs };
    fs.writeFileSync(path.join(DIR, "tiny-seed1-acceptance.json"), JSON.stringify(doc, null, 1) + "\n");
    process.stderr.write(`wrote ${DIR}/tiny-seed1-acceptance.json\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await micro("micro-untied", false, 21);
await micro("micro-tied", true, 22);
await acceptance();
