#!/usr/bin/python3
"""Self-check of bench/torch_reference.py (run with /usr/bin/python3; takes a few seconds).

Builds random checkpoints with our own safetensors writer, runs torch_reference.py as a subprocess
and verifies:
  1. the safetensors round trip (F32/I32/I64, metadata, empty tensor);
  2. the float32 logits against a naive float64 forward written separately below (explicit loops
     over heads and positions, repeat-by-index GQA, rotate_half), so a vectorisation slip in the
     reference model would show;
  3. float32 gradients against float64 autograd, and float64 autograd against float64 central
     finite differences, for entries of every parameter kind;
  4. a tied checkpoint: only grad.model.embed_tokens.weight, equal to the sum of the embedding and
     lm_head gradients of the equivalent untied model, and to a finite difference;
  5. --text-ids output against the file's logprobs;
  6. KV-cache decoding (as in torch_bench.py) against the full forward;
  7. clear errors for a missing file, an unknown tensor and a shape mismatch.
Prints one line per check and exits non-zero on any failure.
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io as st  # noqa: E402
import torch_reference as ref  # noqa: E402

PY = "/usr/bin/python3"
FAILS = []


def check(name, ok, detail):
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    if not ok:
        FAILS.append(name)


def micro_config(tied=False):
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "vocab_size": 300, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
            "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "tie_word_embeddings": tied,
            "hidden_act": "silu", "torch_dtype": "float32"}


def write_checkpoint(d, cfg, seed):
    """Random weights: std 0.1 matrices, norm weights 1 + 0.1 N(0,1) (not all ones, so that their
    gradients are exercised non-trivially)."""
    os.makedirs(d, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for name, shape in ref.expected_shapes(ref.parse_config(cfg)).items():
        if name.endswith("norm.weight"):
            tensors[name] = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            tensors[name] = 0.1 * torch.randn(shape, generator=g)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    st.save(tensors, os.path.join(d, "model.safetensors"), {"format": "pt"})
    return tensors


def run_ref(*args):
    p = subprocess.run([PY, os.path.join(HERE, "torch_reference.py"), *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


# ---- naive float64 forward, independent of torch_reference's vectorised modules -------------
def naive_logits(W, c, ids):
    dt = torch.float64
    W = {k: v.to(dt) for k, v in W.items()}
    C, Hq, Hkv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    D, eps, theta = C // Hq, c["rms_norm_eps"], c["rope_theta"]
    B, T = ids.shape

    def norm(x, w):
        return w * x / torch.sqrt((x * x).mean() + eps)

    def rope(x, pos):  # x (D,)
        out = torch.empty_like(x)
        for i in range(D // 2):
            ang = pos / theta ** (2 * i / D)
            c_, s_ = math.cos(ang), math.sin(ang)
            # rotate_half pairs element i with element i + D/2
            out[i] = x[i] * c_ - x[i + D // 2] * s_
            out[i + D // 2] = x[i + D // 2] * c_ + x[i] * s_
        return out

    out = torch.empty(B, T, c["vocab_size"], dtype=dt)
    for b in range(B):
        h = [W["model.embed_tokens.weight"][ids[b, t]].clone() for t in range(T)]
        for l in range(c["num_hidden_layers"]):
            p = f"model.layers.{l}."
            xs = [norm(x, W[p + "input_layernorm.weight"]) for x in h]
            qs = [W[p + "self_attn.q_proj.weight"] @ x for x in xs]
            ks = [W[p + "self_attn.k_proj.weight"] @ x for x in xs]
            vs = [W[p + "self_attn.v_proj.weight"] @ x for x in xs]
            att = []
            for t in range(T):
                y = torch.empty(C, dtype=dt)
                for hq in range(Hq):
                    kv = hq // (Hq // Hkv)
                    q = rope(qs[t][hq * D:(hq + 1) * D], t)
                    sc = torch.tensor([float(q @ rope(ks[s][kv * D:(kv + 1) * D], s)) / math.sqrt(D)
                                       for s in range(t + 1)], dtype=dt)
                    pr = torch.exp(sc - sc.max())
                    pr = pr / pr.sum()
                    y[hq * D:(hq + 1) * D] = sum(pr[s] * vs[s][kv * D:(kv + 1) * D] for s in range(t + 1))
                att.append(W[p + "self_attn.o_proj.weight"] @ y)
            h = [h[t] + att[t] for t in range(T)]
            for t in range(T):
                x = norm(h[t], W[p + "post_attention_layernorm.weight"])
                g = W[p + "mlp.gate_proj.weight"] @ x
                u = W[p + "mlp.up_proj.weight"] @ x
                h[t] = h[t] + W[p + "mlp.down_proj.weight"] @ (g / (1 + torch.exp(-g)) * u)
        head = W["model.embed_tokens.weight"] if c["tie_word_embeddings"] else W["lm_head.weight"]
        for t in range(T):
            out[b, t] = head @ norm(h[t], W["model.norm.weight"])
    return out


def loss64(model, ids, weights):
    _, lp = ref.token_logprobs(model, ids)
    return -(weights.to(torch.float64) * lp).sum()


def fd_entries(model, ids, weights, names, rng, h=1e-5, per=2):
    """[(name, index, fd, autograd64)] for `per` random entries of each named parameter."""
    model.zero_grad(set_to_none=True)
    loss64(model, ids, weights).backward()
    params = dict(model.named_parameters())
    rows = []
    for name in names:
        p = params[name]
        for _ in range(per):
            idx = tuple(int(torch.randint(0, n, (1,), generator=rng)) for n in p.shape)
            if name == "model.embed_tokens.weight":  # pick a row that is actually an input token
                idx = (int(ids[0, int(torch.randint(0, ids.shape[1] - 1, (1,), generator=rng))]),) + idx[1:]
            with torch.no_grad():
                orig = p[idx].item()
                p[idx] = orig + h
                lp_ = loss64(model, ids, weights).item()
                p[idx] = orig - h
                lm_ = loss64(model, ids, weights).item()
                p[idx] = orig
            rows.append((name, idx, (lp_ - lm_) / (2 * h), p.grad[idx].item()))
    return rows


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def max_rel_tensor(a, b):
    """max |a-b| / max|b| (error relative to the tensor's scale)."""
    return ((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-30)).item()


def main():
    torch.manual_seed(0)
    tmp = tempfile.mkdtemp(prefix="recap-selfcheck-")

    # 1. safetensors round trip
    rt = {"a": torch.randn(3, 5), "i": torch.arange(-3, 4, dtype=torch.int32).reshape(7, 1),
          "l": torch.tensor([2 ** 40, -1], dtype=torch.int64), "e": torch.zeros(0, 4), "s": torch.tensor(1.5)}
    path = os.path.join(tmp, "rt.safetensors")
    st.save(rt, path, {"k": "v"})
    back, meta = st.load(path)
    ok = list(back) == list(rt) and all(
        back[k].dtype == rt[k].dtype and back[k].shape == rt[k].shape and torch.equal(back[k], rt[k]) for k in rt)
    with open(path, "rb") as f:
        hl = int.from_bytes(f.read(8), "little")
    check("safetensors round trip", ok and meta == {"k": "v"} and (8 + hl) % 8 == 0,
          f"{len(rt)} tensors (F32/I32/I64/empty/scalar), header {hl} bytes, metadata {meta}")

    # 2-3. untied checkpoint
    cfg = micro_config(False)
    d = os.path.join(tmp, "untied")
    W = write_checkpoint(d, cfg, seed=1)
    outp = os.path.join(tmp, "untied_out.safetensors")
    rc, so, se = run_ref("--ckpt", d, "--out", outp, "--batch", "2", "--seq", "12", "--seed", "0")
    check("torch_reference untied run", rc == 0, se.strip())
    if rc:
        return 1
    out, meta = st.load(outp)
    c = ref.parse_config(cfg)
    names = list(ref.expected_shapes(c))
    want_keys = ["input_ids", "weights", "logits", "logprobs", "loss"] + ["grad." + n for n in names]
    check("output tensor names", list(out) == want_keys,
          f"{len(out)} tensors; dtypes ids={out['input_ids'].dtype} loss shape={list(out['loss'].shape)}")
    ids = out["input_ids"].long()
    weights = out["weights"]
    g = torch.Generator().manual_seed(0)
    ids_e = torch.randint(0, 300, (2, 13), generator=g)
    w_e = torch.randn(2, 12, generator=g)
    check("deterministic batch", torch.equal(ids, ids_e) and torch.equal(weights, w_e),
          f"ids {list(ids.shape)} from Generator.manual_seed(0) randint then randn")

    naive = naive_logits(W, c, ids[:, :-1])
    e = max_rel_tensor(out["logits"], naive)
    check("f32 logits vs naive f64 forward", e < 1e-5, f"max|diff|/max|ref| = {e:.2e}")
    lp_naive = torch.log_softmax(naive, -1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    e = (out["logprobs"].double() - lp_naive).abs().max().item()
    check("f32 logprobs vs naive f64", e < 1e-5, f"max abs diff = {e:.2e}")
    loss_naive = -(weights.double() * lp_naive).sum().item()
    check("f32 loss vs naive f64", rel(out["loss"].item(), loss_naive) < 1e-5,
          f"{out['loss'].item():.7f} vs {loss_naive:.7f}")

    m64, _ = ref.load_checkpoint(d, torch.float64)
    rng = torch.Generator().manual_seed(123)
    layer_kinds = [n for n in names if n.startswith("model.layers.1.") or not n.startswith("model.layers.")]
    rows = fd_entries(m64, ids, weights, layer_kinds, rng)
    worst = max(rel(fd, ag) for _, _, fd, ag in rows)
    check("f64 autograd vs f64 central FD (h=1e-5)", worst < 1e-6,
          f"{len(rows)} entries over {len(layer_kinds)} tensors, worst rel err {worst:.2e}")
    params64 = dict(m64.named_parameters())
    worst32 = max(max_rel_tensor(out["grad." + n], params64[n].grad) for n in names)
    check("f32 grads (file) vs f64 autograd", worst32 < 1e-4,
          f"worst over {len(names)} tensors of max|diff|/max|g64| = {worst32:.2e}")
    for name, idx, fd, ag in rows[:: max(1, len(rows) // 6)]:
        print(f"      {name}{list(idx)}: fd64={fd:+.10e} autograd64={ag:+.10e} file_f32={out['grad.' + name][idx].item():+.8e}")

    # 4. tied checkpoint
    cfg_t = micro_config(True)
    dt_ = os.path.join(tmp, "tied")
    Wt = write_checkpoint(dt_, cfg_t, seed=2)
    outt = os.path.join(tmp, "tied_out.safetensors")
    rc, so, se = run_ref("--ckpt", dt_, "--out", outt, "--seed", "5")
    check("torch_reference tied run", rc == 0, se.strip())
    if rc:
        return 1
    ot, _ = st.load(outt)
    grads = [k for k in ot if k.startswith("grad.")]
    check("tied: grad tensors", "grad.lm_head.weight" not in ot and "grad.model.embed_tokens.weight" in ot,
          f"{len(grads)} grads, no grad.lm_head.weight")
    # the equivalent untied model with lm_head = embed: its two gradients must add up
    du = os.path.join(tmp, "tied_as_untied")
    os.makedirs(du, exist_ok=True)
    with open(os.path.join(du, "config.json"), "w") as f:
        json.dump(micro_config(False), f)
    Wu = dict(Wt)
    Wu["lm_head.weight"] = Wt["model.embed_tokens.weight"].clone()
    st.save(Wu, os.path.join(du, "model.safetensors"))
    mu, _ = ref.load_checkpoint(du, torch.float64)
    idt, wt = ot["input_ids"].long(), ot["weights"]
    mu.zero_grad()
    loss64(mu, idt, wt).backward()
    pu = dict(mu.named_parameters())
    gsum = pu["model.embed_tokens.weight"].grad + pu["lm_head.weight"].grad
    e = max_rel_tensor(ot["grad.model.embed_tokens.weight"], gsum)
    check("tied grad = embed grad + lm_head grad (untied twin, f64)", e < 1e-4, f"max|diff|/max = {e:.2e}")
    check("tied logits = untied twin logits", max_rel_tensor(ot["logits"], mu(idt[:, :-1]).detach()) < 1e-5,
          f"{max_rel_tensor(ot['logits'], mu(idt[:, :-1]).detach()):.2e}")
    mt64, ct = ref.load_checkpoint(dt_, torch.float64)
    rows = fd_entries(mt64, idt, wt, ["model.embed_tokens.weight"], rng, per=4)
    # also a row that never appears as input: only the output-projection use contributes
    unused = next(v for v in range(300) if v not in set(idt.flatten().tolist()))
    p = dict(mt64.named_parameters())["model.embed_tokens.weight"]
    with torch.no_grad():
        o = p[unused, 3].item()
        p[unused, 3] = o + 1e-5
        a = loss64(mt64, idt, wt).item()
        p[unused, 3] = o - 1e-5
        b = loss64(mt64, idt, wt).item()
        p[unused, 3] = o
    rows.append(("model.embed_tokens.weight", (unused, 3), (a - b) / 2e-5, p.grad[unused, 3].item()))
    worst = max(rel(fd, ot["grad." + n][idx].item()) for n, idx, fd, _ in rows)
    check("tied: file f32 embed grad vs f64 central FD", worst < 1e-4,
          f"{len(rows)} entries (incl. non-input row {unused}), worst rel err {worst:.2e}")
    for n, idx, fd, ag in rows:
        print(f"      {n}{list(idx)}: fd64={fd:+.10e} file_f32={ot['grad.' + n][idx].item():+.8e}")
    e = max_rel_tensor(ot["logits"], naive_logits(Wt, ct, idt[:, :-1]))
    check("tied: f32 logits vs naive f64 forward", e < 1e-5, f"{e:.2e}")

    # 5. --text-ids
    seq = ids[0].tolist()
    rc, so, se = run_ref("--ckpt", d, "--text-ids", ",".join(map(str, seq)))
    lps = json.loads(so)["logprobs"] if rc == 0 else []
    e = max(abs(a - b) for a, b in zip(lps, out["logprobs"][0].tolist())) if lps else float("inf")
    check("--text-ids JSON vs file logprobs (row 0)", rc == 0 and len(lps) == len(seq) - 1 and e < 1e-6,
          f"{len(lps)} log-probs, max abs diff {e:.2e}")

    # 6. KV cache (used by torch_bench) vs full forward, f64 and f32
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        m, _ = ref.load_checkpoint(d, dtype)
        x = torch.randint(0, 300, (3, 20), generator=rng)
        with torch.no_grad():
            full = m(x)
            cache = m.new_cache(3, 20, dtype)
            parts = [m(x[:, :5], cache, 0)]
            for t in range(5, 20):
                parts.append(m(x[:, t:t + 1], cache, t))
            inc = torch.cat(parts, 1)
        e = max_rel_tensor(inc, full)
        check(f"KV-cache decode vs full forward ({str(dtype)[6:]})", e < tol, f"{e:.2e}")

    # 7. errors
    bad = os.path.join(tmp, "bad")
    os.makedirs(bad, exist_ok=True)
    with open(os.path.join(bad, "config.json"), "w") as f:
        json.dump(cfg, f)
    rc, _, se = run_ref("--ckpt", bad, "--out", os.path.join(tmp, "x.safetensors"))
    check("error: missing model.safetensors", rc == 2 and "missing file model.safetensors" in se, se.strip())
    W2 = dict(W)
    W2["model.layers.0.self_attn.rotary_emb.inv_freq"] = torch.zeros(4)
    st.save(W2, os.path.join(bad, "model.safetensors"))
    rc, _, se = run_ref("--ckpt", bad, "--out", os.path.join(tmp, "x.safetensors"))
    check("error: unknown tensor", rc == 2 and "unknown tensor" in se, se.strip())
    W3 = dict(W)
    W3["model.layers.1.mlp.up_proj.weight"] = torch.zeros(32, 48)
    st.save(W3, os.path.join(bad, "model.safetensors"))
    rc, _, se = run_ref("--ckpt", bad, "--out", os.path.join(tmp, "x.safetensors"))
    check("error: shape mismatch", rc == 2 and "expected [48, 32]" in se, se.strip())
    W4 = dict(W)
    del W4["model.norm.weight"]
    st.save(W4, os.path.join(bad, "model.safetensors"))
    rc, _, se = run_ref("--ckpt", bad, "--out", os.path.join(tmp, "x.safetensors"))
    check("error: missing tensor", rc == 2 and "missing tensor" in se, se.strip())
    rc, _, se = run_ref("--ckpt", d, "--text-ids", "1,2,999")
    check("error: id out of range", rc == 2 and "out of range" in se, se.strip())
    with open(os.path.join(bad, "model.safetensors"), "wb") as f:
        f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    rc, _, se = run_ref("--ckpt", bad, "--out", os.path.join(tmp, "x.safetensors"))
    check("error: corrupt safetensors", rc == 2 and "not valid UTF-8 JSON" in se, se.strip())

    if FAILS:
        print(f"\nFAILED: {', '.join(FAILS)}  (scratch kept: {tmp})")
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("\nALL PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
