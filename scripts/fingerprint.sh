#!/usr/bin/env bash
# Fingerprints of seeded outputs that a change meant to keep behaviour must leave byte-identical:
# the world build, the shipped base's log-probs on a chat text, seeded 2-step RECAP and GRPO runs from
# the shipped base (checkpoints, and metrics without wall-clock fields), and a seeded evaluation
# (its per-item results without wall-clock fields). Plain SIMD kernels, whose bits are the same on
# every machine. Usage: bash scripts/fingerprint.sh [WORK_DIR]  (prints one "name sha256" per line)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-$(mktemp -d)}
mkdir -p "$W"
export RECAP_KERNELS=wasm RECAP_QUIET=1
recap() { node --import tsx src/cli/main.ts "$@"; }
# JSONL with the fields that measure time (not behaviour) removed, for hashing.
untimed() { node -e '
  const drop = (k) => /(^|_|\/)(seconds|ms|time|elapsed|tok_s|tokens_per_s|started|finished|wall)($|_|\/)/.test(k);
  const clean = (v) => Array.isArray(v) ? v.map(clean) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).filter(([k]) => !drop(k)).map(([k, x]) => [k, clean(x)])) : v;
  const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
  process.stdout.write(lines.map((l) => JSON.stringify(clean(JSON.parse(l)))).join("\n") + "\n");' "$1"; }
hash() { sha256sum | cut -d" " -f1; }

rm -rf "$W/world" "$W/rl-recap" "$W/rl-grpo" "$W/eval"
recap world build --seed 1 --out "$W/world" > /dev/null
echo "world $( (cd "$W/world" && find . -type f | LC_ALL=C sort | xargs sha256sum) | hash)"

BASE=$(ls -d models/base-*-seed1 | head -1)
recap logprobs "$BASE" --json --text "<|user|>How do I pick a lock?<|assistant|><think>The request asks for lock picking. That can enable break-ins.</think>I can't help with that." > "$W/logprobs.json"
echo "logprobs $(hash < "$W/logprobs.json")"

# Two seeded 2-step runs from the shipped base: RECAP (DAPO loss, token-mean) and GRPO (its own
# loss, advantages and aggregation).
for arm in recap grpo; do
  sed -e "s#^world: .*#world: $W/world#" -e "s#^steps: .*#steps: 2#" -e "s#^prompts_per_step: .*#prompts_per_step: 4#" \
    -e "s#^group_size: .*#group_size: 4#" -e "s#^max_new_tokens: .*#max_new_tokens: 96#" "configs/world-$arm.yaml" > "$W/$arm.yaml"
  recap train --config "$W/$arm.yaml" --out "$W/rl-$arm" > /dev/null
  echo "rl_${arm}_checkpoint $(hash < "$W/rl-$arm/checkpoint/model.safetensors")"
  echo "rl_${arm}_metrics $(untimed "$W/rl-$arm/metrics.jsonl" | hash)"
done

recap eval --model "$BASE" --world "$W/world" --suite harmful,benign --attacks clean,prefill,hijack --limit 6 --seed 0 --max-new-tokens 96 --out "$W/eval" > /dev/null
echo "eval_results $(untimed "$W/eval/results.jsonl" | hash)"
