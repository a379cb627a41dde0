#!/usr/bin/python3
"""PyTorch speed anchor for the `tiny` preset (run with /usr/bin/python3: Debian's python3-torch).

  /usr/bin/python3 bench/torch_bench.py --threads 2 [--json] [--steps 10] [--warmup 3]

Model: tiny preset (vocab 512, hidden 128, ffn 384, 4 layers, 4 heads, 2 kv heads, context 256,
untied), weights N(0, 0.02), norm weights 1, float32 -- the same module as torch_reference.py.

(a) training: batch 16 x 128 tokens: forward + mean cross-entropy + backward + torch.optim.AdamW
    step; `warmup` untimed steps, then the mean over `steps` timed steps; tokens/s = 16*128/step.
(b) sampling under torch.no_grad() with a preallocated KV cache: prefill a 16-token prompt, sample
    the first new token from its last position, then feed each sampled token one position at a
    time (111 single-position forwards) until 112 tokens are new; multinomial at temperature 1.
    Timed end to end (prefill, decode, softmax and sampling); tokens/s = B * 112 / time. One
    untimed warm-up generation per batch size, then the best of `--repeats` (3) timed generations.
    Batch 256 has the shape of an RL step's groups (16 prompts x G = 16): 120-token prompts,
    100 new tokens.

A human summary goes to stderr; with --json one JSON object goes to stdout.
"""
import argparse
import json
import os
import re
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import Llama, parse_config  # noqa: E402

TINY = {"vocab_size": 512, "hidden_size": 128, "intermediate_size": 384, "num_hidden_layers": 4,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 256,
        "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "tie_word_embeddings": False}
TRAIN_B, TRAIN_T = 16, 128
PROMPT, NEW = 16, 112
SAMPLE_BATCHES = (1, 16, 64)
# The RL-group shape: 16 prompts x G = 16 samples, prompts of 120 tokens (a chat prompt with a
# prefill), 100 new tokens.
RL_BATCH, RL_PROMPT, RL_NEW = 256, 120, 100


def blas_info():
    """BLAS_INFO from torch's build config plus the BLAS library actually mapped into the process
    (Debian's torch links the generic libblas.so.3, which update-alternatives resolves)."""
    m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    parts = [f"BLAS_INFO={m.group(1)}" if m else "BLAS_INFO=?"]
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                if re.search(r"(blas|blis|mkl_rt|mkl_core|accelerate)", os.path.basename(path), re.I):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    if libs:
        parts.append("loaded " + ", ".join(sorted(libs)))
    return "; ".join(parts)


def init_model(seed=0):
    torch.manual_seed(seed)
    model = Llama(parse_config(dict(TINY)))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            else:
                p.normal_(0.0, 0.02)
    return model


def bench_train(model, steps, warmup):
    g = torch.Generator().manual_seed(1)
    V = TINY["vocab_size"]
    batches = [torch.randint(0, V, (TRAIN_B, TRAIN_T + 1), generator=g) for _ in range(4)]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    model.train()

    def step(i):
        ids = batches[i % len(batches)]
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(warmup):
        step(i)
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        loss = step(warmup + i)
        times.append(time.perf_counter() - t0)
    mean = sum(times) / len(times)
    med = sorted(times)[len(times) // 2]
    return {"tokens_per_s": TRAIN_B * TRAIN_T / mean, "step_ms": mean * 1e3, "step_ms_min": min(times) * 1e3,
            "step_ms_median": med * 1e3,
            "batch": TRAIN_B, "seq": TRAIN_T, "steps": steps, "warmup": warmup, "final_loss": loss}


@torch.no_grad()
def generate(model, B, g, new=NEW, plen=PROMPT):
    V = TINY["vocab_size"]
    prompt = torch.randint(0, V, (B, plen), generator=g)
    cache = model.new_cache(B, plen + new)
    logits = model(prompt, cache, 0, last_only=True)[:, -1]
    out = []
    for t in range(new):
        probs = torch.softmax(logits / 1.0, dim=-1)  # temperature 1
        tok = torch.multinomial(probs, 1, generator=g)  # (B,1)
        out.append(tok)
        if t + 1 < new:
            logits = model(tok, cache, plen + t)[:, -1]
    return torch.cat(out, 1)


def bench_sample(model, repeats):
    model.eval()
    res = {}
    g = torch.Generator().manual_seed(2)
    for B in SAMPLE_BATCHES:
        generate(model, B, g, new=16)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            toks = generate(model, B, g)
            best = min(best, time.perf_counter() - t0)
        assert toks.shape == (B, NEW)
        res[f"batch{B}"] = {"tokens_per_s": B * NEW / best, "seconds": best,
                            "ms_per_decode_step": best / NEW * 1e3}
    generate(model, RL_BATCH, g, new=8, plen=RL_PROMPT)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        toks = generate(model, RL_BATCH, g, new=RL_NEW, plen=RL_PROMPT)
        best = min(best, time.perf_counter() - t0)
    assert toks.shape == (RL_BATCH, RL_NEW)
    res[f"batch{RL_BATCH}"] = {"tokens_per_s": RL_BATCH * RL_NEW / best, "seconds": best,
                               "ms_per_decode_step": best / RL_NEW * 1e3, "prompt": RL_PROMPT, "new": RL_NEW}
    return res


def main():
    ap = argparse.ArgumentParser(description="PyTorch speed anchor for the tiny preset")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ap.add_argument("--steps", type=int, default=10, help="timed training steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed training steps")
    ap.add_argument("--repeats", type=int, default=3, help="timed generations per batch size (best kept)")
    a = ap.parse_args()
    if a.threads < 1 or a.steps < 1 or a.warmup < 0 or a.repeats < 1:
        ap.error("--threads, --steps, --repeats must be >= 1 and --warmup >= 0")
    torch.set_num_threads(a.threads)
    model = init_model()
    nparams = sum(p.numel() for p in model.parameters())
    train = bench_train(model, a.steps, a.warmup)
    sample = bench_sample(init_model(), a.repeats)
    result = {"torch_version": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_info(),
              "params": nparams, "train": train, "sample": sample}
    err = sys.stderr
    print(f"torch {result['torch_version']}, {result['threads']} thread(s), {result['blas']}", file=err)
    print(f"tiny preset: {nparams} parameters", file=err)
    print(f"train  {TRAIN_B}x{TRAIN_T} AdamW: {train['step_ms']:.1f} ms/step (min {train['step_ms_min']:.1f}), "
          f"{train['tokens_per_s']:.0f} tokens/s", file=err)
    for k, v in sample.items():
        print(f"sample {k:>7} ({PROMPT} prompt + {NEW} new, KV cache): {v['tokens_per_s']:.0f} tokens/s "
              f"({v['ms_per_decode_step']:.2f} ms/step)", file=err)
    if a.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
